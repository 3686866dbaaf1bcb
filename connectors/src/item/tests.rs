use super::*;
use serde_json::json;

fn parse(value: Value) -> Result<Item, ItemError> {
    Item::from_value(value, &ParseOptions::default())
}

#[test]
fn minimal_item_parses_and_unknown_fields_go_to_meta() {
    let item = parse(json!({
        "external_id": 1024,
        "body": "  小区门口道路破损，多次反映无人处理。 ",
        "hotline_operator": "工号 0371",
        "meta": {"ticket_type": "投诉"}
    }))
    .unwrap();
    assert_eq!(item.external_id, "1024");
    assert_eq!(item.body, "小区门口道路破损，多次反映无人处理。");
    assert_eq!(item.meta["hotline_operator"], "工号 0371");
    assert_eq!(item.meta["ticket_type"], "投诉");
}

#[test]
fn full_item_round_trips() {
    let item = parse(json!({
        "external_id": "rx-1",
        "title": "审批拖延",
        "body": "营业执照审批超过法定期限仍未办结。",
        "submitted_at": "2024-03-04 09:15:00",
        "complainant": {"name": "王某", "phone": "13800000000", "anonymous": "否", "wechat": "w1"},
        "location": {"district": "A3区", "lat": "28.2", "lon": 112.9},
        "target_unit": "市场监管局",
        "url": "https://example.org/a/1",
        "attachments": ["https://example.org/a.jpg", {"url": "https://example.org/b.pdf", "name": "材料"}]
    }))
    .unwrap();
    assert_eq!(
        item.submitted_at.unwrap().to_rfc3339(),
        "2024-03-04T09:15:00+08:00"
    );
    let person = item.complainant.as_ref().unwrap();
    assert_eq!(person.name.as_deref(), Some("王某"));
    assert!(!person.anonymous);
    assert_eq!(person.extra["wechat"], "w1");
    assert_eq!(item.location.as_ref().unwrap().lat, Some(28.2));
    assert_eq!(item.attachments.len(), 2);
    let back = serde_json::to_value(&item).unwrap();
    assert_eq!(parse(back).unwrap(), item);
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (
            json!({"body": "内容"}),
            "missing required field `external_id`",
        ),
        (
            json!({"external_id": "a", "body": " \n "}),
            "missing required field `body`",
        ),
        (
            json!({"external_id": "a", "body": "x", "submitted_at": "yesterday"}),
            "field `submitted_at`",
        ),
        (
            json!({"external_id": "a", "body": "x", "location": {"lat": 200}}),
            "field `location.lat`",
        ),
        (
            json!({"external_id": "a", "body": "x", "complainant": {"phone": []}}),
            "field `complainant.phone`",
        ),
        (
            json!({"external_id": ["a"], "body": "x"}),
            "field `external_id`",
        ),
        (
            json!({"external_id": "a", "body": "x", "attachments": [{"name": "n"}]}),
            "attachments[0].url",
        ),
        (
            json!(["not", "an", "object"]),
            "must be a JSON object, found an array",
        ),
    ];
    for (value, expected) in cases {
        let err = parse(value.clone()).unwrap_err().to_string();
        assert!(err.contains(expected), "{value}: {err}");
    }
}

