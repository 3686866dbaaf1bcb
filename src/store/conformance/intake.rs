//! Conformance: the intake log. Group commit, idempotency (duplicates and re-deliveries),
//! revisions, dead letters kept verbatim once, cursors committed with their items, per-source
//! counts, the commit order of the log (unique, increasing sequence numbers), and the
//! historical flag of an archive load.

use std::collections::HashSet;

use super::{Open, batch, complaint, dead, item};
use crate::store::{DeadLetterFilter, WriteOp, WriteOutcome};

/// Runs every check of this area on fresh stores from `open`.
pub async fn run(open: Open) {
    create_duplicate_and_revision_keep_every_version(open).await;
    dead_letters_are_kept_verbatim_once_and_cursor_commits_with_items(open).await;
    concurrent_submissions_share_commits_and_get_unique_increasing_seqs(open).await;
    one_batch_holding_repeats_behaves_like_separate_deliveries(open).await;
    the_historical_flag_round_trips_and_only_history_keeps_it(open).await;
}

/// `op` as an archive load (`import --historical`) delivers it.
fn historical(mut op: WriteOp) -> WriteOp {
    if let WriteOp::Complaint(c) = &mut op {
        c.historical = true;
    }
    op
}

/// Whether the stored complaint `id` is historical, as the API and the pipeline read it.
async fn is_historical(store: &crate::store::Store, id: &str) -> bool {
    let record = store.complaint(id).await.unwrap().unwrap();
    let logged = store.complaints_after(0, 100).await.unwrap();
    let logged = logged.iter().find(|c| c.id == id).unwrap();
    assert_eq!(record.historical, logged.historical, "one flag for {id}");
    record.historical
}

async fn the_historical_flag_round_trips_and_only_history_keeps_it(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let first = store
        .submit(batch(vec![
            historical(complaint("archive", item("h", "路灯不亮"))),
            complaint("archive", item("l", "噪音扰民")),
        ]))
        .await
        .unwrap();
    let [
        WriteOutcome::Created { id: old, .. },
        WriteOutcome::Created { id: live, .. },
    ] = &first[..]
    else {
        panic!("{first:?}")
    };
    assert!(is_historical(store, old).await);
    assert!(!is_historical(store, live).await);

    // A revision from the archive keeps history historical and a live complaint live.
    store
        .submit(batch(vec![
            historical(complaint("archive", item("h", "路灯不亮，已修"))),
            historical(complaint("archive", item("l", "噪音扰民，夜间"))),
        ]))
        .await
        .unwrap();
    assert!(is_historical(store, old).await);
    assert!(!is_historical(store, live).await);

    // A live delivery of the archived item makes it live.
    store
        .submit(batch(vec![complaint("archive", item("h", "路灯又不亮了"))]))
        .await
        .unwrap();
    assert!(!is_historical(store, old).await);
}

async fn create_duplicate_and_revision_keep_every_version(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let w = &store;
    let first = w
        .submit(batch(vec![complaint("hotline", item("a", "路灯不亮"))]))
        .await
        .unwrap();
    let WriteOutcome::Created { id, seq } = first[0].clone() else {
        panic!("{first:?}")
    };
    assert_eq!(seq, 1);

    let again = w
        .submit(batch(vec![complaint("hotline", item("a", "路灯不亮"))]))
        .await
        .unwrap();
    assert_eq!(again[0], WriteOutcome::Duplicate { id: id.clone() });

    let changed = w
        .submit(batch(vec![complaint(
            "hotline",
            item("a", "路灯不亮，已经一周"),
        )]))
        .await
        .unwrap();
    assert_eq!(
        changed[0],
        WriteOutcome::Revised {
            id: id.clone(),
            revision: 2,
            seq: 2
        }
    );

    // Re-delivery of the first version is recognised, not stored as revision 3.
    let old = w
        .submit(batch(vec![complaint("hotline", item("a", "路灯不亮"))]))
        .await
        .unwrap();
    assert_eq!(old[0], WriteOutcome::Duplicate { id: id.clone() });

    // Same external id from another source is another complaint.
    let other = w
        .submit(batch(vec![complaint("petition", item("a", "路灯不亮"))]))
        .await
        .unwrap();
    assert!(matches!(other[0], WriteOutcome::Created { seq: 3, .. }));

    let current = store.complaint(&id).await.unwrap().unwrap();
    assert_eq!(current.body, "路灯不亮，已经一周");
    assert_eq!(current.revision, 2);
    let revisions = store.revisions(&id).await.unwrap();
    assert_eq!(revisions.len(), 1);
    assert_eq!(revisions[0].body, "路灯不亮");
    assert_eq!(revisions[0].revision, 1);
    assert_eq!(store.complaint_count().await.unwrap(), 2);
}

