//! Conformance: what an incremental case refresh reads — the rows of existing cases, and
//! which complainants a case already has a member from.

use std::collections::BTreeSet;

use super::fixtures::{case_row, commit, complaints, member};
use crate::store::conformance::Fixture;

pub async fn rows_and_present_complainants_are_read(fixture: Fixture) {
    let store = &fixture.store;
    let c = complaints(store, &[Some("a"), Some("b"), None]).await;
    let (a, b) = (c[0].0.clone(), c[2].0.clone());
    let mut tx = store.begin_derived().await.unwrap();
    // Members 0 and 1 have the complainant "same-person", member 2 none.
    tx.upsert_members(&[
        member(0, &c[0], &a),
        member(1, &c[1], &a),
        member(2, &c[2], &b),
    ])
    .await
    .unwrap();
    let row = case_row(&a, "A", 100, 2);
    tx.upsert_cases(std::slice::from_ref(&row)).await.unwrap();
    let ids = BTreeSet::from([a.clone(), b.clone()]);
    let rows = tx.case_rows(&ids).await.unwrap();
    assert_eq!(rows, [row], "only the cases with a row, as written");
    assert!(tx.case_rows(&BTreeSet::new()).await.unwrap().is_empty());

    let pair = |case: &str, who: &str| (case.to_string(), who.to_string());
    let asked = BTreeSet::from([
        pair(&a, "same-person"),
        pair(&a, "someone-else"),
        pair(&b, "same-person"),
        pair("nobody", "same-person"),
    ]);
    let present = tx.complainants_present(&asked).await.unwrap();
    assert_eq!(
        present,
        BTreeSet::from([pair(&a, "same-person")]),
        "only a pair with a member of that case and that complainant"
    );
    assert!(
        tx.complainants_present(&BTreeSet::new())
            .await
            .unwrap()
            .is_empty()
    );
    commit(tx).await;
}
