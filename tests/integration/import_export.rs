//! `import` (GB18030 CSV, XLSX, JSON Lines on stdin) and `export`, through the real binary.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::binary;

/// Runs the binary on `data` with `args`, feeding `stdin`; answers success, standard output and
/// standard error.
pub fn run(data: &Path, args: &[&str], stdin: Option<&[u8]>) -> (bool, String, String) {
    let mut child = Command::new(binary())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("COMPLAINT_GATEWAY_CONFIG")
        .env_remove("COMPLAINT_GATEWAY_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`run`] from a test whose gateway runs in the same (single-threaded) runtime: the command
/// waits on a blocking thread, so the gateway's tasks go on meanwhile. Blocking the runtime
/// instead would freeze the gateway, possibly inside a transaction, and the command would
/// wait for SQLite's write lock until it gave up ("database is locked").
pub async fn run_beside(
    data: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> (bool, String, String) {
    let data = data.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let stdin = stdin.map(<[u8]>::to_vec);
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&data, &args, stdin.as_deref())
    })
    .await
    .expect("the command's thread")
}

const CSV: &str = "external_id,title,body,submitted_at,complainant.name,complainant.phone,location.district,信访件类别\n\
xf-001,征地补偿不到位,\"城东新区征地补偿款迟迟未发放，\n村民多次上访无果。\",2024-03-01 09:00,孙某,13600000001,城东区,初信\n\
xf-002,拖欠工资,某建筑公司拖欠农民工工资半年，劳动监察大队推诿。,2024-03-02 10:30,,,城西区,重信\n\
xf-003,,,2024-03-03,,,,初信\n";

#[test]
fn gb18030_csv_import_with_duplicates_revisions_and_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv_path = dir.path().join("petitions.csv");
    std::fs::write(&csv_path, encoding_rs::GB18030.encode(CSV).0).unwrap();
    let csv_arg = csv_path.to_str().unwrap();
    let (ok, stdout, stderr) = run(
        &data,
        &[
            "import",
            csv_arg,
            "--source",
            "petition-office",
            "--channel",
            "petition",
        ],
        None,
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("imported 2 new, 0 duplicates, 0 revisions, 1 dead-lettered"),
        "{stdout}"
    );
    // Where the time went: each stage of the pipeline, and the index after it.
    let stages = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("pipeline: read"))
        .unwrap_or_else(|| panic!("no line of stage times: {stdout}"));
    for stage in ["grouping", "commit", "index caught up"] {
        assert!(stages.contains(stage), "{stage} missing: {stages}");
    }

    // Again: all duplicates (the dead letter is recognised too, not doubled).
    let (ok, stdout, _) = run(
        &data,
        &[
            "import",
            csv_arg,
            "--source",
            "petition-office",
            "--channel",
            "petition",
        ],
        None,
    );
    assert!(ok);
    assert!(
        stdout.contains("imported 0 new, 2 duplicates, 0 revisions, 1 dead-lettered"),
        "{stdout}"
    );

    // A changed row becomes a revision.
    let changed = CSV.replace("劳动监察大队推诿", "劳动监察大队至今未处理");
    std::fs::write(&csv_path, encoding_rs::GB18030.encode(&changed).0).unwrap();
    let (ok, stdout, _) = run(
        &data,
        &[
            "import",
            csv_arg,
            "--source",
            "petition-office",
            "--channel",
            "petition",
        ],
        None,
    );
    assert!(ok);
    assert!(
        stdout.contains("imported 0 new, 1 duplicates, 1 revisions"),
        "{stdout}"
    );

    let (ok, stdout, _) = run(&data, &["search", "劳动监察", "--json"], None);
    assert!(ok);
    let result: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result["total"], 1);
    assert_eq!(result["hits"][0]["channel"], "petition");

    let (ok, stdout, _) = run(&data, &["dead-letters", "list"], None);
    assert!(ok);
    assert!(stdout.starts_with("1 dead letters"), "{stdout}");
    assert!(stdout.contains("missing required field `body`"), "{stdout}");

    // A backup is a complete store: export from it matches export from the original.
    let backup = dir.path().join("backup.sqlite3");
    let (ok, stdout, stderr) = run(&data, &["backup", backup.to_str().unwrap()], None);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("backed up 2 complaints"), "{stdout}");
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::copy(&backup, restored.join("gateway.sqlite3")).unwrap();
    let (_, original, _) = run(&data, &["export"], None);
    let (ok, copy, _) = run(&restored, &["export"], None);
    assert!(ok);
    assert_eq!(original, copy);
    let (ok, _, stderr) = run(&data, &["backup", backup.to_str().unwrap()], None);
    assert!(!ok && stderr.contains("already exists"), "{stderr}");
}

