//! Shared setup of the deadline and email tests: a store in a temporary directory, a
//! configuration, the embedded calendar and a realistic assignment.

#![allow(dead_code)]

use chrono::{DateTime, FixedOffset, Utc};
use complaint_gateway::calendar::Calendar;
use complaint_gateway::config::Config;
use complaint_gateway::notify::Assignment;
use complaint_gateway::notify::templates::MailTemplates;
use complaint_gateway::store::{CommitSettings, Store};
use connectors::item::Complainant;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

pub struct NotifyEnv {
    pub dir: tempfile::TempDir,
    pub cfg: Config,
    pub calendar: Calendar,
    /// The email templates of `cfg` (the shipped ones unless `notify.templates_dir` says).
    pub templates: MailTemplates,
    pub store: Store,
    /// The test's own connections to the database file: fixtures the store has no operation
    /// for (a case without its grouping history) and inspection of rows.
    db: SqlitePool,
}

/// Opens the test's own pool on the store's file.
async fn own_pool(cfg: &Config) -> SqlitePool {
    SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(cfg.data_dir.join(complaint_gateway::store::DB_FILE))
            .busy_timeout(std::time::Duration::from_secs(30)),
    )
    .await
    .unwrap()
}

impl NotifyEnv {
    pub async fn new(extra: &str) -> NotifyEnv {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "data_dir = \"{}\"\n[api]\ntoken_envs = []\n{extra}",
            dir.path().join("data").display()
        );
        let cfg = Config::from_toml(&text, "test").unwrap();
        let store = Store::open(&cfg.data_dir, CommitSettings::default())
            .await
            .unwrap();
        let db = own_pool(&cfg).await;
        NotifyEnv {
            templates: MailTemplates::load(&cfg.notify.templates_dir).unwrap(),
            dir,
            cfg,
            calendar: Calendar::embedded(),
            store,
            db,
        }
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.db
    }

    /// Closes and reopens the store (a restart of the process).
    pub async fn restart(self) -> NotifyEnv {
        let NotifyEnv {
            dir,
            cfg,
            calendar,
            templates,
            store,
            db,
        } = self;
        db.close().await;
        store.close().await;
        let store = Store::open(&cfg.data_dir, CommitSettings::default())
            .await
            .unwrap();
        let db = own_pool(&cfg).await;
        NotifyEnv {
            dir,
            cfg,
            calendar,
            templates,
            store,
            db,
        }
    }
}

pub fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

pub fn utc(text: &str) -> DateTime<Utc> {
    at(text).with_timezone(&Utc)
}

/// Stores a minimal complaint that belongs to `case_id` (the grouping stage's facet).
pub async fn insert_complaint(pool: &SqlitePool, id: &str, seq: i64, case_id: &str) {
    sqlx::query(
        "INSERT INTO complaints (id, seq, source, channel, external_id, received_at, \
         submitted_at, submitted_ms, title, body, text_norm, item, content_hash, raw, \
         raw_content_type) VALUES (?, ?, 'demo', 'online', ?, '2026-02-12T02:00:00Z', \
         '2026-02-12T02:00:00Z', 0, '职称审批拖延', '职称审批拖延三个月无人答复', \
         '职称审批拖延三个月无人答复', '{}', 'h', x'00', 'application/json')",
    )
    .bind(id)
    .bind(seq)
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO complaint_facets (complaint_id, case_id) VALUES (?, ?)")
        .bind(id)
        .bind(case_id)
        .execute(pool)
        .await
        .unwrap();
}

/// The complainant of the fixtures; every value must stay out of emails to the subject unit.
pub fn complainant() -> Complainant {
    Complainant {
        name: Some("刘敏".into()),
        phone: Some("13800001111".into()),
        email: Some("liumin@example.com".into()),
        id: Some("110101199003071234".into()),
        address: Some("城南区解放路88号3单元".into()),
        ..Default::default()
    }
}

/// The raw personal values of [`complainant`].
pub const PII_VALUES: &[&str] = &[
    "刘敏",
    "13800001111",
    "liumin@example.com",
    "110101199003071234",
    "解放路88号",
];

/// A complaint about the personnel bureau (市人事局), routed to the supervision bureau, the
/// press office and the personnel bureau informed.
pub fn assignment(case_id: &str, priority: &str, assigned_at: &str) -> Assignment {
    Assignment {
        case_id: case_id.to_string(),
        complaint_id: format!("{case_id}-c1"),
        queue_key: "supervision".into(),
        queue_name: "市监察局".into(),
        members: vec![
            "jiancha.wang@test.example.gov.cn".into(),
            "jiancha.zhou@test.example.gov.cn".into(),
        ],
        supervisor: "jiancha.lead@test.example.gov.cn".into(),
        informed: vec![
            (
                "市政府新闻办".into(),
                vec!["press@test.example.gov.cn".into()],
            ),
            ("市人事局".into(), vec!["renshi@test.example.gov.cn".into()]),
        ],
        priority: priority.to_string(),
        channel: "online".into(),
        title: Some("刘敏（13800001111）反映市人事局职称审批拖延三个月".into()),
        assigned_at: at(assigned_at),
        target_unit: Some("市人事局".into()),
        subject_units: vec![],
        subject_queues: vec![],
        complainant: Some(complainant()),
        text: "刘敏反映：市人事局职称审批拖延三个月，多次电话13800001111催问无果，另有同事13912345678也遇到同样问题。".into(),
        why: "分类「人事管理」，路由规则 personnel-matters".into(),
        triage: false,
    }
}

/// Runs `on_assignment` in its own committed transaction.
pub async fn assign(env: &NotifyEnv, a: &Assignment) -> complaint_gateway::notify::CaseDeadline {
    let mut tx = env.store.begin_decision().await.unwrap();
    let deadline = complaint_gateway::notify::on_assignment(
        &mut *tx,
        a,
        &env.cfg,
        &env.calendar,
        &env.templates,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    deadline
}

/// The audit actions of a case, in order.
pub async fn audit_actions(pool: &SqlitePool, case_id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM deadline_audit WHERE case_id = ? ORDER BY id")
        .bind(case_id)
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Outbox kinds of a case, oldest first.
pub async fn outbox_kinds(pool: &SqlitePool) -> Vec<String> {
    sqlx::query_scalar("SELECT kind FROM outbox ORDER BY created_at, id")
        .fetch_all(pool)
        .await
        .unwrap()
}
