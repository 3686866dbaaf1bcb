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
        _tx: &'a mut dyn DerivedTx,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        self.seen
            .lock()
            .unwrap()
            .extend(batch.iter().map(|c| c.seq));
        Box::pin(async { Ok(()) })
    }
    fn reset<'a>(
        &'a mut self,
        _tx: &'a mut dyn DerivedTx,
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
    let complaint = NewComplaint::new(
        "t",
        Channel::Online,
        item,
        b"{}".to_vec(),
        "application/json".into(),
        Utc::now(),
        chrono::Duration::days(1),
    );
    let op = WriteOp::Complaint(complaint);
    store
        .submit(WriteBatch {
            ops: vec![op],
            ..Default::default()
        })
        .await
        .unwrap();
    // As if stored by an older normaliser.
    let id = store
        .complaint_by_external_id("t", external_id)
        .await
        .unwrap()
        .unwrap()
        .id;
    let mut tx = store.begin_derived().await.unwrap();
    tx.set_text_norm(&id, "stale").await.unwrap();
    tx.commit().await.unwrap();
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

/// Computes each complaint's body length, ahead (precompute) when the pipeline offers it.
#[derive(Default)]
struct Lengths {
    prepared: Option<(BatchKey, std::collections::HashMap<i64, usize>)>,
    adopted: Arc<Mutex<Vec<i64>>>,
    results: Arc<Mutex<Vec<(i64, usize)>>>,
}

fn lengths(batch: &[Complaint]) -> std::collections::HashMap<i64, usize> {
    batch
        .iter()
        .map(|c| (c.seq, c.body.chars().count()))
        .collect()
}

impl Stage for Lengths {
    fn name(&self) -> &'static str {
        "lengths"
    }
    fn precompute(&self) -> Option<Precompute> {
        Some(Arc::new(|batch: &[Complaint]| {
            Box::new(lengths(batch)) as Box<dyn Any + Send>
        }))
    }
    fn adopt(&mut self, key: BatchKey, precomputed: Box<dyn Any + Send>) {
        let map = precomputed
            .downcast::<std::collections::HashMap<i64, usize>>()
            .expect("this stage's own result");
        self.adopted.lock().unwrap().extend(key.iter().copied());
        self.prepared = Some((key, *map));
    }
    fn prepare<'a>(
        &'a mut self,
        batch: &'a mut [Complaint],
        _store: &'a Store,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        if !matches!(&self.prepared, Some((key, _)) if *key == batch_key(batch)) {
            self.prepared = Some((batch_key(batch), lengths(batch)));
        }
        Box::pin(async { Ok(()) })
    }
    fn process<'a>(
        &'a mut self,
        batch: &'a mut [Complaint],
        _tx: &'a mut dyn DerivedTx,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        let (key, map) = self.prepared.take().expect("prepared");
        assert_eq!(key, batch_key(batch), "prepared for this batch");
        self.results
            .lock()
            .unwrap()
            .extend(batch.iter().map(|c| (c.seq, map[&c.seq])));
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_batches_read_and_precompute_the_next_batch_while_writing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), CommitSettings::default())
        .await
        .unwrap();
    let bodies: Vec<String> = (1..=7).map(|n| "投诉".repeat(n)).collect();
    for (n, body) in bodies.iter().enumerate() {
        add(&store, &n.to_string(), body).await;
    }
    let stage = Lengths::default();
    let (adopted, results) = (stage.adopted.clone(), stage.results.clone());
    let mut pipeline = Pipeline::with_stages(vec![Box::new(stage)]);
    pipeline.set_batch_size(2);
    let lock = PipelineLock::try_acquire(dir.path()).unwrap().unwrap();
    let done = pipeline
        .run_pending(&store, &lock, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(done, 7);
    assert_eq!(Pipeline::cursor(&store).await.unwrap(), 7);
    // Every complaint once, in order, with its own value.
    let expected: Vec<(i64, usize)> = (1..=7).map(|n| (n as i64, 2 * n)).collect();
    assert_eq!(*results.lock().unwrap(), expected);
    // The first batch is read and prepared in line; each batch after a full one was read
    // and computed ahead, while its predecessor wrote.
    assert_eq!(*adopted.lock().unwrap(), vec![3, 4, 5, 6, 7]);
    store.close().await;
}

/// The derived fields of every complaint, with case ids as the founders' external ids (ids
/// differ between stores).
async fn derived_by_external_id(store: &Store) -> Vec<(String, Option<String>, String)> {
    use futures::TryStreamExt;
    let complaints: Vec<_> = store.export_stream().try_collect().await.unwrap();
    let mut derived = Vec::new();
    for complaint in complaints {
        let Some(classification) = store.classification(&complaint.id).await.unwrap() else {
            continue;
        };
        let founder = match &complaint.facets.case_id {
            Some(case) => store
                .complaint(case)
                .await
                .unwrap()
                .map(|founder| founder.external_id),
            None => None,
        };
        let facets = &complaint.facets;
        let fields = format!(
            "{}|{}|{}",
            facets.category.as_deref().unwrap_or_default(),
            facets.queue.as_deref().unwrap_or_default(),
            serde_json::to_string(&classification.top).unwrap()
        );
        derived.push((complaint.external_id, founder, fields));
    }
    derived
}

/// Imports the classifier's Chinese fixture with a model trained on it, and runs the standard
/// pipeline in batches of `batch`.
async fn standard_pipeline_in_batches_of(batch: i64) -> Vec<(String, Option<String>, String)> {
    use chrono::TimeZone;
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::config::Config::load(None).unwrap();
    config.data_dir = dir.path().to_path_buf();
    let at = Utc.with_ymd_and_hms(2024, 5, 20, 8, 30, 0).unwrap();
    let model = crate::classify::train(
        &crate::classify::fixtures::zh(),
        &crate::classify::fixtures::small_config(),
        at,
        &|_| {},
    )
    .unwrap();
    crate::classify::ModelDirectory::open(&crate::routing::model_dir(dir.path()))
        .unwrap()
        .save_and_activate(&model)
        .unwrap();
    let store = Store::open(dir.path(), CommitSettings::default())
        .await
        .unwrap();
    let items = connectors::tabular::read_table(
        crate::classify::fixtures::ZH_JSONL.as_bytes(),
        connectors::tabular::TableFormat::Jsonl,
        &connectors::tabular::ColumnMap::new(),
        &config.parse_options(),
    )
    .unwrap();
    let origin = crate::intake::Origin {
        source: "t".into(),
        channel: Channel::Online,
        historical: false,
    };
    crate::intake::ingest(&store, &origin, items, None)
        .await
        .unwrap();
    let lock = PipelineLock::try_acquire(dir.path()).unwrap().unwrap();
    let mut pipeline = Pipeline::standard(&config).unwrap();
    pipeline.set_batch_size(batch);
    pipeline
        .run_pending(&store, &lock, &mut |_| {})
        .await
        .unwrap();
    let derived = derived_by_external_id(&store).await;
    store.close().await;
    derived
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grouping_and_classification_computed_ahead_match_those_computed_in_line() {
    let in_line = standard_pipeline_in_batches_of(1000).await;
    let ahead = standard_pipeline_in_batches_of(3).await;
    assert!(in_line.len() > 6, "the fixture spans several batches");
    assert!(
        in_line
            .iter()
            .all(|(_, case, top)| case.is_some() && top.len() > 4),
        "every complaint grouped and classified: {in_line:?}"
    );
    assert_eq!(ahead, in_line);
}
