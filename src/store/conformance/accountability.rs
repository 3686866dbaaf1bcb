//! Conformance: 责任追究 accountability records — stored in a decision transaction and read
//! back per case with every field; an edit replaces what a record says and remembers who; a
//! withdrawn record stays readable in the transaction but is listed and counted nowhere, and
//! cannot be edited or withdrawn again; lists and counts by decision date (`[from, to)`) and
//! unit; a rolled-back record leaves nothing.

use super::Open;
use super::cases::fixtures::{at, commit};
use crate::store::accountability::{AccountabilityFields, AccountabilityFilter, NewAccountability};
use crate::store::format_utc;

/// Runs every check of this area on fresh stores from `open`.
pub async fn run(open: Open) {
    records_are_kept_edited_and_withdrawn(open).await;
    lists_and_counts_follow_the_decision_date_and_unit(open).await;
    a_rolled_back_record_leaves_nothing(open).await;
}

fn fields(unit: &str, measure: &str, decided_on: &str) -> AccountabilityFields {
    AccountabilityFields {
        unit: unit.into(),
        role: "窗口科室负责人".into(),
        measure: measure.into(),
        decided_on: decided_on.into(),
        deciding_body: "市监察局".into(),
        note: Some("审批超期未办".into()),
    }
}

fn new(case_id: &str, fields: AccountabilityFields, n: usize) -> NewAccountability {
    NewAccountability {
        case_id: case_id.into(),
        fields,
        recorded_by: "jian".into(),
        recorded_at: format_utc(at(n)),
    }
}

async fn records_are_kept_edited_and_withdrawn(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let first = new("c1", fields("finance", "效能告诫", "2026-03-02"), 1);
    let mut second = new("c1", fields("personnel", "通报批评", "2026-03-03"), 2);
    second.fields.note = None;
    let mut tx = store.begin_decision().await.unwrap();
    let a = tx.add_accountability(&first).await.unwrap();
    let b = tx.add_accountability(&second).await.unwrap();
    tx.add_accountability(&new("c2", fields("finance", "其他", "2026-03-04"), 3))
        .await
        .unwrap();
    commit(tx).await;
    assert!(b > a);
    let listed = store.case_accountability("c1").await.unwrap();
    assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), [a, b]);
    assert_eq!(listed[0].record, first);
    assert_eq!(listed[1].record, second);
    assert_eq!(
        (
            listed[0].updated_by.as_deref(),
            listed[0].withdrawn_at.as_deref()
        ),
        (None, None)
    );

    let edited = fields("finance", "诫勉谈话", "2026-03-05");
    let at_edit = format_utc(at(5));
    let mut tx = store.begin_decision().await.unwrap();
    assert!(
        tx.update_accountability(a, &edited, "chen", &at_edit)
            .await
            .unwrap()
    );
    assert!(
        !tx.update_accountability(9999, &edited, "chen", &at_edit)
            .await
            .unwrap()
    );
    commit(tx).await;
    let listed = store.case_accountability("c1").await.unwrap();
    assert_eq!(listed[0].record.fields, edited);
    assert_eq!(listed[0].record.recorded_by, "jian", "the recorder stays");
    assert_eq!(listed[0].updated_by.as_deref(), Some("chen"));
    assert_eq!(listed[0].updated_at.as_deref(), Some(at_edit.as_str()));

    let at_withdraw = format_utc(at(6));
    let mut tx = store.begin_decision().await.unwrap();
    assert!(
        tx.withdraw_accountability(b, "chen", &at_withdraw)
            .await
            .unwrap()
    );
    assert!(
        !tx.withdraw_accountability(b, "chen", &at_withdraw)
            .await
            .unwrap()
    );
    assert!(
        !tx.update_accountability(b, &edited, "chen", &at_withdraw)
            .await
            .unwrap()
    );
    let seen = tx.accountability_record(b).await.unwrap().expect("kept");
    assert_eq!(seen.withdrawn_by.as_deref(), Some("chen"));
    assert_eq!(
        seen.record.fields, second.fields,
        "a withdrawn record is not changed"
    );
    assert!(tx.accountability_record(9999).await.unwrap().is_none());
    commit(tx).await;
    let listed = store.case_accountability("c1").await.unwrap();
    assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), [a]);
    assert_eq!(store.case_accountability("c2").await.unwrap().len(), 1);
    assert!(store.case_accountability("c3").await.unwrap().is_empty());
}

async fn lists_and_counts_follow_the_decision_date_and_unit(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let records = [
        ("c1", "finance", "效能告诫", "2026-02-28"),
        ("c1", "finance", "效能告诫", "2026-03-01"),
        ("c2", "finance", "效能告诫", "2026-03-15"),
        ("c2", "finance", "通报批评", "2026-03-31"),
        ("c3", "personnel", "效能告诫", "2026-03-10"),
        ("c3", "personnel", "调离岗位", "2026-04-01"),
        ("c4", "personnel", "移送纪检监察", "2026-03-20"),
    ];
    let mut tx = store.begin_decision().await.unwrap();
    let mut ids = Vec::new();
    for (n, (case, unit, measure, on)) in records.iter().enumerate() {
        let id = tx
            .add_accountability(&new(case, fields(unit, measure, on), n))
            .await
            .unwrap();
        ids.push(id);
    }
    // The last one (移送纪检监察, in March) is withdrawn: counted nowhere.
    tx.withdraw_accountability(ids[6], "chen", &format_utc(at(9)))
        .await
        .unwrap();
    commit(tx).await;

    let counts = store
        .accountability_counts("2026-03-01", "2026-04-01")
        .await
        .unwrap();
    let seen: Vec<(&str, &str, i64)> = counts
        .iter()
        .map(|c| (c.unit.as_str(), c.measure.as_str(), c.records))
        .collect();
    assert_eq!(
        seen,
        [
            ("finance", "效能告诫", 2),
            ("finance", "通报批评", 1),
            ("personnel", "效能告诫", 1),
        ]
    );
    assert!(
        store
            .accountability_counts("2026-05-01", "2026-06-01")
            .await
            .unwrap()
            .is_empty()
    );

    let march = AccountabilityFilter {
        from: Some("2026-03-01"),
        to: Some("2026-04-01"),
        unit: None,
        limit: 100,
    };
    let listed = store.accountability_records(&march).await.unwrap();
    assert_eq!(
        listed.iter().map(|r| r.id).collect::<Vec<_>>(),
        [ids[1], ids[4], ids[2], ids[3]],
        "by decision date"
    );
    let finance = AccountabilityFilter {
        unit: Some("personnel"),
        ..march.clone()
    };
    let listed = store.accountability_records(&finance).await.unwrap();
    assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), [ids[4]]);
    let everything = AccountabilityFilter {
        limit: 3,
        ..AccountabilityFilter::default()
    };
    let listed = store.accountability_records(&everything).await.unwrap();
    assert_eq!(
        listed.iter().map(|r| r.id).collect::<Vec<_>>(),
        [ids[0], ids[1], ids[4]],
        "no bound, the limit kept"
    );
}

async fn a_rolled_back_record_leaves_nothing(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut tx = store.begin_decision().await.unwrap();
    tx.add_accountability(&new("c1", fields("finance", "其他", "2026-03-02"), 1))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(store.case_accountability("c1").await.unwrap().is_empty());
}
