use super::*;

fn opts() -> ParseOptions {
    ParseOptions::default()
}

const CSV: &str = "external_id,title,body,complainant.phone,location.district,来源窗口\n\
p-1,噪音扰民,\"夜间施工噪音，\n影响休息\",13900000000,A1区,东门窗口\n\
p-2,,,,,\n\
p-3,乱收费,学校违规收取资料费,,A2区,\n";

#[test]
fn csv_rows_become_items_with_nested_fields_and_meta() {
    let items = read_table(CSV.as_bytes(), TableFormat::Csv, &ColumnMap::new(), &opts()).unwrap();
    assert_eq!(items.len(), 3);
    let first = items[0].parsed.as_ref().unwrap();
    assert_eq!(first.body, "夜间施工噪音，\n影响休息");
    assert_eq!(
        first.complainant.as_ref().unwrap().phone.as_deref(),
        Some("13900000000")
    );
    assert_eq!(
        first.location.as_ref().unwrap().district.as_deref(),
        Some("A1区")
    );
    assert_eq!(first.meta["来源窗口"], "东门窗口");
    assert!(
        String::from_utf8(items[0].raw.clone())
            .unwrap()
            .starts_with("p-1,噪音扰民")
    );
    assert!(matches!(items[1].parsed, Err(ItemError::Missing("body"))));
    assert_eq!(items[1].raw, b"p-2,,,,,");
    assert!(items[2].parsed.is_ok());
}

#[test]
fn gb18030_csv_is_detected_and_raw_bytes_stay_in_gb18030() {
    let bytes = crate::text::encode(CSV, encoding_rs::GB18030);
    let items = read_table(&bytes, TableFormat::Csv, &ColumnMap::new(), &opts()).unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[2].parsed.as_ref().unwrap().body, "学校违规收取资料费");
    assert!(
        items[2].content_type.contains("gb18030") || items[2].content_type.contains("GBK"),
        "{}",
        items[2].content_type
    );
    let expected =
        crate::text::encode("p-3,乱收费,学校违规收取资料费,,A2区,", encoding_rs::GB18030);
    assert_eq!(items[2].raw, expected);
}

#[test]
fn column_map_renames_headers() {
    let csv = "编号,内容,来信人电话\nx1,垃圾清运不及时,13700000000\n";
    let columns: ColumnMap = [
        ("编号", "external_id"),
        ("内容", "body"),
        ("来信人电话", "complainant.phone"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let items = read_table(csv.as_bytes(), TableFormat::Csv, &columns, &opts()).unwrap();
    let item = items[0].parsed.as_ref().unwrap();
    assert_eq!(item.external_id, "x1");
    assert_eq!(
        item.complainant.as_ref().unwrap().phone.as_deref(),
        Some("13700000000")
    );
}

#[test]
fn ragged_row_is_reported_not_dropped() {
    let csv = "external_id,body\na,一\nb,二,多余\n";
    let items = read_table(csv.as_bytes(), TableFormat::Csv, &ColumnMap::new(), &opts()).unwrap();
    assert_eq!(items.len(), 2);
    let err = items[1].parsed.as_ref().unwrap_err().to_string();
    assert!(err.contains("3 fields"), "{err}");
    assert_eq!(items[1].raw, "b,二,多余".as_bytes());
}

#[test]
fn formats_from_paths() {
    assert_eq!(TableFormat::from_path("a/b.XLSX"), Some(TableFormat::Xlsx));
    assert_eq!(TableFormat::from_path("x.jsonl"), Some(TableFormat::Jsonl));
    assert_eq!(TableFormat::from_path("x.pdf"), None);
}

#[test]
fn not_a_spreadsheet_is_a_clear_error() {
    let err = read_table(
        b"PK\x03\x04garbage",
        TableFormat::Xlsx,
        &ColumnMap::new(),
        &opts(),
    )
    .unwrap_err();
    assert!(matches!(err, TableError::Xlsx(_)), "{err}");
}

fn read_json_text(bytes: &[u8]) -> Result<Vec<RawItem>, TableError> {
    read_table(bytes, TableFormat::Jsonl, &ColumnMap::new(), &opts())
}

#[test]
fn json_files_of_every_export_shape_give_one_item_per_record() {
    let lines = "{\"external_id\":\"j-1\",\"body\":\"路灯不亮\"}\n{\"external_id\":\"j-2\",\"body\":\"井盖缺失\"}\n";
    let array = "[\n  {\n    \"external_id\": \"j-1\",\n    \"body\": \"路灯不亮\"\n  },\n  {\n    \"external_id\": \"j-2\",\n    \"body\": \"井盖缺失\"\n  }\n]\n";
    let sequence = "{\n  \"external_id\": \"j-1\",\n  \"body\": \"路灯不亮\"\n}\n{\n  \"external_id\": \"j-2\",\n  \"body\": \"井盖缺失\"\n}\n";
    for text in [lines, array, sequence] {
        let items = read_json_text(text.as_bytes()).unwrap();
        let ids: Vec<&str> = items
            .iter()
            .map(|i| i.parsed.as_ref().unwrap().external_id.as_str())
            .collect();
        assert_eq!(ids, ["j-1", "j-2"], "{text}");
        // Each record keeps its own bytes.
        assert!(
            std::str::from_utf8(&items[1].raw)
                .unwrap()
                .contains("井盖缺失")
        );
        assert!(
            !std::str::from_utf8(&items[1].raw)
                .unwrap()
                .contains("路灯不亮")
        );
    }
    // One pretty-printed item.
    let single = "{\n  \"external_id\": \"j-9\",\n  \"body\": \"噪音\"\n}\n";
    let items = read_json_text(single.as_bytes()).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].raw, single.as_bytes());
    // JSON Lines with a bad line: that line alone fails.
    let damaged = format!("{}{{oops\n", lines);
    let items = read_json_text(damaged.as_bytes()).unwrap();
    assert_eq!(items.len(), 3);
    assert!(items[0].parsed.is_ok() && items[1].parsed.is_ok() && items[2].parsed.is_err());
    // A broken array is one error for the file, with its position.
    let error = read_json_text(b"[{\"a\":1},").unwrap_err();
    assert!(error.to_string().contains("line 1"), "{error}");
}
