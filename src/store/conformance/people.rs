//! Conformance: people and the audit record. Accounts with roles and queues, failed logins
//! and the lock, tokens and sessions; audit entries appended by decisions and by the intake
//! writer form one gap-free chain, concurrent appenders included, and the filters find them.

use super::Open;
use crate::store::audit::{AuditFilter, ChainCheck, NewAuditEvent};
use crate::store::people::{NewToken, NewUser, QueueMembership, SessionRecord};
use crate::store::{Store, StoreError, WriteBatch};

/// Runs every check of this area on fresh stores from `open`.
pub async fn run(open: Open) {
    accounts_round_trip(open).await;
    failed_logins_lock_until_cleared(open).await;
    tokens_and_sessions(open).await;
    audit_entries_form_one_chain(open).await;
    concurrent_appenders_keep_the_chain(open).await;
}

fn membership(queue: &str, lead: bool) -> QueueMembership {
    QueueMembership {
        queue: queue.into(),
        lead,
    }
}

fn user(name: &str, roles: &[&str], queues: Vec<QueueMembership>) -> NewUser {
    NewUser {
        name: name.into(),
        display_name: Some(format!("{name} 同志")),
        email: Some(format!("{name}@example.gov.cn")),
        password_hash: Some("$argon2id$v=19$stand-in".into()),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        queues,
        created_at: "2026-01-05T09:00:00.000000Z".into(),
    }
}

async fn add_user(store: &Store, new: NewUser) {
    let mut tx = store.begin_decision().await.unwrap();
    tx.add_user(&new).await.unwrap();
    tx.commit().await.unwrap();
}

async fn accounts_round_trip(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    assert_eq!(store.user_count().await.unwrap(), 0);
    add_user(
        store,
        user(
            "wang",
            &["investigator", "triage"],
            vec![membership("urban", true), membership("env", false)],
        ),
    )
    .await;
    add_user(store, user("admin", &["admin"], vec![])).await;
    assert_eq!(store.user_count().await.unwrap(), 2);

    let wang = store.user("wang").await.unwrap().expect("stored");
    assert_eq!(wang.roles, vec!["investigator", "triage"]);
    assert_eq!(
        wang.queues,
        vec![membership("env", false), membership("urban", true)],
        "sorted by queue"
    );
    assert_eq!(wang.email.as_deref(), Some("wang@example.gov.cn"));
    assert!(!wang.disabled);
    assert_eq!(store.user("nobody").await.unwrap(), None);
    let names: Vec<String> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, vec!["admin", "wang"]);

    // A taken name is a conflict, and the failed transaction leaves nothing behind.
    let mut tx = store.begin_decision().await.unwrap();
    let again = tx.add_user(&user("wang", &["admin"], vec![])).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    tx.rollback().await.unwrap();
    assert_eq!(store.user("wang").await.unwrap().unwrap().roles.len(), 2);

    let mut tx = store.begin_decision().await.unwrap();
    assert!(
        tx.set_roles("wang", &["investigator".into()], &[membership("env", true)])
            .await
            .unwrap()
    );
    assert!(tx.set_disabled("wang", true).await.unwrap());
    assert!(tx.set_password("wang", "$argon2id$new").await.unwrap());
    assert!(!tx.set_disabled("nobody", true).await.unwrap());
    let seen = tx.user_for_update("wang").await.unwrap().unwrap();
    assert!(seen.disabled, "the transaction reads its own writes");
    tx.commit().await.unwrap();
    let mut tx = store.begin_decision().await.unwrap();
    assert_eq!(
        tx.queue_user_emails("env").await.unwrap(),
        Vec::<String>::new(),
        "a disabled account gets no notices"
    );
    tx.set_disabled("wang", false).await.unwrap();
    assert_eq!(
        tx.queue_user_emails("env").await.unwrap(),
        vec!["wang@example.gov.cn"]
    );
    assert!(
        tx.queue_user_emails("urban").await.unwrap().is_empty(),
        "left the queue"
    );
    tx.rollback().await.unwrap();
    let wang = store.user("wang").await.unwrap().unwrap();
    assert_eq!(wang.roles, vec!["investigator"]);
    assert_eq!(wang.queues, vec![membership("env", true)]);
    assert!(wang.disabled);
    assert_eq!(wang.password_hash.as_deref(), Some("$argon2id$new"));
}