async fn dead_letters_are_kept_verbatim_once_and_cursor_commits_with_items(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut b = batch(vec![
        complaint("hotline", item("1", "井盖缺失")),
        dead("hotline", b"{oops"),
    ]);
    b.cursor = Some(("hotline".into(), "page=7".into()));
    let outcomes = store.submit(b).await.unwrap();
    let WriteOutcome::DeadLettered {
        id,
        existing: false,
    } = outcomes[1].clone()
    else {
        panic!("{outcomes:?}")
    };
    assert_eq!(
        store.cursor("hotline").await.unwrap().as_deref(),
        Some("page=7")
    );
    let again = store
        .submit(batch(vec![dead("hotline", b"{oops")]))
        .await
        .unwrap();
    assert_eq!(
        again[0],
        WriteOutcome::DeadLettered {
            id: id.clone(),
            existing: true
        }
    );
    let letter = store.dead_letter(&id).await.unwrap().unwrap();
    assert_eq!(letter.raw, b"{oops");
    let (total, listed) = store
        .dead_letters(&DeadLetterFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((total, listed.len()), (1, 1));
}

async fn concurrent_submissions_share_commits_and_get_unique_increasing_seqs(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut tasks = Vec::new();
    for client in 0..32 {
        let writer = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for n in 0..20 {
                let op = complaint(
                    "load",
                    item(
                        &format!("{client}-{n}"),
                        &format!("第{client}号用户第{n}条投诉"),
                    ),
                );
                let outcome = writer.submit(batch(vec![op])).await.unwrap();
                let WriteOutcome::Created { seq, .. } = outcome[0] else {
                    panic!("{outcome:?}")
                };
                seqs.push(seq);
            }
            seqs
        }));
    }
    let mut all = HashSet::new();
    for task in tasks {
        let seqs = task.await.unwrap();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "one client's seqs increase: {seqs:?}"
        );
        all.extend(seqs);
    }
    assert_eq!(all.len(), 640);
    assert_eq!(store.max_seq().await.unwrap(), 640);
    assert_eq!(*store.committed_seq().borrow(), 640);
}

async fn one_batch_holding_repeats_behaves_like_separate_deliveries(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let ops = vec![
        complaint("s", item("k", "第一版")),
        complaint("s", item("k", "第一版")),
        complaint("s", item("k", "第二版")),
        complaint("s", item("k", "第一版")),
        complaint("s", item("j", "另一件")),
        dead("s", b"\xff\xfe"),
        dead("s", b"\xff\xfe"),
    ];
    let out = store.submit(batch(ops)).await.unwrap();
    let WriteOutcome::Created { id, seq: 1 } = out[0].clone() else {
        panic!("{out:?}")
    };
    assert_eq!(out[1], WriteOutcome::Duplicate { id: id.clone() });
    assert_eq!(
        out[2],
        WriteOutcome::Revised {
            id: id.clone(),
            revision: 2,
            seq: 2
        }
    );
    assert_eq!(
        out[3],
        WriteOutcome::Duplicate { id: id.clone() },
        "an earlier version in the same batch"
    );
    assert!(matches!(out[4], WriteOutcome::Created { seq: 3, .. }));
    let WriteOutcome::DeadLettered {
        id: letter,
        existing: false,
    } = out[5].clone()
    else {
        panic!("{out:?}")
    };
    assert_eq!(
        out[6],
        WriteOutcome::DeadLettered {
            id: letter,
            existing: true
        }
    );
    assert_eq!(store.complaint(&id).await.unwrap().unwrap().body, "第二版");
    assert_eq!(store.revisions(&id).await.unwrap()[0].body, "第一版");
    // Counted by source in the same transaction: 2 created, 2 duplicates, 1 revision, 2 dead
    // letters (the second one kept once but counted, as the intake report counts it).
    let counts = store.source_counts().await.unwrap();
    assert_eq!(
        counts["s"],
        connectors::CommitSummary {
            stored: 2,
            duplicates: 2,
            revisions: 1,
            dead_lettered: 2
        }
    );
    // Another commit with two sources adds to the first and starts the second.
    store
        .submit(batch(vec![
            complaint("s", item("k", "第二版")),
            complaint("t", item("k", "别处")),
        ]))
        .await
        .unwrap();
    let counts = store.source_counts().await.unwrap();
    assert_eq!((counts["s"].stored, counts["s"].duplicates), (2, 3));
    assert_eq!((counts["t"].stored, counts["t"].duplicates), (1, 0));
}
