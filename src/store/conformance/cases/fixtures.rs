//! What the checks of cases start from: complaints in the store, members and case rows.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::store::cases::{CaseRow, NewMember};
use crate::store::conformance::{complaint_from, store_new};
use crate::store::{DerivedTx, Store};

/// Effective time of the `n`th complaint of [`complaints`]: an hour apart.
pub fn at(n: usize) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T08:00:00+08:00")
        .unwrap()
        .with_timezone(&Utc)
        + chrono::Duration::hours(n as i64)
}

/// Stores `titles.len()` complaints of source `s` (external ids `e0`, `e1`, …; a title per
/// complaint, the body `body n`), an hour apart; returns their `(id, seq)`.
pub async fn complaints(store: &Store, titles: &[Option<&str>]) -> Vec<(String, i64)> {
    let ops = titles
        .iter()
        .enumerate()
        .map(|(n, title)| {
            let value = json!({"external_id": format!("e{n}"), "title": title,
                               "body": format!("body {n}"), "submitted_at": at(n).to_rfc3339()});
            complaint_from("s", value, at(n))
        })
        .collect();
    store_new(store, ops).await
}

/// The member of complaint `(id, seq)` (the `n`th of [`complaints`]) in `case_id`.
pub fn member(n: usize, (id, seq): &(String, i64), case_id: &str) -> NewMember {
    NewMember {
        complaint_id: id.clone(),
        case_id: case_id.to_string(),
        seq: *seq,
        channel: if n.is_multiple_of(2) {
            "online"
        } else {
            "hotline"
        }
        .to_string(),
        submitted_ms: at(n).timestamp_millis(),
        complainant: (n != 2).then(|| "same-person".to_string()),
        public_support: n as i64 * 10,
        media_exposed: n == 1,
        reason_json: format!(r#"{{"kind":"new","n":{n}}}"#),
        duplicate_of: None,
    }
}

/// The row of a case as the domain would compute it (values chosen by the test).
pub fn case_row(id: &str, title: &str, last_ms: i64, complaints: i64) -> CaseRow {
    CaseRow {
        id: id.to_string(),
        title: title.to_string(),
        complaints,
        complainants: 1,
        channels: vec!["hotline".into(), "online".into()],
        first_seen: "2024-05-01T00:00:00.000000Z".into(),
        last_seen: "2024-05-02T00:00:00.000000Z".into(),
        last_seen_ms: last_ms,
        public_support: 3,
        media_exposed: true,
    }
}

pub async fn commit(tx: Box<dyn DerivedTx>) {
    tx.commit().await.unwrap();
}
