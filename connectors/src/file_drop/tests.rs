use chrono::TimeZone;

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 7, 1, 1, 0, 0).unwrap()
}

/// The petition office's export: its own headers, GB18030 on disk.
const PETITIONS_CSV: &str = "信访编号,来信日期,来信内容,来信人电话,涉及单位\n\
XF2024070101,2024-07-01,反映街道办对违建举报推诿不办，三个月未答复。,13800001111,某街道办事处\n\
XF2024070102,2024-07-01,,13800002222,\n\
XF2024070103,2024-07-01,\"申请低保材料齐全,\n但社区以各种理由拖延上报。\",,某社区居委会\n";

fn config(dir: &Path) -> FileDropConfig {
    FileDropConfig {
        channel: Channel::Petition,
        dir: dir.to_path_buf(),
        columns: [
            ("信访编号", "external_id"),
            ("来信日期", "submitted_at"),
            ("来信内容", "body"),
            ("来信人电话", "complainant.phone"),
            ("涉及单位", "target_unit"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect(),
        poll_interval_secs: 10,
        max_file_bytes: 1 << 20,
        done_dir: "done".into(),
        failed_dir: "failed".into(),
    }
}

fn connector(dir: &Path) -> FileDropConnector {
    FileDropConnector::new("petition", config(dir)).unwrap()
}

fn write_gb18030(path: &Path, text: &str) {
    std::fs::write(path, crate::text::encode(text, encoding_rs::GB18030)).unwrap();
}

#[tokio::test]
async fn a_stable_file_is_one_batch_and_moves_to_done_after_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    write_gb18030(&dir.path().join("2024-07-01.csv"), PETITIONS_CSV);
    let mut connector = connector(dir.path());

    let first = connector.poll(None, now()).await.unwrap();
    assert!(
        first.items.is_empty() && first.ack.is_none(),
        "first sight: not yet known to be complete"
    );
    assert_eq!(first.wait, Duration::from_secs(10));

    let batch = connector.poll(None, now()).await.unwrap();
    assert_eq!(batch.items.len(), 3);
    assert!(batch.cursor.is_none() && !batch.more);
    let item = batch.items[0].parsed.as_ref().unwrap();
    assert_eq!(item.external_id, "XF2024070101");
    assert_eq!(
        item.complainant.as_ref().unwrap().phone.as_deref(),
        Some("13800001111")
    );
    assert_eq!(item.target_unit.as_deref(), Some("某街道办事处"));
    assert!(
        batch.items[1].parsed.is_err(),
        "a row without content is dead-lettered"
    );
    assert_eq!(
        batch.items[2].parsed.as_ref().unwrap().body,
        "申请低保材料齐全,\n但社区以各种理由拖延上报。"
    );
    assert!(
        dir.path().join("2024-07-01.csv").exists(),
        "nothing moves before the commit"
    );

    let summary = CommitSummary {
        stored: 2,
        duplicates: 0,
        revisions: 0,
        dead_lettered: 1,
    };
    connector
        .committed(batch.ack.unwrap(), &summary)
        .await
        .unwrap();
    assert!(!dir.path().join("2024-07-01.csv").exists());
    assert!(dir.path().join("done/2024-07-01.csv").exists());
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("done/2024-07-01.csv.report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["rows"], 3);
    assert_eq!(report["stored"], 2);
    assert_eq!(report["dead_lettered"], 1);

    let idle = connector.poll(None, now()).await.unwrap();
    assert!(idle.items.is_empty(), "done/ is not scanned");
}

#[tokio::test]
async fn half_written_files_are_not_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("export.csv.part");
    write_gb18030(&part, PETITIONS_CSV);
    std::fs::write(dir.path().join(".hidden.csv"), "external_id,body\nx,y\n").unwrap();
    std::fs::write(dir.path().join("~$lock.xlsx"), "lock").unwrap();
    std::fs::write(dir.path().join("notes.pdf"), "%PDF").unwrap();
    let mut connector = connector(dir.path());
    for _ in 0..3 {
        assert!(connector.poll(None, now()).await.unwrap().ack.is_none());
    }

    // Renamed when complete, but then still growing: picked up only once it stops changing.
    let growing = dir.path().join("export.csv");
    std::fs::rename(&part, &growing).unwrap();
    assert!(connector.poll(None, now()).await.unwrap().ack.is_none());
    let mut more = std::fs::read(&growing).unwrap();
    more.extend(crate::text::encode(
        "XF2024070104,2024-07-01,补充一条：窗口服务态度差。,,\n",
        encoding_rs::GB18030,
    ));
    std::fs::write(&growing, more).unwrap();
    assert!(
        connector.poll(None, now()).await.unwrap().ack.is_none(),
        "size changed since the last poll"
    );
    let batch = connector.poll(None, now()).await.unwrap();
    assert_eq!(batch.items.len(), 4);
}

#[tokio::test]
async fn an_unreadable_file_is_dead_lettered_and_moves_to_failed() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = b"PK\x03\x04 this is not a workbook".to_vec();
    std::fs::write(dir.path().join("broken.xlsx"), &garbage).unwrap();
    let mut connector = connector(dir.path());
    connector.poll(None, now()).await.unwrap();
    let batch = connector.poll(None, now()).await.unwrap();
    assert_eq!(batch.items.len(), 1);
    assert_eq!(batch.items[0].raw, garbage, "the file's bytes are kept");
    let reason = batch.items[0].parsed.as_ref().unwrap_err().to_string();
    assert!(reason.contains("spreadsheet"), "{reason}");
    connector
        .committed(
            batch.ack.unwrap(),
            &CommitSummary {
                dead_lettered: 1,
                ..CommitSummary::default()
            },
        )
        .await
        .unwrap();
    assert!(dir.path().join("failed/broken.xlsx").exists());
    let written = std::fs::read_to_string(dir.path().join("failed/broken.xlsx.error.txt")).unwrap();
    assert!(written.contains("spreadsheet"), "{written}");
}

