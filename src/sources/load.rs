//! Reading the connector files, and the demo's seeding of drop folders.
//!
//! Relative locations in connector files are relative to the working directory, like
//! `data_dir`: a `file_drop` folder as written, and a `file:` URL whose path does not start with
//! `/` (`file:config/samples/hotline/orders.json`), which is resolved here into an absolute
//! `file://` URL before the connector sees it. That lets the shipped samples work from any clone
//! without a machine-specific path in the repository.

use std::path::{Path, PathBuf};

use connectors::{ConnectorConfig, SourceSpec};

use crate::config::{Config, SeedFiles, validate_source_name};

/// Why the pull sources could not be set up; `serve` does not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A connector file is unreadable or invalid (the message names the file and the key).
    #[error("connector configuration: {0}")]
    Config(#[from] connectors::ConfigError),
    /// A source name is also a webhook source.
    #[error(
        "source `{0}` is defined both as a connector file and as a webhook; names must be unique"
    )]
    Duplicate(String),
    /// A source name is not usable in URLs and metrics.
    #[error("connector file {path}: {message}")]
    Name { path: PathBuf, message: String },
    /// The working directory, against which relative paths resolve, is unknown.
    #[error("cannot read the working directory: {0}")]
    WorkingDir(std::io::Error),
    /// The saved cursors could not be read.
    #[error("reading saved cursors: {0}")]
    Store(#[from] crate::store::StoreError),
    /// A seed file could not be copied.
    #[error("seeding {path}: {source}")]
    Seed {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Loads every connector file of the configured directory, relative URLs resolved against
/// `working_dir`.
pub fn load_specs(config: &Config, working_dir: &Path) -> Result<Vec<SourceSpec>, LoadError> {
    let dir = working_dir.join(&config.sources.connectors_dir);
    let mut specs = connectors::load_dir(&dir)?;
    for spec in &mut specs {
        if let Err(message) = validate_source_name(&spec.name) {
            return Err(LoadError::Name {
                path: spec.path.clone().unwrap_or_default(),
                message,
            });
        }
        if config.webhooks.contains_key(&spec.name) {
            return Err(LoadError::Duplicate(spec.name.clone()));
        }
        resolve_relative_paths(&mut spec.config, working_dir);
    }
    Ok(specs)
}

/// Makes relative `file:` URLs and drop folders absolute against `working_dir`.
pub fn resolve_relative_paths(config: &mut ConnectorConfig, working_dir: &Path) {
    match config {
        ConnectorConfig::HttpJson(c) => resolve_file_url(&mut c.url, working_dir),
        ConnectorConfig::Open311(c) => resolve_file_url(&mut c.base_url, working_dir),
        ConnectorConfig::Rss(c) => resolve_file_url(&mut c.url, working_dir),
        ConnectorConfig::FileDrop(c) => {
            if c.dir.is_relative() {
                c.dir = working_dir.join(&c.dir);
            }
        }
    }
}

fn resolve_file_url(url: &mut String, working_dir: &Path) {
    let Some(path) = url.strip_prefix("file:") else {
        return;
    };
    if path.starts_with('/') || path.is_empty() {
        return;
    }
    if let Ok(absolute) = reqwest::Url::from_file_path(working_dir.join(path)) {
        *url = absolute.to_string();
    }
}

/// Copies the configured sample files into their drop folders, each file once: a hidden marker
/// `.seeded-<name>` beside it records the copy (the connector ignores hidden files), so a file
/// already processed and moved to `done/` is not copied again. Files are written under a `.part`
/// name and renamed, so a connector never sees half a file. Returns how many were copied.
pub fn seed(seeds: &[SeedFiles], working_dir: &Path) -> Result<usize, LoadError> {
    let mut copied = 0;
    for seed in seeds {
        let from = working_dir.join(&seed.from);
        let into = working_dir.join(&seed.into);
        let error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LoadError::Seed { path, source }
        };
        let files = if from.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&from)
                .map_err(error(&from))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            files
        } else {
            vec![from.clone()]
        };
        std::fs::create_dir_all(&into).map_err(error(&into))?;
        for file in files {
            let Some(name) = file.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            let marker = into.join(format!(".seeded-{name}"));
            if marker.exists() {
                continue;
            }
            let part = into.join(format!("{name}.part"));
            std::fs::copy(&file, &part).map_err(error(&file))?;
            std::fs::rename(&part, into.join(&name)).map_err(error(&into))?;
            std::fs::write(&marker, b"").map_err(error(&marker))?;
            copied += 1;
        }
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with_dir(dir: &Path, extra: &str) -> Config {
        let text = format!(
            "[sources]\nconnectors_dir = \"{}\"\n{extra}",
            dir.join("connectors").display()
        );
        Config::from_toml(&text, "test").unwrap()
    }

    #[test]
    fn relative_file_urls_and_folders_resolve_against_the_working_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("connectors")).unwrap();
        std::fs::write(
            dir.path().join("connectors/feed.toml"),
            "type = \"rss\"\nchannel = \"media\"\nurl = \"file:samples/feed.xml\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("connectors/drop.toml"),
            "type = \"file_drop\"\nchannel = \"petition\"\ndir = \"drop/in\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("connectors/api.toml"),
            "type = \"rss\"\nchannel = \"media\"\nurl = \"https://news.example/feed\"\n",
        )
        .unwrap();
        let specs = load_specs(&config_with_dir(dir.path(), ""), dir.path()).unwrap();
        let by_name = |n: &str| specs.iter().find(|s| s.name == n).unwrap().config.clone();
        let ConnectorConfig::Rss(feed) = by_name("feed") else {
            panic!()
        };
        let expected = reqwest::Url::from_file_path(dir.path().join("samples/feed.xml")).unwrap();
        assert_eq!(feed.url, expected.to_string());
        let ConnectorConfig::Rss(api) = by_name("api") else {
            panic!()
        };
        assert_eq!(api.url, "https://news.example/feed");
        let ConnectorConfig::FileDrop(drop) = by_name("drop") else {
            panic!()
        };
        assert_eq!(drop.dir, dir.path().join("drop/in"));
    }

    #[test]
    fn a_misspelt_key_stops_the_start_naming_the_file_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("connectors")).unwrap();
        std::fs::write(
            dir.path().join("connectors/hotline.toml"),
            "type = \"rss\"\nchannel = \"media\"\nurl = \"https://news.example/feed\"\npoll_interval_sec = 60\n",
        )
        .unwrap();
        let err = load_specs(&config_with_dir(dir.path(), ""), dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("hotline.toml"), "{err}");
        assert!(err.contains("poll_interval_sec"), "{err}");
    }

    #[test]
    fn a_connector_named_like_a_webhook_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("connectors")).unwrap();
        std::fs::write(
            dir.path().join("connectors/demo.toml"),
            "type = \"file_drop\"\nchannel = \"petition\"\ndir = \"in\"\n",
        )
        .unwrap();
        let config = config_with_dir(dir.path(), "[webhooks.demo]\nchannel = \"online\"\n");
        let err = load_specs(&config, dir.path()).unwrap_err();
        assert!(
            matches!(err, LoadError::Duplicate(ref n) if n == "demo"),
            "{err}"
        );
    }

    #[test]
    fn seeding_copies_each_file_once_and_never_touches_the_originals() {
        let dir = tempfile::tempdir().unwrap();
        let samples = dir.path().join("samples");
        std::fs::create_dir(&samples).unwrap();
        std::fs::write(samples.join("export.csv"), "external_id,body\n1,路灯不亮\n").unwrap();
        let seeds = vec![SeedFiles {
            from: PathBuf::from("samples"),
            into: PathBuf::from("data/drop"),
        }];
        assert_eq!(seed(&seeds, dir.path()).unwrap(), 1);
        let dropped = dir.path().join("data/drop/export.csv");
        assert_eq!(
            std::fs::read(&dropped).unwrap(),
            std::fs::read(samples.join("export.csv")).unwrap()
        );
        // The connector processed it and moved it away: it is not copied again.
        std::fs::remove_file(&dropped).unwrap();
        assert_eq!(seed(&seeds, dir.path()).unwrap(), 0);
        assert!(!dropped.exists());
        assert!(samples.join("export.csv").exists());
        assert!(!dir.path().join("data/drop/export.csv.part").exists());
    }
}
