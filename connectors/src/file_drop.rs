//! `file_drop`: a watched folder for batch exports (the petition office's CSV/XLSX, often
//! GB18030, or JSON Lines).
//!
//! One file is one batch, committed in one transaction. A file is picked up only once it is
//! complete: names ending in `.part` (the "still writing" convention), hidden files and Office
//! lock files (`~$…`) are ignored, and a file must show the same size and modification time at
//! two consecutive polls. The file moves to `done/` with a report of the gateway's counts only
//! after the commit (through [`Connector::committed`]); a crash before that re-reads the file,
//! which the store deduplicates. A file that cannot be read at all becomes one dead-lettered
//! item holding its bytes and moves to `failed/` with the reason beside it.
//!
//! This connector keeps no cursor: the folder itself is the state.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::Channel;
use crate::config::{ConfigError, defaults};
use crate::connector::{
    AckToken, Batch, BoxFuture, CommitSummary, Connector, ConnectorError, Cursor,
};
use crate::item::{ItemError, ParseOptions};
use crate::raw::RawItem;
use crate::tabular::{ColumnMap, TableFormat, read_table};

/// Configuration of a `file_drop` source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDropConfig {
    /// The channel this source feeds (usually `petition`).
    pub channel: Channel,
    /// The watched folder; a relative path is relative to the gateway's working directory.
    pub dir: PathBuf,
    /// Source column header → canonical field (dotted for nested ones), e.g.
    /// `"来信人电话" = "complainant.phone"`. Unmapped columns end up in `meta`.
    #[serde(default)]
    pub columns: ColumnMap,
    /// Seconds between scans of the folder.
    #[serde(default = "defaults::file_drop_poll_interval_secs")]
    pub poll_interval_secs: u64,
    /// Largest file read, in bytes; a larger one goes to `failed/`.
    #[serde(default = "defaults::max_file_bytes")]
    pub max_file_bytes: u64,
    /// Sub-folder for processed files.
    #[serde(default = "done_dir")]
    pub done_dir: String,
    /// Sub-folder for unreadable files.
    #[serde(default = "failed_dir")]
    pub failed_dir: String,
}

fn done_dir() -> String {
    defaults::DONE_DIR.to_string()
}
fn failed_dir() -> String {
    defaults::FAILED_DIR.to_string()
}

/// What was last seen of a candidate file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Observation {
    size: u64,
    modified: Option<SystemTime>,
}

/// The `file_drop` connector.
#[derive(Debug)]
pub struct FileDropConnector {
    config: FileDropConfig,
    observed: HashMap<PathBuf, Observation>,
    options: ParseOptions,
}

impl FileDropConnector {
    /// Checks the configuration. The folder and its sub-folders are created at the first poll.
    pub fn new(source: &str, config: FileDropConfig) -> Result<Self, ConfigError> {
        for (field, name) in [
            ("done_dir", &config.done_dir),
            ("failed_dir", &config.failed_dir),
        ] {
            if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
                return Err(ConfigError::invalid(
                    source,
                    field,
                    "must be a plain sub-folder name",
                ));
            }
        }
        if config.done_dir == config.failed_dir {
            return Err(ConfigError::invalid(
                source,
                "failed_dir",
                "must differ from done_dir",
            ));
        }
        Ok(FileDropConnector {
            config,
            observed: HashMap::new(),
            options: ParseOptions::default(),
        })
    }

    /// Sets how items are parsed (default offset, future tolerance); the gateway passes its
    /// configured options.
    pub fn set_parse_options(&mut self, options: ParseOptions) {
        self.options = options;
    }

    fn wait(&self) -> Duration {
        Duration::from_secs(self.config.poll_interval_secs)
    }

    /// Files that are complete: same size and mtime as at the previous poll.
    fn ready_files(&mut self) -> Result<Vec<PathBuf>, ConnectorError> {
        let io =
            |e: std::io::Error| ConnectorError::Io(format!("{}: {e}", self.config.dir.display()));
        std::fs::create_dir_all(&self.config.dir).map_err(io)?;
        let mut current = HashMap::new();
        for entry in std::fs::read_dir(&self.config.dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_candidate(&name) {
                continue;
            }
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if !metadata.is_file() {
                continue;
            }
            current.insert(
                path,
                Observation {
                    size: metadata.len(),
                    modified: metadata.modified().ok(),
                },
            );
        }
        let mut ready: Vec<PathBuf> = current
            .iter()
            .filter(|(path, seen)| self.observed.get(*path) == Some(*seen))
            .map(|(path, _)| path.clone())
            .collect();
        ready.sort();
        self.observed = current;
        Ok(ready)
    }

    async fn poll_folder(&mut self) -> Result<Batch, ConnectorError> {
        let ready = self.ready_files()?;
        let Some(path) = ready.first().cloned() else {
            return Ok(Batch::idle(None, self.wait()));
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let columns = self.config.columns.clone();
        let options = self.options;
        let max_bytes = self.config.max_file_bytes;
        let read_path = path.clone();
        // Reading and parsing a large spreadsheet takes a while: keep it off the async runtime.
        let outcome = tokio::task::spawn_blocking(move || {
            read_file(&read_path, &columns, max_bytes, &options)
        })
        .await
        .map_err(|e| ConnectorError::Io(format!("reading {name}: {e}")))?;
        let (items, ack) = match outcome {
            FileOutcome::Read(items) => {
                let ack = json!({"file": name, "outcome": "done", "rows": items.len()});
                (items, ack)
            }
            FileOutcome::Unreadable { item, reason } => {
                let ack = json!({"file": name, "outcome": "failed", "reason": reason});
                (vec![*item], ack)
            }
            FileOutcome::Vanished => return Ok(Batch::idle(None, self.wait())),
        };
        // The file stays where it is until the commit: forget it so a failed commit re-reads it
        // only after it is seen stable again.
        self.observed.remove(&path);
        Ok(Batch {
            items,
            cursor: None,
            more: ready.len() > 1,
            wait: if ready.len() > 1 {
                Duration::ZERO
            } else {
                self.wait()
            },
            skipped: 0,
            warnings: Vec::new(),
            ack: Some(AckToken(ack)),
        })
    }

    async fn after_commit(
        &mut self,
        ack: AckToken,
        summary: &CommitSummary,
    ) -> Result<(), ConnectorError> {
        let file = ack
            .0
            .get("file")
            .and_then(|f| f.as_str())
            .unwrap_or_default()
            .to_string();
        if file.is_empty() || file.contains(['/', '\\']) {
            return Err(ConnectorError::Io(format!(
                "acknowledgement names no file: {}",
                ack.0
            )));
        }
        let failed = ack.0.get("outcome").and_then(|o| o.as_str()) == Some("failed");
        let source = self.config.dir.join(&file);
        let target_dir = self.config.dir.join(if failed {
            &self.config.failed_dir
        } else {
            &self.config.done_dir
        });
        let report = if failed {
            let reason = ack
                .0
                .get("reason")
                .and_then(|r| r.as_str())
                .unwrap_or_default();
            format!("{reason}\n")
        } else {
            let rows = ack.0.get("rows").cloned().unwrap_or(json!(0));
            let report = json!({
                "file": file,
                "rows": rows,
                "stored": summary.stored,
                "duplicates": summary.duplicates,
                "revisions": summary.revisions,
                "dead_lettered": summary.dead_lettered,
            });
            serde_json::to_string_pretty(&report).expect("a report serialises") + "\n"
        };
        let suffix = if failed { "error.txt" } else { "report.json" };
        tokio::task::spawn_blocking(move || move_with_report(&source, &target_dir, &report, suffix))
            .await
            .map_err(|e| ConnectorError::Io(e.to_string()))?
            .map_err(|e| ConnectorError::Io(format!("moving {file}: {e}")))
    }
}

