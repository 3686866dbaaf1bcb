//! Input honesty at the webhook: ids exactly as sent, decoding without guesses, duplicate keys
//! and invisible characters in ids refused, each refusal kept verbatim as a dead letter.

use base64::Engine;
use serde_json::Value;

use crate::common::{SECRET, TestApp};

async fn push_text(app: &TestApp, body: &[u8], content_type: &str) -> (u16, Value) {
    let response = app.push_signed("demo", body, content_type, SECRET).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn raw_bytes(letter: &Value) -> Vec<u8> {
    match letter["raw"]["base64"].as_str() {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
        None => letter["raw"]["text"].as_str().unwrap().as_bytes().to_vec(),
    }
}

#[tokio::test]
async fn numeric_ids_beyond_64_bits_stay_distinct_and_round_trip() {
    let app = TestApp::start().await;
    // Written as JSON numbers on purpose: 2^64 and 2^64 + 1 are one float, and so would be one
    // complaint if read through f64.
    let ids = [
        "18446744073709551615",
        "18446744073709551616",
        "18446744073709551617",
        "12345678901234567890123",
        "1e3",
    ];
    let lines: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            format!(r#"{{"external_id": {id}, "body": "第{i}号工单：小区供水水压不足，高层住户白天无水。"}}"#)
        })
        .collect();
    let (status, answer) =
        push_text(&app, lines.join("\n").as_bytes(), "application/x-ndjson").await;
    assert_eq!(status, 202, "{answer}");
    let accepted = answer["accepted"].as_array().unwrap();
    assert_eq!(accepted.len(), ids.len(), "{answer}");
    let mut gateway_ids = Vec::new();
    for (entry, id) in accepted.iter().zip(ids) {
        assert_eq!(entry["external_id"], id);
        assert_eq!(entry["duplicate"], false, "{entry}");
        assert!(
            entry.get("revision").is_none(),
            "not a revision of another: {entry}"
        );
        gateway_ids.push(entry["id"].as_str().unwrap().to_string());
    }
    gateway_ids.sort();
    gateway_ids.dedup();
    assert_eq!(
        gateway_ids.len(),
        ids.len(),
        "every id is its own complaint"
    );
    for entry in accepted {
        let record = app
            .get_json(&format!("/v1/complaints/{}", entry["id"].as_str().unwrap()))
            .await;
        assert_eq!(record["external_id"], entry["external_id"]);
    }
    app.stop().await;
}

