//! The future-date rule: where its boundary lies, that the store keeps the given value beside
//! the effective time, and that the migration applies it to complaints stored before.

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use connectors::item::ParseOptions;
use connectors::{Channel, Item};
use serde_json::json;
use sqlx::Row;

use crate::store::*;

fn received() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 21, 30, 40).unwrap()
}

fn beijing(time: DateTime<Utc>) -> DateTime<FixedOffset> {
    time.with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
}

#[test]
fn exactly_at_the_tolerance_is_accepted_and_one_second_past_is_future_dated() {
    let day = Duration::days(1);
    let at_limit = effective_time(Some(beijing(received() + day)), received(), day);
    assert_eq!(
        at_limit,
        EffectiveTime {
            at: received() + day,
            future_dated: false
        }
    );
    let past_limit = effective_time(
        Some(beijing(received() + day + Duration::seconds(1))),
        received(),
        day,
    );
    assert_eq!(
        past_limit,
        EffectiveTime {
            at: received(),
            future_dated: true
        }
    );
    // Absent: the received time; in the past: as given.
    assert_eq!(effective_time(None, received(), day).at, received());
    let earlier = received() - Duration::days(400);
    assert_eq!(
        effective_time(Some(beijing(earlier)), received(), day),
        EffectiveTime {
            at: earlier,
            future_dated: false
        }
    );
}

#[test]
fn a_configured_tolerance_moves_the_boundary() {
    let config =
        crate::config::Config::from_toml("[intake]\nfuture_tolerance_secs = 60\n", "t").unwrap();
    let tolerance = crate::app::commit_settings(&config).future_tolerance;
    assert_eq!(tolerance, Duration::seconds(60));
    assert_eq!(config.parse_options().future_tolerance, tolerance);
    let within = effective_time(
        Some(beijing(received() + Duration::seconds(60))),
        received(),
        tolerance,
    );
    assert!(!within.future_dated);
    let beyond = effective_time(
        Some(beijing(received() + Duration::seconds(61))),
        received(),
        tolerance,
    );
    assert!(beyond.future_dated);
    // Two hours ahead is flagged here, not under the default of one day.
    let two_hours = Some(beijing(received() + Duration::hours(2)));
    assert!(effective_time(two_hours, received(), tolerance).future_dated);
    let default = crate::config::Config::from_toml("", "t").unwrap();
    assert_eq!(default.future_tolerance(), Duration::days(1));
    assert!(!effective_time(two_hours, received(), default.future_tolerance()).future_dated);
}

fn complaint_at(external_id: &str, submitted_at: &str, received_at: DateTime<Utc>) -> WriteOp {
    let item = Item::from_value(
        json!({"external_id": external_id, "body": "路灯不亮", "submitted_at": submitted_at}),
        &ParseOptions::default(),
    )
    .unwrap();
    WriteOp::Complaint(NewComplaint::new(
        "hotline",
        Channel::Hotline,
        item,
        b"{}".to_vec(),
        "application/json".into(),
        received_at,
        Duration::days(1),
    ))
}

#[tokio::test]
async fn the_given_time_is_stored_and_the_effective_one_is_what_orders() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), CommitSettings::default())
        .await
        .unwrap();
    let now = Utc::now();
    let outcomes = store
        .submit(WriteBatch {
            ops: vec![complaint_at("f", "2036-01-01T08:00:00+08:00", now)],
            ..WriteBatch::default()
        })
        .await
        .unwrap();
    let id = outcomes[0].id().to_string();
    let record = store.complaint(&id).await.unwrap().unwrap();
    assert_eq!(
        record.submitted_at.to_rfc3339(),
        "2036-01-01T08:00:00+08:00"
    );
    assert!(record.future_dated);
    let ms: i64 = sqlx::query_scalar("SELECT submitted_ms FROM complaints WHERE id = ?")
        .bind(&id)
        .fetch_one(&store_file(dir.path()).await)
        .await
        .unwrap();
    assert_eq!(ms, now.timestamp_millis());
    let index_row = &store
        .index_rows_after(0, i64::MAX, 10, None)
        .await
        .unwrap()
        .0[0];
    assert_eq!(
        index_row.effective_at.timestamp_millis(),
        now.timestamp_millis()
    );
    assert_eq!(
        index_row.submitted_at.to_rfc3339(),
        "2036-01-01T08:00:00+08:00"
    );

    // A corrected revision is no longer flagged.
    store
        .submit(WriteBatch {
            ops: vec![complaint_at("f", "2026-01-01T08:00:00+08:00", now)],
            ..WriteBatch::default()
        })
        .await
        .unwrap();
    let record = store.complaint(&id).await.unwrap().unwrap();
    assert!(!record.future_dated);
    store.close().await;
}

