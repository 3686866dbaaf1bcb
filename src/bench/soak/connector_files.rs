//! The soak's connector files: the four shipped ones (`config/connectors/`), embedded in the
//! binary and copied with their upstream settings pointed at the soak's local upstreams
//! ([`super::upstream`]) and shorter poll intervals; every other setting (mappings, pagination,
//! watch words, columns) is the shipped file's.

use std::path::Path;

use chrono::{DateTime, Utc};

/// The pull sources' names (the connector file stems).
pub const PULL_SOURCES: [&str; 4] = ["hotline", "online", "media", "petition"];

/// A connector file with top-level keys set: a `key = …` line before the first table is
/// replaced, and a key the file lacks is added after its `channel` line.
pub fn adapt(text: &str, settings: &[(&str, String)]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut pending: Vec<&(&str, String)> = settings.iter().collect();
    let mut in_table = false;
    for line in text.lines() {
        in_table |= line.trim_start().starts_with('[');
        let key = line.split('=').next().map(str::trim).unwrap_or_default();
        match pending.iter().position(|(k, _)| !in_table && *k == key) {
            Some(i) => {
                let (k, v) = pending.remove(i);
                out.push(format!("{k} = {v}"));
            }
            None => out.push(line.to_string()),
        }
    }
    let at = out
        .iter()
        .position(|l| l.starts_with("channel ="))
        .map_or(0, |i| i + 1);
    for (offset, (k, v)) in pending.into_iter().enumerate() {
        out.insert(at + offset, format!("{k} = {v}"));
    }
    out.join("\n") + "\n"
}

/// Writes the four connector files into `connectors`, pointed at `base` (the local server)
/// and `drop` (the petition folder).
pub fn write_connectors(
    connectors: &Path,
    base: &str,
    drop: &Path,
    started: DateTime<Utc>,
) -> std::io::Result<()> {
    let quoted = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let start = (started - chrono::Duration::minutes(1)).to_rfc3339();
    let files = [
        (
            "hotline",
            include_str!("../../../config/connectors/hotline.toml"),
            vec![
                ("url", quoted(&format!("{base}/hotline/workorders"))),
                ("poll_interval_secs", "5".to_string()),
            ],
        ),
        (
            "online",
            include_str!("../../../config/connectors/online.toml"),
            vec![
                ("base_url", quoted(&format!("{base}/open311"))),
                ("poll_interval_secs", "15".to_string()),
                ("start", quoted(&start)),
            ],
        ),
        (
            "media",
            include_str!("../../../config/connectors/media.toml"),
            vec![
                ("url", quoted(&format!("{base}/media/feed.xml"))),
                ("poll_interval_secs", "10".to_string()),
            ],
        ),
        (
            "petition",
            include_str!("../../../config/connectors/petition.toml"),
            vec![
                ("dir", quoted(&drop.display().to_string())),
                ("poll_interval_secs", "5".to_string()),
            ],
        ),
    ];
    std::fs::create_dir_all(connectors)?;
    for (name, text, settings) in files {
        std::fs::write(
            connectors.join(format!("{name}.toml")),
            adapt(text, &settings),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn adapt_replaces_top_level_keys_and_adds_missing_ones() {
        let text = "# comment\ntype = \"rss\"\nchannel = \"media\"\nurl = \"file:x\"\n\
                    poll_interval_secs = 300\n\n[fields]\nurl = \"/link\"\n";
        let out = adapt(
            text,
            &[
                ("url", "\"http://h/f\"".into()),
                ("start", "\"2026-01-01T00:00:00Z\"".into()),
            ],
        );
        assert_eq!(
            out,
            "# comment\ntype = \"rss\"\nchannel = \"media\"\nstart = \"2026-01-01T00:00:00Z\"\n\
             url = \"http://h/f\"\npoll_interval_secs = 300\n\n[fields]\nurl = \"/link\"\n"
        );
    }

    #[test]
    fn the_shipped_connector_files_load_once_adapted() {
        let dir = std::env::temp_dir().join(format!("cg-soak-connectors-{}", std::process::id()));
        let drop = dir.join("drop");
        write_connectors(&dir, "http://127.0.0.1:9", &drop, Utc::now()).unwrap();
        let specs = connectors::config::load_dir(&dir).unwrap();
        let mut names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        let mut expected = PULL_SOURCES;
        expected.sort_unstable();
        assert_eq!(names, expected);
        for spec in &specs {
            assert!(
                spec.config.poll_interval() <= Duration::from_secs(15),
                "{}",
                spec.name
            );
            spec.build().unwrap();
        }
        let online = std::fs::read_to_string(dir.join("online.toml")).unwrap();
        assert!(
            online.contains("base_url = \"http://127.0.0.1:9/open311\""),
            "{online}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