#[test]
fn xlsx_import_and_exports_mask_personal_data_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = dir.path().join("hotline.xlsx");
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let rows = [
        [
            "external_id",
            "title",
            "body",
            "complainant.phone",
            "location.district",
        ],
        [
            "rx-1",
            "噪音扰民",
            "滨江花园小区旁工地夜间施工_x000D_\n噪音扰民。",
            "13700000002",
            "滨江区",
        ],
        ["rx-2", "违建", "阳光苑小区顶楼违建无人查处。", "", "城北区"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *cell).unwrap();
        }
    }
    sheet.write_number(3, 0, 12345.0).unwrap();
    sheet
        .write_string(3, 2, "数字编号的工单也能导入。")
        .unwrap();
    workbook.save(&path).unwrap();

    let (ok, stdout, stderr) = run(
        &data,
        &[
            "import",
            path.to_str().unwrap(),
            "--source",
            "hotline-export",
            "--channel",
            "hotline",
        ],
        None,
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("imported 3 new"), "{stdout}");

    let (ok, stdout, _) = run(&data, &["export"], None);
    assert!(ok);
    let rows: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["external_id"], "rx-1");
    assert_eq!(
        rows[0]["body"], "滨江花园小区旁工地夜间施工\n噪音扰民。",
        "Excel's _x000D_ artefact removed"
    );
    assert_eq!(rows[0]["complainant"]["redacted"], true);
    assert!(
        !stdout.contains("13700000002"),
        "phone numbers are not exported by default"
    );
    assert_eq!(rows[2]["external_id"], "12345");
    // The pipeline followed the import: every complaint is in a case and a queue.
    assert!(
        rows.iter()
            .all(|r| r["case_id"].is_string() && r["queue"].is_string()),
        "derived fields after import: {stdout}"
    );
    assert!(
        rows.windows(2)
            .all(|w| w[0]["seq"].as_i64() < w[1]["seq"].as_i64())
    );

    let (ok, stdout, _) = run(
        &data,
        &["export", "--include-personal-data", "--format", "csv"],
        None,
    );
    assert!(ok);
    let mut reader = csv::Reader::from_reader(stdout.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 3);
    let channel = headers.iter().position(|h| h == "channel").unwrap();
    assert_eq!(&records[1][channel], "hotline");
    assert!(stdout.contains("13700000002"));
    // An export with personal data is in the audit record, with what it held.
    let (ok, listed, _) = run(
        &data,
        &["audit", "list", "--action", "personal_data.export"],
        None,
    );
    assert!(ok);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.contains("\"count\":3"), "{listed}");
}

#[test]
fn a_default_export_masks_personal_data_in_text_and_meta() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let line = serde_json::json!({
        "external_id": "pii-1",
        "title": "回电13812345678",
        "body": "井盖丢失，请联系我13812345678或zhou@example.com。",
        "meta": {"mobile": "13812345678", "联系人": "周某某", "渠道": "网站"}
    })
    .to_string();
    let (ok, _, stderr) = run(
        &data,
        &["import", "-", "--source", "web"],
        Some(line.as_bytes()),
    );
    assert!(ok, "{stderr}");
    let (ok, masked, _) = run(&data, &["export"], None);
    assert!(ok);
    for secret in ["13812345678", "zhou@example.com", "周某某"] {
        assert!(!masked.contains(secret), "{secret}: {masked}");
    }
    let row: Value = serde_json::from_str(masked.lines().next().unwrap()).unwrap();
    assert_eq!(row["meta"]["渠道"], "网站");
    assert!(
        row["body"].as_str().unwrap().contains("[电话已隐去]"),
        "{row}"
    );
    let (ok, full, _) = run(&data, &["export", "--include-personal-data"], None);
    assert!(ok);
    assert!(
        full.contains("13812345678") && full.contains("周某某"),
        "{full}"
    );
}

#[test]
fn jsonl_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let input = "{\"external_id\":\"s1\",\"body\":\"学校周边黑车拉客。\"}\n{not json}\n{\"external_id\":\"s2\",\"body\":\"菜市场油烟扰民。\"}\n";
    let (ok, stdout, stderr) = run(
        &data,
        &["import", "-", "--source", "stdin-test"],
        Some(input.as_bytes()),
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("imported 2 new, 0 duplicates, 0 revisions, 1 dead-lettered"),
        "{stdout}"
    );
    let (ok, _, stderr) = run(&data, &["import", "nowhere.pdf", "--source", "x"], None);
    assert!(!ok);
    assert!(stderr.contains("--format"), "{stderr}");
    let (ok, _, stderr) = run(&data, &["import", "-", "--source", "Bad Name"], Some(b""));
    assert!(!ok);
    assert!(stderr.contains("source name"), "{stderr}");
}

