//! Labelled examples: reading training files and splitting them reproducibly.
//!
//! A training file is a JSON Lines or CSV export of canonical items plus a label column (read by
//! [`connectors::tabular::read_table`], so everything the importer accepts works here). The
//! label is not a canonical field, so it lands in the item's `meta`. [`load_labelled`] is strict:
//! a record that is not a valid item or has no label is reported with its record number and
//! `external_id`, never skipped silently, because a silently shrunken training set is a worse
//! model nobody can explain.

use std::fmt;

use connectors::item::ParseOptions;
use connectors::tabular::{ColumnMap, TableError, TableFormat, read_table};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::hashing::SplitMix64;

/// One message with its label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// The source's id of the message (not personal data); used in error reports.
    pub external_id: String,
    pub title: Option<String>,
    pub body: String,
    pub label: String,
}

/// Why a record of a training file cannot be used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum RowProblem {
    /// The record is not a valid item; the text says why.
    InvalidItem(String),
    /// The label field is absent or empty.
    MissingLabel,
    /// The label is neither text nor a number.
    LabelNotText,
}

/// One unusable record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadRow {
    /// 1-based position of the record in the file, header excluded.
    pub record: usize,
    pub external_id: Option<String>,
    pub problem: RowProblem,
}

/// Why a training file could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the file: {0}")]
    Table(#[from] TableError),
    #[error("the file has no records")]
    Empty,
    #[error("{}", describe_bad_rows(.label_field, .bad_rows, *.records))]
    BadRows {
        label_field: String,
        records: usize,
        bad_rows: Vec<BadRow>,
    },
}

/// At most this many bad rows are named in the error message; all are in the error value.
const NAMED_BAD_ROWS: usize = 10;

fn describe_bad_rows(label_field: &str, bad_rows: &[BadRow], records: usize) -> String {
    let mut text = format!(
        "{} of {records} records cannot be used for training:",
        bad_rows.len()
    );
    for bad in bad_rows.iter().take(NAMED_BAD_ROWS) {
        let id = bad
            .external_id
            .as_deref()
            .map(|id| format!(" (external_id `{id}`)"))
            .unwrap_or_default();
        let problem = match &bad.problem {
            RowProblem::InvalidItem(why) => why.clone(),
            RowProblem::MissingLabel => format!("no `{label_field}` label"),
            RowProblem::LabelNotText => format!("`{label_field}` is neither text nor a number"),
        };
        text.push_str(&format!("\n  record {}{id}: {problem}", bad.record));
    }
    if bad_rows.len() > NAMED_BAD_ROWS {
        text.push_str(&format!(
            "\n  … and {} more",
            bad_rows.len() - NAMED_BAD_ROWS
        ));
    }
    text
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowProblem::InvalidItem(why) => write!(f, "{why}"),
            RowProblem::MissingLabel => write!(f, "missing label"),
            RowProblem::LabelNotText => write!(f, "label is neither text nor a number"),
        }
    }
}

/// Reads labelled examples from a JSON Lines or CSV (or XLSX) file's bytes. The label is the
/// item's `meta[label_field]` (an unknown column or top-level field); numbers are accepted as
/// labels and written in decimal.
pub fn load_labelled(
    bytes: &[u8],
    format: TableFormat,
    label_field: &str,
) -> Result<Vec<Example>, LoadError> {
    let items = read_table(bytes, format, &ColumnMap::new(), &ParseOptions::default())?;
    if items.is_empty() {
        return Err(LoadError::Empty);
    }
    let mut examples = Vec::with_capacity(items.len());
    let mut bad_rows = Vec::new();
    for (index, raw) in items.iter().enumerate() {
        let record = index + 1;
        let item = match &raw.parsed {
            Ok(item) => item,
            Err(error) => {
                bad_rows.push(BadRow {
                    record,
                    external_id: raw.external_id_hint.clone(),
                    problem: RowProblem::InvalidItem(error.to_string()),
                });
                continue;
            }
        };
        let label = match item.meta.get(label_field) {
            None | Some(Value::Null) => Err(RowProblem::MissingLabel),
            Some(Value::String(s)) if s.trim().is_empty() => Err(RowProblem::MissingLabel),
            Some(Value::String(s)) => Ok(s.trim().to_string()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(_) => Err(RowProblem::LabelNotText),
        };
        match label {
            Ok(label) => examples.push(Example {
                external_id: item.external_id.clone(),
                title: item.title.clone(),
                body: item.body.clone(),
                label,
            }),
            Err(problem) => bad_rows.push(BadRow {
                record,
                external_id: Some(item.external_id.clone()),
                problem,
            }),
        }
    }
    if !bad_rows.is_empty() {
        return Err(LoadError::BadRows {
            label_field: label_field.to_string(),
            records: items.len(),
            bad_rows,
        });
    }
    Ok(examples)
}

/// Assigns each example to one of `folds` folds, stratified by label: within each label the
/// examples are shuffled (seeded) and dealt round-robin, continuing where the previous label
/// stopped, so folds differ in size by at most one and each holds every label's share.
pub fn stratified_folds<S: AsRef<str>>(labels: &[S], folds: usize, seed: u64) -> Vec<usize> {
    assert!(folds > 0, "at least one fold");
    let mut distinct: Vec<&str> = labels.iter().map(|l| l.as_ref()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut rng = SplitMix64::new(seed);
    let mut assignment = vec![0usize; labels.len()];
    let mut next = 0usize;
    for label in distinct {
        let mut members: Vec<usize> = (0..labels.len())
            .filter(|&i| labels[i].as_ref() == label)
            .collect();
        rng.shuffle(&mut members);
        for i in members {
            assignment[i] = next % folds;
            next += 1;
        }
    }
    assignment
}

/// Splits example indices into `(train, test)` with about `test_fraction` of each label in test.
pub fn stratified_split<S: AsRef<str>>(
    labels: &[S],
    test_fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    assert!(
        (0.0..1.0).contains(&test_fraction),
        "test_fraction in [0, 1)"
    );
    let mut distinct: Vec<&str> = labels.iter().map(|l| l.as_ref()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut rng = SplitMix64::new(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for label in distinct {
        let mut members: Vec<usize> = (0..labels.len())
            .filter(|&i| labels[i].as_ref() == label)
            .collect();
        rng.shuffle(&mut members);
        let n_test = (members.len() as f64 * test_fraction).round() as usize;
        test.extend_from_slice(&members[..n_test]);
        train.extend_from_slice(&members[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

#[cfg(test)]
mod tests;
