//! What a model file says about itself: labels, how text becomes features, how and when it was
//! trained and how well it did. Stored as the JSON header of the model file, readable without
//! loading the weights (see `persist`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::calibration::Calibration;
use super::features::FeatureConfig;
use super::metrics::Evaluation;
use super::train::TrainConfig;

/// Version of the model file layout; a reader refuses files with another version.
pub const FORMAT_VERSION: u32 = 1;

/// The self-description of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Layout version of the file this model was (or will be) stored in.
    pub format_version: u32,
    /// Class labels, in the order of the weights.
    pub labels: Vec<String>,
    /// How text becomes features (equal to `training.config.features`).
    pub features: FeatureConfig,
    /// Probability calibration fitted on out-of-fold scores.
    pub calibration: Calibration,
    pub training: TrainingSummary,
}

/// How a model was trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// When training ran (given by the caller, so tests control it).
    pub trained_at: DateTime<Utc>,
    /// Number of training examples.
    pub examples: usize,
    /// Number of training examples per label, in label order.
    pub examples_per_label: Vec<usize>,
    /// Feature buckets kept (seen in at least `min_df` messages).
    pub features_used: usize,
    /// The full training configuration.
    pub config: TrainConfig,
    /// Largest number of solver epochs any one-vs-rest problem of the final model needed.
    pub max_solver_epochs: usize,
    /// Out-of-fold predictions of the internal cross-validation scored against the truth: an
    /// honest estimate of accuracy on new messages from the same source. Absent when the
    /// training set was too small to cross-validate.
    pub cross_validation: Option<Evaluation>,
}