impl Connector for FileDropConnector {
    fn poll<'a>(
        &'a mut self,
        _cursor: Option<&'a Cursor>,
        _now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Batch, ConnectorError>> {
        Box::pin(self.poll_folder())
    }

    fn committed<'a>(
        &'a mut self,
        ack: AckToken,
        summary: &'a CommitSummary,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(self.after_commit(ack, summary))
    }
}

/// Whether a directory entry name may be an export to read.
fn is_candidate(name: &str) -> bool {
    !name.starts_with('.')
        && !name.starts_with("~$")
        && !name.ends_with(".part")
        && TableFormat::from_path(name).is_some()
}

/// The result of reading one file.
enum FileOutcome {
    Read(Vec<RawItem>),
    Unreadable { item: Box<RawItem>, reason: String },
    Vanished,
}

fn read_file(
    path: &Path,
    columns: &ColumnMap,
    max_bytes: u64,
    options: &ParseOptions,
) -> FileOutcome {
    let name = path.to_string_lossy();
    let format = TableFormat::from_path(&name).expect("candidates have a known extension");
    let content_type = match format {
        TableFormat::Jsonl => "application/x-ndjson",
        TableFormat::Csv => "text/csv",
        TableFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    };
    let unreadable = |bytes: Vec<u8>, reason: String| FileOutcome::Unreadable {
        item: Box::new(RawItem::failed(
            bytes,
            content_type.to_string(),
            ItemError::Mapping(reason.clone()),
        )),
        reason,
    };
    match std::fs::metadata(path) {
        Ok(m) if m.len() > max_bytes => {
            return unreadable(
                Vec::new(),
                format!(
                    "file is {} bytes, more than max_file_bytes = {max_bytes}",
                    m.len()
                ),
            );
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return FileOutcome::Vanished,
        Err(e) => return unreadable(Vec::new(), format!("cannot read the file: {e}")),
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return FileOutcome::Vanished,
        Err(e) => return unreadable(Vec::new(), format!("cannot read the file: {e}")),
    };
    match read_table(&bytes, format, columns, options) {
        Ok(items) => FileOutcome::Read(items),
        Err(e) => unreadable(bytes, format!("unreadable file: {e}")),
    }
}

/// Moves `source` into `target_dir` under a free name and writes `report` beside it as
/// `<name>.<suffix>`.
fn move_with_report(
    source: &Path,
    target_dir: &Path,
    report: &str,
    suffix: &str,
) -> std::io::Result<()> {
    std::fs::create_dir_all(target_dir)?;
    let name = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut target = target_dir.join(&name);
    let mut counter = 1;
    // A later export with the same name must not overwrite an earlier one.
    while target.exists() {
        target = target_dir.join(format!("{counter}-{name}"));
        counter += 1;
    }
    let target_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    std::fs::write(target_dir.join(format!("{target_name}.{suffix}")), report)?;
    std::fs::rename(source, &target)
}

#[cfg(test)]
mod tests;