async fn failed_logins_lock_until_cleared(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    add_user(store, user("li", &["triage"], vec![])).await;
    let mut tx = store.begin_decision().await.unwrap();
    let mut seen = Vec::new();
    for n in 0..4 {
        let at = format!("2026-01-05T09:00:0{n}.000000Z");
        seen.push(tx.record_failed_login("li", 3, &at).await.unwrap().unwrap());
    }
    assert_eq!(
        tx.record_failed_login("nobody", 3, "t").await.unwrap(),
        None
    );
    tx.commit().await.unwrap();
    assert_eq!(seen, vec![(1, false), (2, false), (3, true), (4, true)]);
    let li = store.user("li").await.unwrap().unwrap();
    assert_eq!(li.failed_logins, 4);
    assert_eq!(
        li.locked_at.as_deref(),
        Some("2026-01-05T09:00:02.000000Z"),
        "locked when the bound was reached, not later"
    );
    let mut tx = store.begin_decision().await.unwrap();
    assert!(tx.clear_failed_logins("li").await.unwrap());
    tx.commit().await.unwrap();
    let li = store.user("li").await.unwrap().unwrap();
    assert_eq!((li.failed_logins, li.locked_at), (0, None));
}

async fn tokens_and_sessions(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    add_user(store, user("zhao", &["supervisor"], vec![])).await;
    let token = |id: &str, at: &str| NewToken {
        id: id.into(),
        user: "zhao".into(),
        name: format!("label {id}"),
        hash: format!("$argon2id$hash-of-{id}"),
        created_at: at.into(),
        expires_at: Some("2027-01-01T00:00:00.000000Z".into()),
    };
    let mut tx = store.begin_decision().await.unwrap();
    tx.add_token(&token("t1", "2026-01-05T09:00:00.000000Z"))
        .await
        .unwrap();
    tx.add_token(&token("t2", "2026-01-06T09:00:00.000000Z"))
        .await
        .unwrap();
    let duplicate = tx
        .add_token(&token("t1", "2026-01-07T09:00:00.000000Z"))
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
    tx.rollback().await.unwrap();
    let listed = store.tokens(Some("zhao")).await.unwrap();
    assert!(listed.is_empty(), "rolled back: {listed:?}");

    let mut tx = store.begin_decision().await.unwrap();
    tx.add_token(&token("t1", "2026-01-05T09:00:00.000000Z"))
        .await
        .unwrap();
    tx.add_token(&token("t2", "2026-01-06T09:00:00.000000Z"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let ids: Vec<String> = store
        .tokens(None)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, vec!["t2", "t1"], "newest first");
    let mut tx = store.begin_decision().await.unwrap();
    assert!(
        tx.revoke_token("t1", "2026-02-01T00:00:00.000000Z")
            .await
            .unwrap()
    );
    assert!(
        !tx.revoke_token("t1", "2026-02-02T00:00:00.000000Z")
            .await
            .unwrap(),
        "already revoked"
    );
    tx.touch_token("t2", "2026-02-03T00:00:00.000000Z")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let t1 = store.token("t1").await.unwrap().unwrap();
    assert_eq!(
        t1.revoked_at.as_deref(),
        Some("2026-02-01T00:00:00.000000Z")
    );
    assert_eq!(t1.hash, "$argon2id$hash-of-t1");
    let t2 = store.token("t2").await.unwrap().unwrap();
    assert_eq!(
        t2.last_used_at.as_deref(),
        Some("2026-02-03T00:00:00.000000Z")
    );
    assert_eq!(store.token("t3").await.unwrap(), None);

    let session = |id: &str| SessionRecord {
        id_hash: id.into(),
        user: "zhao".into(),
        csrf: format!("csrf-{id}"),
        created_at: "2026-01-05T09:00:00.000000Z".into(),
        last_seen_at: "2026-01-05T09:00:00.000000Z".into(),
        expires_at: "2026-01-05T21:00:00.000000Z".into(),
    };
    let mut tx = store.begin_decision().await.unwrap();
    for id in ["s1", "s2", "s3"] {
        tx.add_session(&session(id)).await.unwrap();
    }
    tx.touch_session("s1", "2026-01-05T10:00:00.000000Z")
        .await
        .unwrap();
    assert!(tx.delete_session("s3").await.unwrap());
    assert!(!tx.delete_session("s3").await.unwrap());
    tx.commit().await.unwrap();
    let s1 = store.session("s1").await.unwrap().unwrap();
    assert_eq!(s1.last_seen_at, "2026-01-05T10:00:00.000000Z");
    assert_eq!(s1.csrf, "csrf-s1");
    assert_eq!(store.session("s3").await.unwrap(), None);
    let mut tx = store.begin_decision().await.unwrap();
    assert_eq!(tx.delete_user_sessions("zhao").await.unwrap(), 2);
    tx.commit().await.unwrap();
    assert_eq!(store.session("s1").await.unwrap(), None);
}

fn event(actor: &str, action: &str, case_id: Option<&str>, complaints: &[&str]) -> NewAuditEvent {
    NewAuditEvent {
        at: "2026-01-05T09:00:00.000000Z".into(),
        actor: actor.into(),
        action: action.into(),
        case_id: case_id.map(str::to_string),
        complaint_ids: complaints.iter().map(|c| c.to_string()).collect(),
        detail: r#"{"note":"测试"}"#.into(),
    }
}

async fn verify(store: &Store) -> u64 {
    let mut check = ChainCheck::default();
    let mut after = 0;
    loop {
        let page = store.audit_chain(after, 2).await.unwrap();
        let Some(last) = page.last() else {
            return check.checked();
        };
        after = last.seq;
        for record in &page {
            check.next(record).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

async fn audit_entries_form_one_chain(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    assert_eq!(verify(store).await, 0, "an empty record verifies");
    let mut tx = store.begin_decision().await.unwrap();
    tx.append_audit(&[
        event("wang", "case.merge", Some("case-1"), &[]),
        event("wang", "case.status", Some("case-1"), &[]),
    ])
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // A rolled-back decision leaves no entry and no gap.
    let mut tx = store.begin_decision().await.unwrap();
    tx.append_audit(&[event("li", "case.split", Some("case-9"), &[])])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    // Entries through the intake writer continue the same chain.
    store
        .submit(WriteBatch {
            audit: vec![
                event("li", "personal_data.view", None, &["c1", "c2"]),
                event("zhao", "personal_data.view", None, &["c2"]),
            ],
            ..WriteBatch::default()
        })
        .await
        .unwrap();
    let mut tx = store.begin_decision().await.unwrap();
    tx.append_audit(&[event("system:assign", "case.assign", Some("case-2"), &[])])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(verify(store).await, 5);

    let all = store
        .audit_entries(&AuditFilter {
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let seqs: Vec<i64> = all.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert_eq!(all[2].event.complaint_ids, vec!["c1", "c2"]);
    assert_eq!(all[0].event.detail, r#"{"note":"测试"}"#);
    let find = |filter: AuditFilter| async move {
        store
            .audit_entries(&AuditFilter {
                limit: 100,
                ..filter
            })
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>()
    };
    let by = |actor: &str| AuditFilter {
        actor: Some(actor.into()),
        ..AuditFilter::default()
    };
    assert_eq!(find(by("wang")).await, vec![1, 2]);
    let about_case = AuditFilter {
        case_id: Some("case-1".into()),
        action: Some("case.status".into()),
        ..AuditFilter::default()
    };
    assert_eq!(find(about_case).await, vec![2]);
    let about_complaint = AuditFilter {
        complaint_id: Some("c2".into()),
        ..AuditFilter::default()
    };
    assert_eq!(find(about_complaint).await, vec![3, 4]);
    let page = AuditFilter {
        after_seq: 3,
        limit: 1,
        ..AuditFilter::default()
    };
    assert_eq!(
        store
            .audit_entries(&page)
            .await
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>(),
        vec![4]
    );
    let window = AuditFilter {
        since: Some("2026-01-05T09:00:00.000000Z".into()),
        until: Some("2026-01-05T08:00:00.000000Z".into()),
        ..AuditFilter::default()
    };
    assert!(find(window).await.is_empty());
}

async fn concurrent_appenders_keep_the_chain(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let decisions = async {
        for n in 0..20 {
            let mut tx = store.begin_decision().await.unwrap();
            tx.append_audit(&[event(
                "wang",
                "case.status",
                Some(&format!("case-{n}")),
                &[],
            )])
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
    };
    let views = async {
        for n in 0..20 {
            store
                .submit(WriteBatch {
                    audit: vec![event("li", "personal_data.view", None, &[&format!("c{n}")])],
                    ..WriteBatch::default()
                })
                .await
                .unwrap();
        }
    };
    tokio::join!(decisions, views);
    assert_eq!(verify(store).await, 40);
}
