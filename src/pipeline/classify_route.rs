//! The classify-and-route stage: predicts each complaint's category with the active model,
//! applies the routing file's rules and routes the complaint's case (or the complaint itself
//! before grouping assigns one). Routed cases of the batch are left in
//! [`ClassifyRouteStage::routed_cases`] for the notify stage, which drains them inside the same
//! transaction. The list is cleared when the next batch starts.
//!
//! The active model version is checked once per batch, so `classifier activate` takes effect
//! on a running gateway without a restart. Without a model every case goes to triage unless a
//! tag routes it.

use std::any::Any;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::store::DerivedTx;
use futures::future::BoxFuture;

use super::{BatchKey, Complaint, PipelineError, Precompute, Stage, batch_key};
use crate::classify::{Model, ModelDirectory};
use crate::routing::decide::{DecideInput, ModelOpinion, decide};
use crate::routing::write;
use crate::routing::{RoutedCase, RoutingConfig, TopLabel};
use crate::store::Store;

/// Classifies and routes every complaint of a batch.
pub struct ClassifyRouteStage {
    config: Arc<RoutingConfig>,
    model_dir: PathBuf,
    model: Option<(u32, Arc<Model>)>,
    routed: Arc<Mutex<Vec<RoutedCase>>>,
    /// Model opinions on the batch prepared last.
    prepared: Option<(BatchKey, Opinions)>,
}

impl ClassifyRouteStage {
    /// A stage routing with `config` and classifying with the active model of `model_dir`.
    pub fn new(config: Arc<RoutingConfig>, model_dir: PathBuf) -> ClassifyRouteStage {
        ClassifyRouteStage {
            config,
            model_dir,
            model: None,
            routed: Arc::default(),
            prepared: None,
        }
    }

    /// The cases routed by the current batch (the seam for the notify stage).
    pub fn routed_cases(&self) -> Arc<Mutex<Vec<RoutedCase>>> {
        self.routed.clone()
    }

    fn stage_error(message: String) -> PipelineError {
        PipelineError::Stage {
            stage: "classify_route",
            message,
        }
    }

    /// Loads the active model when it changed since the last batch.
    fn refresh_model(&mut self) -> Result<(), PipelineError> {
        let store =
            ModelDirectory::open(&self.model_dir).map_err(|e| Self::stage_error(e.to_string()))?;
        let active = store
            .active_version()
            .map_err(|e| Self::stage_error(e.to_string()))?;
        match active {
            None => self.model = None,
            Some(version) if self.model.as_ref().is_some_and(|(v, _)| *v == version) => {}
            Some(version) => {
                let model = store
                    .load(version)
                    .map_err(|e| Self::stage_error(e.to_string()))?;
                tracing::info!(
                    version,
                    labels = model.labels().len(),
                    "classifier model loaded"
                );
                self.model = Some((version, Arc::new(model)));
            }
        }
        Ok(())
    }

    /// The active model's opinion of a complaint.
    fn opinion(&self, complaint: &Complaint) -> Option<ModelOpinion> {
        self.model
            .as_ref()
            .map(|(version, model)| opinion(*version, model, complaint))
    }

    fn model_version(&self) -> Option<u32> {
        self.model.as_ref().map(|(version, _)| *version)
    }
}

/// A model's opinion of a complaint.
fn opinion(version: u32, model: &Model, complaint: &Complaint) -> ModelOpinion {
    let prediction = match split_normalized(complaint) {
        Some((title, body)) => model.predict_normalized(title.as_deref(), body),
        None => model.predict(complaint.title.as_deref(), &complaint.body),
    };
    ModelOpinion {
        version,
        top: prediction
            .top
            .into_iter()
            .map(|s| TopLabel {
                label: s.label,
                probability: s.probability,
                score: s.score,
            })
            .collect(),
    }
}

/// Model opinions on a batch, by complaint id, and the model version that gave them.
struct Opinions {
    version: Option<u32>,
    by_id: HashMap<String, ModelOpinion>,
}

/// The normalised title and body of a complaint, taken from its stored matching text (title
/// and body normalised together, see [`connectors::text::matching_text`]) so that only the
/// short title is normalised again: the body's normalisation is most of a prediction's cost.
/// `None` when the stored text does not split at the title (then the caller normalises both).
fn split_normalized(complaint: &Complaint) -> Option<(Option<String>, &str)> {
    let text = complaint.text_norm.as_str();
    let Some(title) = complaint.title.as_deref() else {
        return Some((None, text));
    };
    let title = connectors::text::normalize(title);
    if title.is_empty() {
        return Some((None, text));
    }
    let rest = text.strip_prefix(title.as_str())?;
    let body = if rest.is_empty() {
        rest
    } else {
        rest.strip_prefix(' ')?
    };
    Some((Some(title), body))
}

