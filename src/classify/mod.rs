//! The trainable complaint classifier: hashed character and word n-grams, TF-IDF, one-vs-rest
//! linear SVMs and temperature-calibrated probabilities.
//!
//! Contract:
//! - [`train`] is deterministic: the same examples, configuration and seed give the same model,
//!   whatever the number of threads.
//! - A [`Model`] always applies the feature configuration it was trained with (it is stored in
//!   the model file), so training and prediction cannot disagree on what a feature is.
//! - [`Prediction::confidence`] is a calibrated probability: the probabilities of all labels sum
//!   to one and order like the raw scores. A caller routes low-confidence predictions to triage;
//!   the classifier never decides that itself.
//! - Nothing here logs message text: it may contain personal data.
//!
//! Modules:
//! - [`features`]: text → hashed character/word n-gram counts and their TF-IDF weighting.
//! - [`train`]: the training procedure, its configuration and progress reports.
//! - [`model`]: a trained model and prediction.
//! - [`metrics`]: accuracy, macro-F1, per-class figures, confusion matrix.
//! - [`data`]: labelled examples, reading training files, stratified splits and folds.
//! - [`persist`]: the versioned, self-describing model file format.
//! - [`model_directory`]: a directory of model versions with an atomically switched "active"
//!   pointer.
//! - `svm`, `calibration`, `offsets`, `hashing`: the solver, probability calibration, per-class
//!   decision offsets for macro-F1, stable hashing.

mod calibration;
pub mod data;
pub mod features;
mod hashing;
pub mod metadata;
pub mod metrics;
pub mod model;
pub mod model_directory;
mod offsets;
pub mod persist;
mod svm;
pub mod train;

#[cfg(test)]
pub(crate) mod fixtures;

pub use calibration::{Calibration, expected_calibration_error};
pub use data::{
    BadRow, Example, LoadError, RowProblem, load_labelled, stratified_folds, stratified_split,
};
pub use features::{FeatureConfig, FeatureConfigError};
pub use metadata::{FORMAT_VERSION, ModelMeta, TrainingSummary};
pub use metrics::{ClassMetrics, Evaluation};
pub use model::{Model, PredictScratch, Prediction, ScoredLabel};
pub use model_directory::{ModelDirectory, ModelDirectoryError, ModelVersion};
pub use persist::ModelFileError;
pub use train::{ClassWeight, TrainConfig, TrainError, TrainProgress, TrainStage, train};

/// Predicts every example with `model` and scores the predictions against the labels.
pub fn evaluate(model: &Model, examples: &[Example]) -> Evaluation {
    let predicted = model.predict_indices(
        examples
            .iter()
            .map(|e| (e.title.as_deref(), e.body.as_str())),
    );
    Evaluation::from_pairs(
        model.labels(),
        examples
            .iter()
            .zip(predicted)
            .map(|(e, p)| (e.label.as_str(), model.labels()[p].as_str())),
    )
}