#[tokio::test]
async fn import_beside_a_running_gateway_hands_it_the_pipeline_and_the_index() {
    let app = crate::common::TestApp::start().await;
    let data = app.data_dir();
    let rows = "external_id,title,body\n\
        run-1,供暖不足,小区供暖温度长期不达标，热力公司不予处理。\n\
        run-2,占道经营,菜市场门口占道经营严重，堵塞消防通道。\n";
    let (ok, stdout, stderr) = run_beside(
        &data,
        &["import", "-", "--source", "beside", "--format", "csv"],
        Some(rows.as_bytes()),
    )
    .await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("imported 2 new, 0 duplicates, 0 revisions, 0 dead-lettered"),
        "{stdout}"
    );
    // One note for both, and no timing for work this command did not do.
    assert!(
        stdout
            .contains("; the running gateway derives cases and routes and indexes them for search"),
        "{stdout}"
    );
    assert!(!stdout.contains("then pipeline and index"), "{stdout}");
    // The gateway does both.
    let found = app.wait_searchable("占道经营", 1).await;
    assert_eq!(found["hits"][0]["source"], "beside");
}

#[test]
fn json_of_every_shape_mapped_columns_and_runs_that_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let import = |args: &[&str]| run(&data, &[&["import"], args].concat(), None);

    // A pretty-printed JSON array, and pretty-printed items one after another.
    let array = dir.path().join("array.json");
    std::fs::write(
        &array,
        "[\n  {\n    \"external_id\": \"js-1\",\n    \"body\": \"幸福路路灯不亮。\"\n  },\n  {\n    \"external_id\": \"js-2\",\n    \"body\": \"文化路井盖缺失。\"\n  }\n]\n",
    )
    .unwrap();
    let sequence = dir.path().join("pretty.json");
    std::fs::write(
        &sequence,
        "{\n  \"external_id\": \"js-3\",\n  \"body\": \"菜市场油烟扰民。\"\n}\n{\n  \"external_id\": \"js-4\",\n  \"body\": \"学校门口黑车拉客。\"\n}\n",
    )
    .unwrap();
    for file in [&array, &sequence] {
        let (ok, stdout, stderr) = import(&[file.to_str().unwrap(), "--source", "shapes"]);
        assert!(ok, "{stderr}");
        assert!(
            stdout.contains("imported 2 new, 0 duplicates, 0 revisions, 0 dead-lettered"),
            "{stdout}"
        );
    }

    // The shipped petition register has the office's own headers.
    let root = env!("CARGO_MANIFEST_DIR");
    let register = format!("{root}/config/samples/petition/petition-register-2024-06.csv");
    let connector = format!("{root}/config/connectors/petition.toml");
    let rows = 5;
    // Unmapped: every row lacks `external_id`, nothing is stored, and the run says why.
    let (ok, stdout, stderr) = import(&[&register, "--source", "register"]);
    assert!(!ok, "{stdout}");
    assert!(stdout.contains(&format!(
        "0 new, 0 duplicates, 0 revisions, {rows} dead-lettered"
    )));
    assert!(stderr.contains("nothing was stored"), "{stderr}");
    assert!(
        stderr.contains("record 1: missing required field `external_id`"),
        "{stderr}"
    );
    // The same file again: the same dead letters, kept once.
    let (ok, stdout, _) = import(&[&register, "--source", "register"]);
    assert!(!ok);
    assert!(
        stdout.contains(&format!(
            "{rows} dead-lettered ({rows} of them already kept"
        )),
        "{stdout}"
    );
    let (_, listing, _) = run(
        &data,
        &["dead-letters", "list", "--source", "register"],
        None,
    );
    assert_eq!(
        listing.matches("missing required field").count(),
        rows,
        "{listing}"
    );
    // Mapped by the petition source's own connector file, or by pairs. One row of the register
    // has no content: it stays a dead letter (the one already kept from the runs above).
    let mapped = format!(
        "imported {} new, 0 duplicates, 0 revisions, 1 dead-lettered",
        rows - 1
    );
    let (ok, stdout, stderr) = import(&[&register, "--source", "register", "--map", &connector]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains(&mapped), "{stdout}");
    let (ok, stdout, stderr) = import(&[
        &register,
        "--source",
        "register-pairs",
        "--map",
        "信访编号=external_id",
        "--map",
        "信访内容 = body",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains(&mapped), "{stdout}");
    let (ok, _, stderr) = import(&[&register, "--source", "x", "--map", "no-such-thing"]);
    assert!(!ok);
    assert!(stderr.contains("HEADER=FIELD"), "{stderr}");
}
