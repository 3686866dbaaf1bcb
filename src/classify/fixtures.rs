//! Labelled fixtures for the classifier's tests: short complaints written for these tests, in
//! Chinese (JSON Lines, field `label`) and English (CSV, column `category`).

use connectors::tabular::TableFormat;

use super::data::{Example, load_labelled};
use super::features::FeatureConfig;
use super::train::TrainConfig;

pub(crate) const ZH_JSONL: &str = include_str!("testdata/zh.jsonl");
pub(crate) const EN_CSV: &str = include_str!("testdata/en.csv");

pub(crate) fn zh() -> Vec<Example> {
    load_labelled(ZH_JSONL.as_bytes(), TableFormat::Jsonl, "label").expect("fixture loads")
}

pub(crate) fn en() -> Vec<Example> {
    load_labelled(EN_CSV.as_bytes(), TableFormat::Csv, "category").expect("fixture loads")
}

/// A configuration for tiny training sets: every feature kept, a small hash space.
pub(crate) fn small_config() -> TrainConfig {
    TrainConfig {
        features: FeatureConfig {
            hash_bits: 16,
            min_df: 1,
            ..FeatureConfig::default()
        },
        ..TrainConfig::default()
    }
}
