//! Conformance: the Open311 server's clients and filings — a client is found by its key id and
//! listed by name, a taken name is a conflict, disabling is once; a filing is recorded once
//! (a repeated POST changes nothing), found by complaint id and by token only for its own
//! client, and listed newest first within the window, by service code, up to the limit.

use super::{Open, complaint, item, store_new};
use crate::store::StoreError;
use crate::store::open311::{FilingFilter, Open311Client, Open311Filing};

/// Runs every check of this area on fresh stores from `open`.
pub async fn run(open: Open) {
    clients_are_found_by_key_and_disabled_once(open).await;
    filings_are_recorded_once_and_read_only_by_their_client(open).await;
    a_rolled_back_registration_leaves_nothing(open).await;
}

fn client(name: &str, key_id: &str) -> Open311Client {
    Open311Client {
        name: name.into(),
        key_id: key_id.into(),
        key_hash: format!("$argon2id$hash-of-{name}"),
        created_at: "2026-12-01T08:00:00.000000Z".into(),
        created_by: "admin".into(),
        disabled_at: None,
    }
}

fn filing(complaint_id: &str, client: &str, token: &str, code: &str, ms: i64) -> Open311Filing {
    Open311Filing {
        complaint_id: complaint_id.into(),
        client: client.into(),
        token: token.into(),
        service_code: code.into(),
        filed_ms: ms,
    }
}

async fn clients_are_found_by_key_and_disabled_once(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    assert!(store.open311_clients().await.unwrap().is_empty());
    let mut tx = store.begin_decision().await.unwrap();
    tx.add_open311_client(&client("zeta-app", "keyzeta00001"))
        .await
        .unwrap();
    tx.add_open311_client(&client("alpha-app", "keyalpha0001"))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let names: Vec<String> = store
        .open311_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["alpha-app", "zeta-app"]);
    let found = store.open311_client_by_key("keyzeta00001").await.unwrap();
    assert_eq!(found, Some(client("zeta-app", "keyzeta00001")));
    assert_eq!(
        store.open311_client_by_key("nosuchkey000").await.unwrap(),
        None
    );

    let mut tx = store.begin_decision().await.unwrap();
    let taken = tx
        .add_open311_client(&client("alpha-app", "keyother0001"))
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    drop(tx);

    let mut tx = store.begin_decision().await.unwrap();
    assert!(
        tx.disable_open311_client("alpha-app", "2026-12-02T00:00:00Z")
            .await
            .unwrap()
    );
    assert!(
        !tx.disable_open311_client("alpha-app", "2026-12-03T00:00:00Z")
            .await
            .unwrap()
    );
    assert!(
        !tx.disable_open311_client("nobody", "2026-12-03T00:00:00Z")
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let alpha = store
        .open311_client_by_key("keyalpha0001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alpha.disabled_at.as_deref(), Some("2026-12-02T00:00:00Z"));
}

async fn filings_are_recorded_once_and_read_only_by_their_client(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let ids = store_new(
        store,
        vec![
            complaint("open311:a", item("a-1", "路灯不亮")),
            complaint("open311:a", item("a-2", "审批拖延")),
            complaint("open311:a", item("a-3", "窗口态度差")),
            complaint("open311:b", item("b-1", "乱收费")),
        ],
    )
    .await;
    let id = |i: usize| ids[i].0.clone();
    let mut tx = store.begin_decision().await.unwrap();
    tx.add_open311_client(&client("a", "keya00000001"))
        .await
        .unwrap();
    tx.add_open311_client(&client("b", "keyb00000001"))
        .await
        .unwrap();
    assert!(
        tx.record_open311_filing(&filing(&id(0), "a", "tok-a1", "general", 1_000))
            .await
            .unwrap()
    );
    assert!(
        tx.record_open311_filing(&filing(&id(1), "a", "tok-a2", "approval_delay", 2_000))
            .await
            .unwrap()
    );
    assert!(
        tx.record_open311_filing(&filing(&id(2), "a", "tok-a3", "general", 3_000))
            .await
            .unwrap()
    );
    assert!(
        tx.record_open311_filing(&filing(&id(3), "b", "tok-b1", "general", 2_500))
            .await
            .unwrap()
    );
    // A repeated POST of the same complaint changes nothing.
    assert!(
        !tx.record_open311_filing(&filing(&id(0), "a", "tok-other", "other", 9_000))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    let all = FilingFilter {
        client: "a",
        service_code: None,
        from_ms: 0,
        to_ms: i64::MAX,
        limit: 10,
    };
    let listed = |filings: Vec<Open311Filing>| -> Vec<String> {
        filings.into_iter().map(|f| f.token).collect()
    };
    assert_eq!(
        listed(store.open311_filings(&all).await.unwrap()),
        ["tok-a3", "tok-a2", "tok-a1"],
        "newest first, only the client's own"
    );
    let window = FilingFilter {
        from_ms: 1_500,
        to_ms: 3_000,
        ..all.clone()
    };
    assert_eq!(
        listed(store.open311_filings(&window).await.unwrap()),
        ["tok-a3", "tok-a2"]
    );
    let general = FilingFilter {
        service_code: Some("general"),
        ..all.clone()
    };
    assert_eq!(
        listed(store.open311_filings(&general).await.unwrap()),
        ["tok-a3", "tok-a1"]
    );
    let one = FilingFilter {
        limit: 1,
        ..all.clone()
    };
    assert_eq!(
        listed(store.open311_filings(&one).await.unwrap()),
        ["tok-a3"]
    );

    let mine = store.open311_filing("a", &id(0)).await.unwrap().unwrap();
    assert_eq!(mine, filing(&id(0), "a", "tok-a1", "general", 1_000));
    assert_eq!(
        store.open311_filing("b", &id(0)).await.unwrap(),
        None,
        "not b's"
    );
    assert_eq!(
        store
            .open311_filing_by_token("a", "tok-a2")
            .await
            .unwrap()
            .map(|f| f.complaint_id),
        Some(id(1))
    );
    assert_eq!(
        store.open311_filing_by_token("b", "tok-a2").await.unwrap(),
        None
    );
}

async fn a_rolled_back_registration_leaves_nothing(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut tx = store.begin_decision().await.unwrap();
    tx.add_open311_client(&client("gone", "keygone00001"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(store.open311_clients().await.unwrap().is_empty());
    assert_eq!(
        store.open311_client_by_key("keygone00001").await.unwrap(),
        None
    );
}
