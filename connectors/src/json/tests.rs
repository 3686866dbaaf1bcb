use serde_json::{Value, json};

use super::*;

#[test]
fn a_plain_document_reads_as_serde_json_reads_it() {
    let text = r#"{"a":1,"b":[true,null,-2.5,"x"],"c":{"d":18446744073709551615,"e":-9223372036854775808}}"#;
    let expected: Value = serde_json::from_str(text).unwrap();
    assert_eq!(parse_document(text).unwrap(), expected);
    assert_eq!(parse_item(text).unwrap(), expected);
    assert_eq!(parse_lenient(text).unwrap(), expected);
}

#[test]
fn ids_keep_the_literal_text_of_numbers() {
    let value = parse_item(
        r#"{"external_id": 1e3, "complainant": {"id": 110101199001011234567, "name": "x"}, "n": 1e3}"#,
    )
    .unwrap();
    assert_eq!(value["external_id"], json!("1e3"));
    assert_eq!(value["complainant"]["id"], json!("110101199001011234567"));
    // Elsewhere a number stays a number.
    assert_eq!(value["n"], json!(1000.0));
    // A string id is read as a string, a null as null.
    let value = parse_item(r#"{"external_id": "A-1", "complainant": {"id": null}}"#).unwrap();
    assert_eq!(value["external_id"], json!("A-1"));
    assert_eq!(value["complainant"]["id"], Value::Null);
    // Outside an item, `external_id` is an ordinary field.
    assert_eq!(
        parse_document(r#"{"external_id": 7}"#).unwrap()["external_id"],
        json!(7)
    );
}

#[test]
fn ids_around_two_to_the_sixty_four_stay_distinct_and_exact() {
    let ids = [
        "18446744073709551615", // 2^64 - 1: still a u64
        "18446744073709551616", // 2^64
        "18446744073709551617", // 2^64 + 1: the same float as 2^64
        "12345678901234567890",
        "12345678901234567891",
        "-9223372036854775809", // below i64
    ];
    let read: Vec<Value> = ids
        .iter()
        .map(|id| parse_item(&format!(r#"{{"external_id": {id}, "body": "x"}}"#)).unwrap())
        .collect();
    for (id, value) in ids.iter().zip(&read) {
        assert_eq!(value["external_id"], json!(id));
    }
}

#[test]
fn integers_wider_than_64_bits_keep_their_digits_anywhere() {
    let text = r#"{"meta": {"order": 18446744073709551617, "list": [1, 98765432109876543210, 2.5]}, "small": 3}"#;
    for value in [
        parse_document(text).unwrap(),
        parse_lenient(text).unwrap(),
        parse_item(text).unwrap(),
    ] {
        assert_eq!(value["meta"]["order"], json!("18446744073709551617"));
        assert_eq!(
            value["meta"]["list"],
            json!([1, "98765432109876543210", 2.5])
        );
        assert_eq!(value["small"], json!(3));
    }
    // A float that happens to be large keeps being a number.
    assert_eq!(parse_document("[1e19]").unwrap(), json!([1e19]));
}

#[test]
fn duplicate_keys_are_refused_with_their_path() {
    let cases = [
        (r#"{"body":"a","body":"b"}"#, "body"),
        (
            r#"{"complainant":{"name":"a","name":"b"}}"#,
            "complainant.name",
        ),
        (
            r#"{"attachments":[{"url":"u"},{"url":"u","url":"v"}]}"#,
            "attachments[1].url",
        ),
        (r#"[{"a":{"b":[[{"c":1,"c":2}]]}}]"#, "[0].a.b[0][0].c"),
        // In the second pass (a wide integer is present) as well.
        (r#"{"n":18446744073709551617,"m":{"k":1,"k":1}}"#, "m.k"),
        (r#"{"external_id":1,"external_id":2}"#, "external_id"),
    ];
    for (text, path) in cases {
        for result in [parse_item(text), parse_document(text)] {
            match result {
                Err(JsonError::DuplicateKey { path: found }) => assert_eq!(found, path, "{text}"),
                other => panic!("{text}: expected a duplicate key, got {other:?}"),
            }
        }
        assert!(parse_lenient(text).is_ok(), "{text}");
    }
    assert_eq!(parse_lenient(r#"{"a":1,"a":2}"#).unwrap(), json!({"a": 2}));
}

#[test]
fn syntax_errors_keep_serde_json_positions() {
    for text in [r#"{"a":1"#, r#"{"a":1} x"#, "", r#"{"a":01}"#] {
        match parse_item(text) {
            Err(JsonError::Syntax(error)) => assert!(error.line() >= 1, "{text}"),
            other => panic!("{text}: expected a syntax error, got {other:?}"),
        }
    }
}