#[test]
fn malformed_json_reports_line_and_column() {
    let err = Item::from_json_str(
        "{\n  \"external_id\": \"a\",\n  \"body\": \"x\"\n  oops",
        &ParseOptions::default(),
    )
    .unwrap_err();
    match err {
        ItemError::Json { line, column, .. } => assert_eq!((line, column), (4, 3)),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn content_hash_ignores_key_order_and_whitespace() {
    let a = parse(json!({"external_id": "a", "body": "噪音扰民", "title": "夜间施工"})).unwrap();
    let b =
        parse(json!({"title": " 夜间施工 ", "body": "噪音扰民\r\n", "external_id": "a"})).unwrap();
    let c = parse(json!({"external_id": "a", "body": "噪音扰民！", "title": "夜间施工"})).unwrap();
    assert_eq!(a.content_hash(), b.content_hash());
    assert_ne!(a.content_hash(), c.content_hash());
}

#[test]
fn times_in_several_shapes() {
    let o = ParseOptions::default();
    for (input, expected) in [
        (json!("2024-01-02T03:04:05Z"), "2024-01-02T03:04:05+00:00"),
        (json!("2024/01/02 03:04"), "2024-01-02T03:04:00+08:00"),
        (json!("2024-01-02"), "2024-01-02T00:00:00+08:00"),
        (json!(1704164645), "2024-01-02T11:04:05+08:00"),
        (json!(1704164645000i64), "2024-01-02T11:04:05+08:00"),
    ] {
        assert_eq!(
            parse_time(&input, &o).unwrap().to_rfc3339(),
            expected,
            "{input}"
        );
    }
}

fn from_text(text: &str) -> Result<Item, ItemError> {
    Item::from_json_str(text, &ParseOptions::default())
}

#[test]
fn numeric_ids_are_kept_exactly_as_sent() {
    for (literal, expected) in [
        ("12345678901234567890", "12345678901234567890"),
        ("18446744073709551615", "18446744073709551615"),
        ("18446744073709551616", "18446744073709551616"),
        ("18446744073709551617", "18446744073709551617"),
        ("123456789012345678901234", "123456789012345678901234"),
        ("-42", "-42"),
        ("1e3", "1e3"),
        ("10.50", "10.50"),
    ] {
        let item = from_text(&format!(
            r#"{{"external_id": {literal}, "body": "投诉", "complainant": {{"id": {literal}}}}}"#
        ))
        .unwrap();
        assert_eq!(item.external_id, expected);
        assert_eq!(item.complainant.unwrap().id.as_deref(), Some(expected));
    }
    // A mapped record (a connector's value, not text): integers are exact, floats are refused
    // rather than printed as `1000.0`.
    assert_eq!(
        parse(json!({"external_id": 7, "body": "x"}))
            .unwrap()
            .external_id,
        "7"
    );
    let error = parse(json!({"external_id": 1e3, "body": "x"})).unwrap_err();
    assert_eq!(error.code(), "invalid_field");
    assert!(
        error.to_string().contains("send the id as a string"),
        "{error}"
    );
}

#[test]
fn ids_with_invisible_or_control_characters_are_refused() {
    for (id, code_point) in [
        ("A\u{0}1", "U+0000"),
        ("A\u{202E}1", "U+202E"),
        ("A\u{200B}1", "U+200B"),
        ("\u{2066}A1", "U+2066"),
        ("A1\u{FEFF}B", "U+FEFF"),
        ("A\n1", "U+000A"),
    ] {
        let error = parse(json!({"external_id": id, "body": "x"})).unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("field `external_id`"), "{text}");
        assert!(text.contains(code_point), "{text}");
    }
    // Surrounding whitespace (ideographic space included) is trimmed, inner spaces stay.
    let item = parse(json!({"external_id": "\u{3000} WO 2024 001 \t", "body": "x"})).unwrap();
    assert_eq!(item.external_id, "WO 2024 001");
}

#[test]
fn duplicate_keys_at_any_depth_are_refused() {
    for (text, path) in [
        (r#"{"external_id":"1","body":"a","body":"b"}"#, "body"),
        (
            r#"{"external_id":"1","body":"a","complainant":{"phone":"1","phone":"2"}}"#,
            "complainant.phone",
        ),
        (
            r#"{"external_id":"1","body":"a","meta":{"x":{"y":1,"y":1}}}"#,
            "meta.x.y",
        ),
    ] {
        let error = from_text(text).unwrap_err();
        assert_eq!(
            error,
            ItemError::DuplicateKey { path: path.into() },
            "{text}"
        );
        assert_eq!(error.code(), "duplicate_key");
        assert!(error.to_string().contains(&format!("`{path}`")));
    }
}