#[tokio::test]
async fn an_oversized_file_goes_to_failed_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("huge.jsonl"), vec![b'{'; 2048]).unwrap();
    let mut config = config(dir.path());
    config.max_file_bytes = 1024;
    let mut connector = FileDropConnector::new("petition", config).unwrap();
    connector.poll(None, now()).await.unwrap();
    let batch = connector.poll(None, now()).await.unwrap();
    let reason = batch.items[0].parsed.as_ref().unwrap_err().to_string();
    assert!(reason.contains("max_file_bytes"), "{reason}");
    assert_eq!(batch.ack.unwrap().0["outcome"], "failed");
}

#[tokio::test]
async fn several_files_are_one_batch_each_and_a_crash_rereads_the_same_ids() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.jsonl"),
        "{\"external_id\":\"wz-1\",\"body\":\"网上办事大厅提交材料后系统长期显示审核中。\"}\n",
    )
    .unwrap();
    write_gb18030(&dir.path().join("b.csv"), PETITIONS_CSV);
    let mut connector = connector(dir.path());
    connector.poll(None, now()).await.unwrap();
    let first = connector.poll(None, now()).await.unwrap();
    assert!(first.more, "another file is ready");
    assert_eq!(first.wait, Duration::ZERO);
    assert_eq!(first.items[0].parsed.as_ref().unwrap().external_id, "wz-1");

    // Crash before the commit: a new process sees the same files and reads the same ids.
    let mut restarted = self::connector(dir.path());
    restarted.poll(None, now()).await.unwrap();
    let again = restarted.poll(None, now()).await.unwrap();
    assert_eq!(again.items[0].parsed.as_ref().unwrap().external_id, "wz-1");
    assert_eq!(again.items[0].raw, first.items[0].raw);
}

#[tokio::test]
async fn a_repeated_file_name_does_not_overwrite_done_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut connector = connector(dir.path());
    for round in 0..2 {
        std::fs::write(
            dir.path().join("daily.jsonl"),
            format!("{{\"external_id\":\"d{round}\",\"body\":\"第{round}批\"}}\n"),
        )
        .unwrap();
        connector.poll(None, now()).await.unwrap();
        let batch = connector.poll(None, now()).await.unwrap();
        connector
            .committed(batch.ack.unwrap(), &CommitSummary::default())
            .await
            .unwrap();
    }
    assert!(dir.path().join("done/daily.jsonl").exists());
    assert!(dir.path().join("done/1-daily.jsonl").exists());
    assert!(dir.path().join("done/1-daily.jsonl.report.json").exists());
}

#[test]
fn sub_folder_names_are_checked() {
    let mut bad = config(Path::new("inbox"));
    bad.done_dir = "../elsewhere".into();
    let err = FileDropConnector::new("petition", bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("done_dir"), "{err}");
}
