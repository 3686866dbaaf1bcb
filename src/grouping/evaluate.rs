//! Quality of a grouping against a gold grouping: pairwise and B-cubed precision, recall, F1.
//!
//! Pairwise counts pairs of items put together: precision is the share of predicted pairs
//! that are gold pairs, recall the share of gold pairs predicted. B-cubed averages over items:
//! for each item, precision is the share of its predicted case that shares its gold group,
//! recall the share of its gold group that shares its predicted case (Bagga & Baldwin 1998).
//! Items without a gold group are each a group of their own.

use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

/// Precision, recall and their harmonic mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Precision, 0 to 1.
    pub precision: f64,
    /// Recall, 0 to 1.
    pub recall: f64,
    /// F1, 0 to 1.
    pub f1: f64,
}

impl Scores {
    fn new(precision: f64, recall: f64) -> Self {
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Scores {
            precision,
            recall,
            f1,
        }
    }
}

/// Pairwise and B-cubed scores of one grouping.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GroupingMetrics {
    /// Items compared.
    pub items: usize,
    /// Cases predicted.
    pub predicted_groups: usize,
    /// Gold groups (each ungrouped item counting as one).
    pub gold_groups: usize,
    /// Pair counts: predicted pairs, gold pairs, pairs in both.
    pub predicted_pairs: u64,
    /// See `predicted_pairs`.
    pub gold_pairs: u64,
    /// See `predicted_pairs`.
    pub correct_pairs: u64,
    /// Pairwise scores; precision (recall) is 1 when no pair is predicted (exists in gold).
    pub pairwise: Scores,
    /// B-cubed scores.
    pub bcubed: Scores,
}

/// Evaluation input errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvaluateError {
    /// Predicted and gold labels must describe the same items.
    #[error("{predicted} predicted labels for {gold} gold labels")]
    LengthMismatch {
        /// Number of predicted labels.
        predicted: usize,
        /// Number of gold labels.
        gold: usize,
    },
}

/// Gold labels that mean "belongs to no group" in labelled files: JSON `null`, `""`, `0`,
/// `"0"` (the TipDM hot-issue example marks unrelated messages with group 0).
pub fn gold_label(value: Option<&serde_json::Value>) -> Option<String> {
    let label = match value? {
        serde_json::Value::Null => return None,
        serde_json::Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    };
    (!label.is_empty() && label != "0").then_some(label)
}

