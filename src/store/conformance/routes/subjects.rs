//! Conformance: the subjects of cases. Found subjects are recorded once (a unit already on the
//! case, removed or not, is left as it is); staff name a subject (new, or a removed one made
//! active again) and remove one (a recorded one, or one found on the fly, recorded removed);
//! a reset drops the active found ones and keeps staff's and the removals; a rolled-back
//! transaction leaves nothing.

use crate::store::conformance::Open;
use crate::store::subjects::{
    CaseSubject, NewSubject, ORIGIN_RULE, ORIGIN_STAFF, ORIGIN_TARGET_UNIT, ORIGIN_TEXT,
    SubjectRemoval,
};

const AT: &str = "2026-03-02T08:00:00.000000Z";
const LATER: &str = "2026-03-03T08:00:00.000000Z";

fn found<'a>(case_id: &'a str, queue: &'a str, origin: &'a str) -> NewSubject<'a> {
    NewSubject {
        case_id,
        queue,
        origin,
        by: "system:route",
        at: AT,
        note: None,
    }
}

fn summary(subjects: &[CaseSubject]) -> Vec<(String, String, bool)> {
    subjects
        .iter()
        .map(|s| (s.queue.clone(), s.origin.clone(), s.is_active()))
        .collect()
}

fn row(queue: &str, origin: &str, active: bool) -> (String, String, bool) {
    (queue.to_string(), origin.to_string(), active)
}

/// Runs every check of this part on fresh stores from `open`.
pub async fn run(open: Open) {
    found_subjects_are_recorded_once(open).await;
    staff_name_and_remove_subjects(open).await;
    reset_keeps_what_staff_decided(open).await;
}

async fn found_subjects_are_recorded_once(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut tx = store.begin_derived().await.unwrap();
    let first = [
        found("case-1", "finance", ORIGIN_TARGET_UNIT),
        found("case-1", "audit", ORIGIN_TEXT),
        found("case-2", "audit", ORIGIN_RULE),
    ];
    assert_eq!(tx.record_subjects(&first).await.unwrap(), 3);
    // Found again (another member, a revision): nothing changes, the first origin stays.
    let again = [
        found("case-1", "finance", ORIGIN_TEXT),
        found("case-1", "personnel", ORIGIN_TEXT),
    ];
    assert_eq!(tx.record_subjects(&again).await.unwrap(), 1);
    let seen = tx.cases_subjects(&["case-1", "case-9"]).await.unwrap();
    assert_eq!(seen.len(), 1, "a case without subjects is absent");
    assert_eq!(
        summary(&seen["case-1"]),
        [
            row("audit", ORIGIN_TEXT, true),
            row("finance", ORIGIN_TARGET_UNIT, true),
            row("personnel", ORIGIN_TEXT, true),
        ]
    );
    tx.commit().await.unwrap();
    let case_2 = store.case_subjects("case-2").await.unwrap();
    assert_eq!(summary(&case_2), [row("audit", ORIGIN_RULE, true)]);
    assert_eq!(case_2[0].by, "system:route");
    assert_eq!(case_2[0].at, AT);
    assert!(store.case_subjects("case-9").await.unwrap().is_empty());

    let mut tx = store.begin_derived().await.unwrap();
    tx.record_subjects(&[found("case-3", "audit", ORIGIN_TEXT)])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(store.case_subjects("case-3").await.unwrap().is_empty());
}

async fn staff_name_and_remove_subjects(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut tx = store.begin_decision().await.unwrap();
    tx.record_subjects(&[found("case-1", "audit", ORIGIN_TEXT)])
        .await
        .unwrap();
    let named = NewSubject {
        case_id: "case-1",
        queue: "finance",
        origin: ORIGIN_STAFF,
        by: "triage1",
        at: AT,
        note: Some("the complaint is about the bureau's own staff"),
    };
    assert!(tx.name_subject(&named).await.unwrap());
    assert!(!tx.name_subject(&named).await.unwrap(), "already a subject");
    let remove = |queue, origin_if_absent| SubjectRemoval {
        case_id: "case-1",
        queue,
        origin_if_absent,
        by: "triage2",
        at: LATER,
        note: Some("a false alias match"),
    };
    assert!(tx.remove_subject(&remove("audit", None)).await.unwrap());
    assert!(!tx.remove_subject(&remove("audit", None)).await.unwrap());
    assert!(!tx.remove_subject(&remove("legal", None)).await.unwrap());
    // Found on the fly but never recorded: recorded removed, so it stays corrected.
    assert!(
        tx.remove_subject(&remove("personnel", Some(ORIGIN_TEXT)))
            .await
            .unwrap()
    );
    // Found again by the pipeline: the removal holds.
    tx.record_subjects(&[found("case-1", "audit", ORIGIN_TEXT)])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let subjects = store.case_subjects("case-1").await.unwrap();
    assert_eq!(
        summary(&subjects),
        [
            row("audit", ORIGIN_TEXT, false),
            row("finance", ORIGIN_STAFF, true),
            row("personnel", ORIGIN_TEXT, false),
        ]
    );
    let audit = &subjects[0];
    assert_eq!(audit.removed_by.as_deref(), Some("triage2"));
    assert_eq!(audit.removed_at.as_deref(), Some(LATER));
    assert_eq!(audit.removed_note.as_deref(), Some("a false alias match"));
    assert_eq!(subjects[1].by, "triage1");
    assert_eq!(subjects[1].note.as_deref(), named.note);

    // Named again by staff: active, with the new origin and author.
    let mut tx = store.begin_decision().await.unwrap();
    let renamed = NewSubject {
        queue: "audit",
        by: "triage3",
        at: LATER,
        note: None,
        ..named
    };
    assert!(tx.name_subject(&renamed).await.unwrap());
    tx.commit().await.unwrap();
    let audit = store.case_subjects("case-1").await.unwrap().remove(0);
    assert_eq!(
        (audit.origin.as_str(), audit.by.as_str(), audit.is_active()),
        (ORIGIN_STAFF, "triage3", true)
    );
    assert_eq!(audit.removed_by, None);
    assert_eq!(audit.note, None);
}

async fn reset_keeps_what_staff_decided(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut tx = store.begin_derived().await.unwrap();
    tx.record_subjects(&[
        found("case-1", "audit", ORIGIN_TEXT),
        found("case-1", "finance", ORIGIN_RULE),
    ])
    .await
    .unwrap();
    tx.name_subject(&NewSubject {
        origin: ORIGIN_STAFF,
        by: "triage1",
        ..found("case-1", "personnel", ORIGIN_STAFF)
    })
    .await
    .unwrap();
    tx.remove_subject(&SubjectRemoval {
        case_id: "case-1",
        queue: "finance",
        origin_if_absent: None,
        by: "triage1",
        at: LATER,
        note: None,
    })
    .await
    .unwrap();
    tx.reset_routing().await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        summary(&store.case_subjects("case-1").await.unwrap()),
        [
            row("finance", ORIGIN_RULE, false),
            row("personnel", ORIGIN_STAFF, true),
        ]
    );
}
