//! The default run: the shipped `config/` (gateway.toml, the four connector files and their
//! sample upstreams) in a fresh working directory, the real binary, all four channels searchable
//! within a minute, and the shipped samples left untouched.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::operations::spawn_server;
use crate::common::install_tls;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_default_run_receives_all_four_channels_within_a_minute() {
    install_tls();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        &dir.path().join("config"),
    );
    let sample = dir
        .path()
        .join("config/samples/petition/petition-register-2024-06.csv");
    let sample_bytes = std::fs::read(&sample).unwrap();
    let started = Instant::now();
    let (mut child, base) = spawn_server(dir.path(), &dir.path().join("config/gateway.toml"));
    let client = reqwest::Client::new();
    // Complaints per channel in the samples (media: the feed's entries on the watch list;
    // petition: the register's rows minus one without content).
    let expected = [("hotline", 6), ("online", 5), ("media", 4), ("petition", 4)];
    let mut pending: Vec<(&str, u64)> = expected.to_vec();
    while !pending.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "after a minute still waiting for {pending:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        let mut still = Vec::new();
        for (channel, total) in pending {
            let found: Option<Value> = async {
                client
                    .get(format!("{base}/v1/search"))
                    .query(&[("channel", channel)])
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()
            }
            .await;
            if found.and_then(|f| f["total"].as_u64()) != Some(total) {
                still.push((channel, total));
            }
        }
        pending = still;
    }
    let sources: Value = client
        .get(format!("{base}/v1/sources"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for source in sources["sources"].as_array().unwrap() {
        if source["kind"] != "webhook" {
            assert_eq!(source["healthy"], true, "{source}");
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The shipped sample is untouched; its copy was processed in the drop folder.
    assert_eq!(std::fs::read(&sample).unwrap(), sample_bytes);
    let done = dir.path().join("data/drop/petition/done");
    assert!(done.join("petition-register-2024-06.csv").exists());
    assert!(
        done.join("petition-register-2024-06.csv.report.json")
            .exists()
    );
}