/// Scores `predicted[i]` (the case of item i) against `gold[i]` (its gold group, `None` for
/// an item in no group).
pub fn evaluate_grouping<P, G>(
    predicted: &[P],
    gold: &[Option<G>],
) -> Result<GroupingMetrics, EvaluateError>
where
    P: Eq + Hash,
    G: Eq + Hash,
{
    if predicted.len() != gold.len() {
        return Err(EvaluateError::LengthMismatch {
            predicted: predicted.len(),
            gold: gold.len(),
        });
    }
    // Dense ids; an ungrouped item gets a gold id of its own.
    let mut predicted_ids: HashMap<&P, usize> = HashMap::new();
    let mut gold_ids: HashMap<&G, usize> = HashMap::new();
    let mut gold_count = 0usize;
    let mut cells: HashMap<(usize, usize), u64> = HashMap::new();
    let mut predicted_sizes: Vec<u64> = Vec::new();
    let mut gold_sizes: Vec<u64> = Vec::new();
    for (p, g) in predicted.iter().zip(gold) {
        let next = predicted_ids.len();
        let p_id = *predicted_ids.entry(p).or_insert(next);
        if p_id == predicted_sizes.len() {
            predicted_sizes.push(0);
        }
        predicted_sizes[p_id] += 1;
        let g_id = match g {
            Some(g) => *gold_ids.entry(g).or_insert_with(|| {
                gold_count += 1;
                gold_count - 1
            }),
            None => {
                gold_count += 1;
                gold_count - 1
            }
        };
        if g_id == gold_sizes.len() {
            gold_sizes.push(0);
        }
        gold_sizes[g_id] += 1;
        *cells.entry((p_id, g_id)).or_insert(0) += 1;
    }
    let pairs = |n: u64| n * n.saturating_sub(1) / 2;
    let correct_pairs: u64 = cells.values().map(|&n| pairs(n)).sum();
    let predicted_pairs: u64 = predicted_sizes.iter().map(|&n| pairs(n)).sum();
    let gold_pairs: u64 = gold_sizes.iter().map(|&n| pairs(n)).sum();
    let ratio = |num: u64, den: u64| {
        if den == 0 {
            1.0
        } else {
            num as f64 / den as f64
        }
    };

    let items = predicted.len();
    let (mut b_precision, mut b_recall) = (0.0, 0.0);
    for (&(p_id, g_id), &n) in &cells {
        let n = n as f64;
        b_precision += n * n / predicted_sizes[p_id] as f64;
        b_recall += n * n / gold_sizes[g_id] as f64;
    }
    let bcubed = if items == 0 {
        Scores::new(1.0, 1.0)
    } else {
        Scores::new(b_precision / items as f64, b_recall / items as f64)
    };
    Ok(GroupingMetrics {
        items,
        predicted_groups: predicted_sizes.len(),
        gold_groups: gold_sizes.len(),
        predicted_pairs,
        gold_pairs,
        correct_pairs,
        pairwise: Scores::new(
            ratio(correct_pairs, predicted_pairs),
            ratio(correct_pairs, gold_pairs),
        ),
        bcubed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// Seven items. Gold: {1,2,3} {4,5} and 6, 7 ungrouped.
    /// Predicted: {1,2} {3,4,5} {6,7}.
    ///
    /// Pairs. Predicted: 1-2, 3-4, 3-5, 4-5, 6-7 = 5. Gold: 1-2, 1-3, 2-3, 4-5 = 4.
    /// Correct: 1-2, 4-5 = 2. Precision 2/5, recall 2/4, F1 = 2·0.4·0.5/0.9 = 4/9.
    ///
    /// B-cubed precision per item: 1: 2/2, 2: 2/2, 3: 1/3, 4: 2/3, 5: 2/3, 6: 1/2, 7: 1/2
    /// → (1 + 1 + 1/3 + 2/3 + 2/3 + 1/2 + 1/2)/7 = (14/3)/7 = 2/3.
    /// Recall per item: 1: 2/3, 2: 2/3, 3: 1/3, 4: 2/2, 5: 2/2, 6: 1, 7: 1
    /// → (2/3 + 2/3 + 1/3 + 1 + 1 + 1 + 1)/7 = (17/3)/7 = 17/21.
    /// F1 = 2·(2/3)(17/21)/((2/3)+(17/21)) = (68/63)/(31/21) = 68/93.
    #[test]
    fn hand_computed_example() {
        let predicted = ["a", "a", "b", "b", "b", "c", "c"];
        let gold = [Some(1), Some(1), Some(1), Some(2), Some(2), None, None];
        let m = evaluate_grouping(&predicted, &gold).unwrap();
        assert_eq!(
            (m.predicted_pairs, m.gold_pairs, m.correct_pairs),
            (5, 4, 2)
        );
        assert_eq!((m.predicted_groups, m.gold_groups), (3, 4));
        assert!(close(m.pairwise.precision, 0.4));
        assert!(close(m.pairwise.recall, 0.5));
        assert!(close(m.pairwise.f1, 4.0 / 9.0));
        assert!(close(m.bcubed.precision, 2.0 / 3.0));
        assert!(close(m.bcubed.recall, 17.0 / 21.0));
        assert!(close(m.bcubed.f1, 68.0 / 93.0));
    }

    #[test]
    fn perfect_and_all_singletons() {
        let gold = [Some("x"), Some("x"), None];
        let perfect = evaluate_grouping(&[1, 1, 2], &gold).unwrap();
        assert!(close(perfect.pairwise.f1, 1.0) && close(perfect.bcubed.f1, 1.0));
        let singletons = evaluate_grouping(&[1, 2, 3], &gold).unwrap();
        assert!(close(singletons.pairwise.precision, 1.0));
        assert!(close(singletons.pairwise.recall, 0.0));
        assert!(close(singletons.bcubed.precision, 1.0));
        assert!(close(singletons.bcubed.recall, (0.5 + 0.5 + 1.0) / 3.0));
    }

    #[test]
    fn mismatched_lengths_are_an_error() {
        let err = evaluate_grouping(&[1, 2], &[Some(1)]).unwrap_err();
        assert_eq!(
            err,
            EvaluateError::LengthMismatch {
                predicted: 2,
                gold: 1
            }
        );
    }

    #[test]
    fn gold_labels_for_no_group() {
        use serde_json::json;
        assert_eq!(gold_label(Some(&json!(3))), Some("3".to_string()));
        assert_eq!(
            gold_label(Some(&json!("魅力之城"))),
            Some("魅力之城".to_string())
        );
        for none in [json!(null), json!(0), json!("0"), json!(" ")] {
            assert_eq!(gold_label(Some(&none)), None, "{none}");
        }
        assert_eq!(gold_label(None), None);
    }
}