#[tokio::test]
async fn the_migration_flags_complaints_stored_before_and_straightens_their_cases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    super::schema::migrator().run_to(41, &pool).await.unwrap();
    let received_ms = Utc
        .with_ymd_and_hms(2026, 12, 6, 21, 30, 40)
        .unwrap()
        .timestamp_millis()
        + 123;
    let future_ms = received_ms + 10 * 365 * 86_400_000;
    for (id, received_at, submitted_ms) in [
        ("future", "2026-12-06T21:30:40.123456Z", future_ms),
        // Exactly one day ahead: within the default tolerance, untouched.
        (
            "near",
            "2026-12-06T21:30:40.123456Z",
            received_ms + 86_400_000,
        ),
    ] {
        sqlx::query(
            "INSERT INTO complaints (id, seq, source, channel, external_id, received_at,
                submitted_at, submitted_ms, body, text_norm, item, content_hash, raw,
                raw_content_type)
             VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM complaints), 's', 'online', ?, ?,
                'given', ?, 'b', 'b', '{}', 'h', x'', 'application/json')",
        )
        .bind(id)
        .bind(id)
        .bind(received_at)
        .bind(submitted_ms)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO case_members (complaint_id, case_id, seq, channel, submitted_ms, reason)
             VALUES (?, 'case', 1, 'online', ?, '{}')",
        )
        .bind(id)
        .bind(submitted_ms)
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO cases (id, title, complaints, complainants, channels, first_seen, last_seen,
            last_seen_ms) VALUES ('case', 't', 2, 2, 'online', 'x', 'x', ?)",
    )
    .bind(future_ms)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = Store::open(dir.path(), CommitSettings::default())
        .await
        .unwrap();
    let rows = sqlx::query("SELECT id, future_dated, submitted_ms FROM complaints ORDER BY id")
        .fetch_all(&store_file(dir.path()).await)
        .await
        .unwrap();
    let got: Vec<(String, bool, i64)> = rows
        .iter()
        .map(|r| (r.get("id"), r.get("future_dated"), r.get("submitted_ms")))
        .collect();
    assert_eq!(
        got,
        [
            ("future".to_string(), true, received_ms),
            ("near".to_string(), false, received_ms + 86_400_000),
        ]
    );
    let member_ms: i64 =
        sqlx::query_scalar("SELECT submitted_ms FROM case_members WHERE complaint_id = 'future'")
            .fetch_one(&store_file(dir.path()).await)
            .await
            .unwrap();
    assert_eq!(member_ms, received_ms);
    let case = sqlx::query("SELECT first_seen, last_seen, last_seen_ms FROM cases")
        .fetch_one(&store_file(dir.path()).await)
        .await
        .unwrap();
    assert_eq!(case.get::<i64, _>("last_seen_ms"), received_ms + 86_400_000);
    assert_eq!(
        case.get::<String, _>("first_seen"),
        crate::cases::write::ms_to_rfc3339(received_ms)
    );
    assert_eq!(
        case.get::<String, _>("last_seen"),
        crate::cases::write::ms_to_rfc3339(received_ms + 86_400_000)
    );
    store.close().await;
}

/// A connection of the test's own to the store's file in `dir`.
async fn store_file(dir: &std::path::Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.join(crate::store::DB_FILE))
            .read_only(true),
    )
    .await
    .unwrap()
}