impl Stage for ClassifyRouteStage {
    fn name(&self) -> &'static str {
        "classify_route"
    }

    fn precompute(&self) -> Option<Precompute> {
        let (version, model) = self.model.clone()?;
        Some(Arc::new(move |batch: &[Complaint]| {
            let opinions = Opinions {
                version: Some(version),
                by_id: batch
                    .iter()
                    .map(|c| (c.id.clone(), opinion(version, &model, c)))
                    .collect(),
            };
            Box::new(opinions) as Box<dyn Any + Send>
        }))
    }

    fn adopt(&mut self, key: BatchKey, precomputed: Box<dyn Any + Send>) {
        if let Ok(opinions) = precomputed.downcast::<Opinions>() {
            self.prepared = Some((key, *opinions));
        }
    }

    /// Predicts the batch's categories before the write transaction.
    fn prepare<'a>(
        &'a mut self,
        batch: &'a mut [Complaint],
        _store: &'a Store,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        Box::pin(async move {
            self.refresh_model()?;
            // An adopted result stands when the model that gave it is still the active one.
            let key = batch_key(batch);
            if matches!(&self.prepared, Some((k, opinions))
                if *k == key && opinions.version == self.model_version())
            {
                return Ok(());
            }
            self.prepared = None;
            let this = &*self;
            let opinions = crate::background::par_map(batch, |c| {
                this.opinion(c).map(|opinion| (c.id.clone(), opinion))
            })
            .into_iter()
            .flatten()
            .collect();
            let opinions = Opinions {
                version: self.model_version(),
                by_id: opinions,
            };
            self.prepared = Some((key, opinions));
            Ok(())
        })
    }

    fn process<'a>(
        &'a mut self,
        batch: &'a mut [Complaint],
        tx: &'a mut dyn DerivedTx,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        Box::pin(async move {
            self.refresh_model()?;
            let mut prepared = match self.prepared.take() {
                Some((key, opinions)) if key == batch_key(batch) => opinions.by_id,
                _ => HashMap::new(),
            };
            self.routed.lock().expect("routed list").clear();
            let now = crate::store::format_utc(chrono::Utc::now());
            // Everything the decisions read, in three queries; the batch's own decisions then
            // update it in memory (two members of one case in the same batch).
            let ids: Vec<&str> = batch.iter().map(|c| c.id.as_str()).collect();
            let keys: Vec<&str> = batch
                .iter()
                .map(|c| c.case_id.as_deref().unwrap_or(&c.id))
                .collect();
            let mut corrections = tx.corrections(&ids).await?;
            let previous = tx.previous_route_keys(&ids).await?;
            let mut routes = tx.case_routes(&keys).await?;
            let mut decided = Vec::with_capacity(batch.len());
            for complaint in batch.iter() {
                let opinion = match prepared.remove(&complaint.id) {
                    Some(opinion)
                        if self.model.as_ref().map(|(v, _)| *v) == Some(opinion.version) =>
                    {
                        Some(opinion)
                    }
                    _ => self.opinion(complaint),
                };
                let input = DecideInput {
                    complaint_id: complaint.id.clone(),
                    case_id: complaint.case_id.clone(),
                    folded_text: complaint.text_norm.to_lowercase(),
                    channel: complaint.channel.clone(),
                    target_unit: complaint.item.target_unit.clone(),
                    district: complaint
                        .item
                        .location
                        .as_ref()
                        .and_then(|l| l.district.clone()),
                    opinion,
                    correction: corrections.remove(&complaint.id),
                };
                let route_key = input.case_id.as_deref().unwrap_or(&input.complaint_id);
                let one = decide(
                    &self.config,
                    &input,
                    routes.get(route_key),
                    previous.get(&complaint.id).map(String::as_str),
                    &now,
                );
                routes.insert(one.route.route_key.clone(), one.route.clone());
                decided.push(one);
            }
            write::write_decisions(tx, &decided).await?;
            let routed: Vec<_> = decided.into_iter().map(|d| d.routed).collect();
            self.routed.lock().expect("routed list").extend(routed);
            Ok(())
        })
    }

    fn reset<'a>(
        &'a mut self,
        tx: &'a mut dyn DerivedTx,
    ) -> BoxFuture<'a, Result<(), PipelineError>> {
        Box::pin(async move {
            tx.reset_routing().await?;
            self.routed.lock().expect("routed list").clear();
            Ok(())
        })
    }
}

#[cfg(test)]
#[path = "classify_route_tests.rs"]
mod tests;
