//! Chinese full-text search: substrings, folding, phrases, filters, paging, index rebuild.

use serde_json::{Value, json};

use crate::common::{TestApp, complaint};

fn ids(result: &Value) -> Vec<String> {
    result["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["external_id"].as_str().unwrap().to_string())
        .collect()
}

async fn seeded() -> TestApp {
    let app = TestApp::start().await;
    let items = json!([
        complaint("s-1", "话费问题", "手机套餐每月被扣费二十元，营业厅推诿。"),
        complaint("s-2", "行政審批拖延", "營業執照審批超過法定期限仍未辦結，我要投訴。"),
        complaint("s-3", "投诉物业", "物业公司乱收停车费，投诉多次无果。"),
        {"external_id": "s-4", "title": "Road works at night", "body": "Complaints about road works running past midnight near Riverside Garden.",
         "submitted_at": "2024-01-15T08:00:00+08:00"},
        {"external_id": "s-5", "title": "路灯", "body": "拨打12345热线反映人民路路灯不亮。", "submitted_at": "2023-12-01T08:00:00+08:00"},
    ]);
    let response = app.push(&items).await;
    assert_eq!(response.status(), 202);
    crate::common::eventually("all five indexed", || async {
        let r = app.search(&[("limit", "10")]).await;
        (r["total"] == 5).then_some(())
    })
    .await;
    app
}

#[tokio::test]
async fn substrings_folding_phrases_and_english() {
    let app = seeded().await;
    // `扣费` inside `被扣费`, which jieba alone would miss.
    let r = app.search(&[("q", "扣费")]).await;
    assert_eq!(ids(&r), ["s-1"]);
    assert!(
        r["hits"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<b>扣费</b>"),
        "{r}"
    );
    // Traditional query finds simplified text and the reverse.
    let mut traditional = ids(&app.search(&[("q", "投訴")]).await);
    traditional.sort();
    assert_eq!(traditional, ["s-2", "s-3"]);
    assert_eq!(ids(&app.search(&[("q", "审批")]).await), ["s-2"]);
    // Three and more characters from the middle of a run (looked up by trigrams).
    assert_eq!(ids(&app.search(&[("q", "业执照")]).await), ["s-2"]);
    assert_eq!(ids(&app.search(&[("q", "执照审批超过")]).await), ["s-2"]);
    assert!(ids(&app.search(&[("q", "执照超过审批")]).await).is_empty());
    assert_eq!(ids(&app.search(&[("q", "乱收停车费")]).await), ["s-3"]);
    // Full-width digits fold to ASCII.
    assert_eq!(ids(&app.search(&[("q", "１２３４５热线")]).await), ["s-5"]);
    // All terms required; exclusion.
    assert_eq!(ids(&app.search(&[("q", "投诉 物业")]).await), ["s-3"]);
    assert_eq!(ids(&app.search(&[("q", "投诉 -物业")]).await), ["s-2"]);
    // Phrase in quotes vs. separate words.
    assert_eq!(ids(&app.search(&[("q", "\"road works\"")]).await), ["s-4"]);
    assert!(ids(&app.search(&[("q", "\"works road\"")]).await).is_empty());
    // English: case and stemming.
    assert_eq!(ids(&app.search(&[("q", "COMPLAINT")]).await), ["s-4"]);
    assert_eq!(ids(&app.search(&[("q", "running")]).await), ["s-4"]);
    // A string that is not there.
    assert_eq!(app.search(&[("q", "地铁")]).await["total"], 0);
    app.stop().await;
}

#[tokio::test]
async fn filters_and_paging() {
    let app = seeded().await;
    let extra = json!([complaint("h-1", "热线", "投诉热线无人接听。")]);
    let pushed = app
        .push_signed(
            "hot",
            extra.to_string().as_bytes(),
            "application/json",
            crate::common::SECRET,
        )
        .await;
    assert_eq!(pushed.status(), 202);
    app.wait_searchable("无人接听", 1).await;
    let by_date = app
        .search(&[
            ("from", "2024-01-01"),
            ("to", "2024-02-01"),
            ("source", "demo"),
        ])
        .await;
    assert_eq!(ids(&by_date), ["s-4"]);
    let before = app.search(&[("to", "2024-01-01")]).await;
    assert_eq!(ids(&before), ["s-5"]);
    assert_eq!(app.search(&[("channel", "online")]).await["total"], 5);
    assert_eq!(ids(&app.search(&[("channel", "hotline")]).await), ["h-1"]);
    assert_eq!(
        app.search(&[("source", "demo"), ("q", "投诉")]).await["total"],
        2
    );
    assert_eq!(app.search(&[("q", "投诉")]).await["total"], 3);

    // Paging: newest first, two per page, pages disjoint and complete.
    let mut seen = Vec::new();
    let mut times = Vec::new();
    for offset in ["0", "2", "4"] {
        let page = app
            .search(&[
                ("source", "demo"),
                ("sort", "newest"),
                ("limit", "2"),
                ("offset", offset),
            ])
            .await;
        assert_eq!(page["total"], 5);
        seen.extend(ids(&page));
        for hit in page["hits"].as_array().unwrap() {
            let t = chrono::DateTime::parse_from_rfc3339(hit["submitted_at"].as_str().unwrap())
                .unwrap();
            times.push(t);
        }
    }
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    assert_eq!(seen.len(), 5);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5);

    let bad = app
        .client
        .get(format!("{}/v1/search", app.base))
        .query(&[("from", "yesterday")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad = app
        .client
        .get(format!("{}/v1/search", app.base))
        .query(&[("limit", "5000")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn deleted_or_corrupt_index_is_rebuilt_at_start() {
    let app = seeded().await;
    let config = crate::common::config_text(app.dir.path(), "");
    let dir = app.stop().await;
    let index_dir = dir.path().join("data").join("index");
    std::fs::remove_dir_all(&index_dir).unwrap();
    let app = TestApp::start_in(dir, &config).await;
    assert_eq!(ids(&app.wait_searchable("扣费", 1).await), ["s-1"]);

    // Corrupt: truncate every segment file.
    let dir = app.stop().await;
    for entry in std::fs::read_dir(&index_dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .extension()
            .is_some_and(|e| e == "store" || e == "idx" || e == "term")
        {
            std::fs::write(&path, b"garbage").unwrap();
        }
    }
    let app = TestApp::start_in(dir, &config).await;
    assert_eq!(ids(&app.wait_searchable("扣费", 1).await), ["s-1"]);
    app.stop().await;
}
