use std::sync::{Arc, Mutex};

use chrono::Utc;
use connectors::item::ParseOptions;
use connectors::{Channel, Item};
use serde_json::json;

use super::*;
use crate::store::{CommitSettings, NewComplaint, WriteBatch, WriteOp};

/// Records the sequence numbers it sees and how often it was reset.
struct Recorder {
    seen: Arc<Mutex<Vec<i64>>>,
    resets: Arc<Mutex<u32>>,
}

impl Stage for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }
    fn process<'a>(
        &'a mut self,
        batch: &'a mut [Complaint],
        _tx: &'a mut SqliteConnection,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        self.seen
            .lock()
            .unwrap()
            .extend(batch.iter().map(|c| c.seq));
        Box::pin(async { Ok(()) })
    }
    fn reset<'a>(
        &'a mut self,
        _tx: &'a mut SqliteConnection,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        *self.resets.lock().unwrap() += 1;
        Box::pin(async { Ok(()) })
    }
}

async fn add(store: &Store, external_id: &str, body: &str) {
    let item = Item::from_value(
        json!({"external_id": external_id, "body": body}),
        &ParseOptions::default(),
    )
    .unwrap();
    let mut complaint = NewComplaint::new(
        "t",
        Channel::Online,
        item,
        b"{}".to_vec(),
        "application/json".into(),
        Utc::now(),
    );
    // As if stored by an older normaliser.
    complaint.text_norm = "stale".into();
    let op = WriteOp::Complaint(complaint);
    store
        .writer()
        .submit(WriteBatch {
            ops: vec![op],
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn follows_the_store_once_in_order_and_replays_on_reprocess() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), CommitSettings::default())
        .await
        .unwrap();
    for n in 0..3 {
        add(&store, &n.to_string(), &format!("投诉{n}")).await;
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let resets = Arc::new(Mutex::new(0));
    let recorder = Recorder {
        seen: seen.clone(),
        resets: resets.clone(),
    };
    let mut pipeline = Pipeline::with_stages(vec![
        Box::new(NormalizeStage::default()),
        Box::new(recorder),
    ]);
    let lock = PipelineLock::try_acquire(dir.path()).unwrap().unwrap();
    assert!(
        PipelineLock::try_acquire(dir.path()).unwrap().is_none(),
        "one holder at a time"
    );

    assert_eq!(
        pipeline
            .run_pending(&store, &lock, &mut |_| {})
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        pipeline
            .run_pending(&store, &lock, &mut |_| {})
            .await
            .unwrap(),
        0
    );
    assert_eq!(Pipeline::cursor(&store).await.unwrap(), 3);
    // Live processing trusts intake's matching text...
    let record = store
        .complaint_by_external_id("t", "0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.text_norm, "stale");

    // A revision gets a new sequence number and is processed again.
    add(&store, "1", "投诉1（补充材料）").await;
    assert_eq!(
        pipeline
            .run_pending(&store, &lock, &mut |_| {})
            .await
            .unwrap(),
        1
    );
    assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3, 4]);

    let mut progress = Vec::new();
    assert_eq!(
        pipeline
            .reprocess(&store, &lock, &mut |n| progress.push(n))
            .await
            .unwrap(),
        3
    );
    assert_eq!(*resets.lock().unwrap(), 1);
    assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3, 4, 1, 3, 4]);
    assert_eq!(progress.last(), Some(&3));
    // ...and a reprocess recomputes it.
    let record = store
        .complaint_by_external_id("t", "0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.text_norm, "投诉0");
    drop(lock);
    assert!(
        PipelineLock::try_acquire(dir.path()).unwrap().is_some(),
        "released on drop"
    );
    store.close().await;
}