#[tokio::test]
async fn bytes_that_are_not_text_by_the_rule_are_dead_letters_not_mojibake() {
    let app = TestApp::start().await;
    let text = r#"{"external_id": "enc-1", "body": "锦绣花园小区供暖温度不达标。"}"#;
    let (gbk, _, _) = encoding_rs::GB18030.encode(text);
    // Each body has its own id: the same bytes signed in the same second would be a replay.
    let western = |id: &str| {
        let mut bytes = format!(r#"{{"external_id": "{id}", "body": "caf"#).into_bytes();
        bytes.extend_from_slice(b"\xE9 cr\xE8me \xFF\"}");
        bytes
    };
    let overlong = |id: &str| {
        let mut bytes = format!(r#"{{"external_id": "{id}", "body": "小区"#).into_bytes();
        bytes.extend_from_slice(b"\xC0\xAF");
        bytes.extend_from_slice("供暖\"}".as_bytes());
        bytes
    };
    for (bytes, content_type) in [
        (gbk.to_vec(), "application/json; charset=utf-8"),
        (western("enc-2"), "application/json"),
        (western("enc-6"), "application/json; charset=windows-1252"),
        (overlong("enc-3"), "application/json"),
        (overlong("enc-7"), "application/json; charset=UTF-8"),
    ] {
        let (status, answer) = push_text(&app, &bytes, content_type).await;
        assert_eq!(status, 400, "{content_type}: {answer}");
        assert_eq!(answer["error"]["code"], "undecodable_body", "{answer}");
        let id = answer["error"]["dead_letter_id"].as_str().unwrap();
        let letter = app.get_json(&format!("/v1/dead-letters/{id}")).await;
        assert_eq!(raw_bytes(&letter), bytes, "kept verbatim");
    }
    // GB18030 bytes, labelled or not, are read.
    for (id, content_type) in [
        ("enc-4", "application/json; charset=GBK"),
        ("enc-5", "application/json"),
    ] {
        let text = text.replace("enc-1", id);
        let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
        let (status, answer) = push_text(&app, &bytes, content_type).await;
        assert_eq!(status, 202, "{answer}");
        let record = app
            .get_json(&format!(
                "/v1/complaints/{}",
                answer["accepted"][0]["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(record["body"], "锦绣花园小区供暖温度不达标。");
    }
    let record = app.get_json("/v1/dead-letters?source=demo").await;
    assert_eq!(record["total"], 5);
    app.stop().await;
}

#[tokio::test]
async fn duplicate_keys_and_invisible_id_characters_refuse_only_their_item() {
    let app = TestApp::start().await;
    let batch = concat!(
        r#"[{"external_id": "dk-1", "body": "人民路井盖缺失。"},"#,
        r#" {"external_id": "dk-2", "body": "甲", "complainant": {"phone": "1", "phone": "2"}},"#,
        r#" {"external_id": "dk-3\u202e", "body": "解放路夜市占道经营。"},"#,
        r#" {"external_id": "dk-4", "body": "乙", "body": "丙"}]"#
    );
    let (status, answer) = push_text(&app, batch.as_bytes(), "application/json").await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["accepted"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(answer["accepted"][0]["external_id"], "dk-1");
    let rejected = answer["rejected"].as_array().unwrap();
    let errors: Vec<&str> = rejected
        .iter()
        .map(|r| r["error"].as_str().unwrap())
        .collect();
    assert!(
        errors[0].contains("duplicate key `complainant.phone`"),
        "{errors:?}"
    );
    assert!(errors[1].contains("U+202E"), "{errors:?}");
    assert!(errors[2].contains("duplicate key `body`"), "{errors:?}");
    let codes: Vec<&str> = rejected
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["duplicate_key", "invalid_field", "duplicate_key"]);
    assert_eq!(
        rejected[0]["external_id"], "dk-2",
        "the dead letter names its id"
    );
    let letter = app
        .get_json(&format!(
            "/v1/dead-letters/{}",
            rejected[0]["dead_letter_id"].as_str().unwrap()
        ))
        .await;
    assert!(
        letter["raw"]["text"]
            .as_str()
            .unwrap()
            .contains(r#""phone": "1", "phone": "2""#),
        "the element is kept verbatim: {letter}"
    );

    // A single object with a repeated key: refused as an item (202 with the rejection).
    let single = r#"{"external_id": "dk-5", "body": "丁", "title": "a", "title": "b"}"#;
    let (status, answer) = push_text(&app, single.as_bytes(), "application/json").await;
    assert_eq!(status, 202, "{answer}");
    assert!(answer["accepted"].as_array().unwrap().is_empty());
    assert!(
        answer["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .contains("duplicate key `title`"),
        "{answer}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_mislabelled_upstream_is_refused_until_its_charset_is_configured() {
    use super::sources::{start_with_connectors, wait_source, wait_stored, write_connector};
    use super::upstream::{Reply, Upstream};

    let page = serde_json::json!({"data": {"list": [
        {"id": "ml-1", "content": "幸福里小区二次供水水箱多年未清洗，水有异味。"}
    ]}})
    .to_string();
    let (gb18030, _, _) = encoding_rs::GB18030.encode(&page);
    let gb18030 = gb18030.into_owned();
    // The server says UTF-8 and sends GB18030, as some do.
    let upstream = Upstream::start(move |_| {
        Reply::with(
            200,
            &[("content-type", "application/json; charset=utf-8")],
            gb18030.clone(),
        )
    })
    .await;
    let config = |extra: &str| {
        format!(
            "type = \"http_json\"\nchannel = \"hotline\"\nurl = \"{}/orders\"\nitems_pointer = \"/data/list\"\ntimeout_secs = 1\npoll_interval_secs = 1\n{extra}\n[fields]\nexternal_id = \"/id\"\nbody = \"/content\"\n",
            upstream.base
        )
    };
    let (plain, fixed) = (config(""), config("charset = \"gb18030\""));
    let app = start_with_connectors(|dir| {
        write_connector(dir, "mislabelled", &plain);
        write_connector(dir, "configured", &fixed);
    })
    .await;
    let status = wait_source(&app, "mislabelled", "refused the page", |s| {
        s["last_error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not valid UTF-8"))
    })
    .await;
    assert_eq!(status["received"]["stored"], 0, "{status}");
    wait_stored(&app, "configured", 1).await;
    let found = app.search(&[("q", "二次供水")]).await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["hits"][0]["source"], "configured");
    app.stop().await;
}
