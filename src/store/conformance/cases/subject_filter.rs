//! Conformance: the case list's `subject` filter (the cases with a queue as an active
//! recorded subject).

use crate::store::cases::CaseFilter;

/// `subject`: the cases with that queue as an active recorded subject (a removed one is not).
pub async fn lists_cases_about_a_unit(
    store: &crate::store::Store,
    all: CaseFilter<'_>,
    case: &str,
) {
    use crate::store::subjects::{NewSubject, ORIGIN_STAFF, SubjectRemoval};
    let about = |queue| CaseFilter {
        subject: Some(queue),
        ..all
    };
    let ids = |cases: Vec<crate::store::cases::CaseSummary>| -> Vec<String> {
        cases.into_iter().map(|s| s.id).collect()
    };
    let mut tx = store.begin_decision().await.unwrap();
    for queue in ["finance", "audit"] {
        tx.name_subject(&NewSubject {
            case_id: case,
            queue,
            origin: ORIGIN_STAFF,
            by: "triage1",
            at: "2024-05-02T00:00:00.000000Z",
            note: None,
        })
        .await
        .unwrap();
    }
    tx.remove_subject(&SubjectRemoval {
        case_id: case,
        queue: "audit",
        origin_if_absent: None,
        by: "triage1",
        at: "2024-05-02T00:00:00.000000Z",
        note: None,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        ids(store.list_cases(about("finance")).await.unwrap()),
        [case]
    );
    assert!(store.list_cases(about("audit")).await.unwrap().is_empty());
    assert!(store.list_cases(about("fin")).await.unwrap().is_empty());
}
