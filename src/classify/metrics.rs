//! Evaluation of predicted labels against true labels.
//!
//! Accuracy, macro-F1 (the unweighted mean of per-class F1, the figure the targets use),
//! support-weighted F1, per-class precision/recall/F1/support and the confusion matrix (rows =
//! true label, columns = predicted label). A class that is never predicted has precision 0, as
//! scikit-learn reports with `zero_division=0`, so the figures are comparable with its output.
//! [`Evaluation`] prints as a table ([`std::fmt::Display`]) and serialises for `--json`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Figures for one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// How many evaluated examples truly have this label.
    pub support: u64,
}

/// The result of comparing predictions with the truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Number of evaluated examples.
    pub examples: u64,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub weighted_f1: f64,
    /// One entry per label, in the order of `labels`.
    pub per_class: Vec<ClassMetrics>,
    /// The label order of the confusion matrix.
    pub labels: Vec<String>,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<u64>>,
}

impl Evaluation {
    /// Builds the figures from a square confusion matrix (`confusion[true][predicted]`).
    pub fn from_confusion(labels: Vec<String>, confusion: Vec<Vec<u64>>) -> Evaluation {
        let k = labels.len();
        assert!(
            confusion.len() == k && confusion.iter().all(|row| row.len() == k),
            "confusion matrix must be {k}×{k}"
        );
        let examples: u64 = confusion.iter().flatten().sum();
        let correct: u64 = (0..k).map(|i| confusion[i][i]).sum();
        let per_class: Vec<ClassMetrics> = (0..k)
            .map(|c| {
                let tp = confusion[c][c] as f64;
                let support: u64 = confusion[c].iter().sum();
                let predicted: u64 = confusion.iter().map(|row| row[c]).sum();
                let precision = ratio(tp, predicted as f64);
                let recall = ratio(tp, support as f64);
                ClassMetrics {
                    label: labels[c].clone(),
                    precision,
                    recall,
                    f1: ratio(2.0 * precision * recall, precision + recall),
                    support,
                }
            })
            .collect();
        let macro_f1 = if k == 0 {
            0.0
        } else {
            per_class.iter().map(|m| m.f1).sum::<f64>() / k as f64
        };
        let weighted_f1 = ratio(
            per_class
                .iter()
                .map(|m| m.f1 * m.support as f64)
                .sum::<f64>(),
            examples as f64,
        );
        Evaluation {
            examples,
            accuracy: ratio(correct as f64, examples as f64),
            macro_f1,
            weighted_f1,
            per_class,
            labels,
            confusion,
        }
    }

    /// Builds the figures from `(true, predicted)` label pairs. `known` fixes the order of the
    /// first labels (normally the model's); labels met only in the pairs are appended in order
    /// of appearance, so a true label the model does not know still counts as missed.
    pub fn from_pairs<'a>(
        known: &[String],
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Evaluation {
        let mut labels: Vec<String> = known.to_vec();
        let mut cells: Vec<(usize, usize)> = Vec::new();
        let index_of =
            |label: &str, labels: &mut Vec<String>| match labels.iter().position(|l| l == label) {
                Some(i) => i,
                None => {
                    labels.push(label.to_string());
                    labels.len() - 1
                }
            };
        for (truth, predicted) in pairs {
            let t = index_of(truth, &mut labels);
            let p = index_of(predicted, &mut labels);
            cells.push((t, p));
        }
        let k = labels.len();
        let mut confusion = vec![vec![0u64; k]; k];
        for (t, p) in cells {
            confusion[t][p] += 1;
        }
        Evaluation::from_confusion(labels, confusion)
    }
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    }
}

/// Terminal width of `text`: East Asian wide characters take two columns.
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

fn pad(text: &str, width: usize) -> String {
    format!(
        "{text}{}",
        " ".repeat(width.saturating_sub(display_width(text)))
    )
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "examples {}  accuracy {:.4}  macro-F1 {:.4}  weighted-F1 {:.4}",
            self.examples, self.accuracy, self.macro_f1, self.weighted_f1
        )?;
        let width = self
            .labels
            .iter()
            .map(|l| display_width(l))
            .max()
            .unwrap_or(0)
            .max(5)
            + 5;
        writeln!(f)?;
        writeln!(
            f,
            "{}precision  recall      f1  support",
            pad("class", width)
        )?;
        for (i, m) in self.per_class.iter().enumerate() {
            let name = format!("{i:>2} {}", m.label);
            writeln!(
                f,
                "{}{:>9.4}{:>8.4}{:>8.4}{:>9}",
                pad(&name, width),
                m.precision,
                m.recall,
                m.f1,
                m.support
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "confusion matrix (rows: true class, columns: predicted class)"
        )?;
        let cell = self
            .confusion
            .iter()
            .flatten()
            .max()
            .map_or(1, |m| m.to_string().len())
            .max(2)
            + 1;
        write!(f, "{}", " ".repeat(4))?;
        for j in 0..self.labels.len() {
            write!(f, "{j:>cell$}")?;
        }
        writeln!(f)?;
        for (i, row) in self.confusion.iter().enumerate() {
            write!(f, "{i:>3} ")?;
            for count in row {
                write!(f, "{count:>cell$}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn figures_of_a_hand_computed_confusion_matrix() {
        // true a: 5 → a, 1 → b;  true b: 2 → a, 3 → b, 1 → c;  true c: 0 → a, 0 → b, 4 → c
        let evaluation = Evaluation::from_confusion(
            labels(&["a", "b", "c"]),
            vec![vec![5, 1, 0], vec![2, 3, 1], vec![0, 0, 4]],
        );
        assert_eq!(evaluation.examples, 16);
        assert!((evaluation.accuracy - 12.0 / 16.0).abs() < 1e-12);
        let a = &evaluation.per_class[0];
        // precision 5/7, recall 5/6, f1 = 2·(5/7)(5/6)/((5/7)+(5/6)) = 10/13
        assert!((a.precision - 5.0 / 7.0).abs() < 1e-12);
        assert!((a.recall - 5.0 / 6.0).abs() < 1e-12);
        assert!((a.f1 - 10.0 / 13.0).abs() < 1e-12);
        let b = &evaluation.per_class[1];
        // precision 3/4, recall 3/6, f1 = 2·0.75·0.5/1.25 = 0.6
        assert!((b.f1 - 0.6).abs() < 1e-12);
        let c = &evaluation.per_class[2];
        // precision 4/5, recall 1, f1 = 8/9
        assert!((c.f1 - 8.0 / 9.0).abs() < 1e-12);
        assert_eq!((a.support, b.support, c.support), (6, 6, 4));
        let macro_f1 = (10.0 / 13.0 + 0.6 + 8.0 / 9.0) / 3.0;
        assert!((evaluation.macro_f1 - macro_f1).abs() < 1e-12);
        let weighted = (6.0 * 10.0 / 13.0 + 6.0 * 0.6 + 4.0 * 8.0 / 9.0) / 16.0;
        assert!((evaluation.weighted_f1 - weighted).abs() < 1e-12);
    }

    #[test]
    fn a_class_never_predicted_has_zero_precision_not_nan() {
        let evaluation =
            Evaluation::from_confusion(labels(&["x", "y"]), vec![vec![3, 0], vec![2, 0]]);
        assert_eq!(evaluation.per_class[1].precision, 0.0);
        assert_eq!(evaluation.per_class[1].f1, 0.0);
        assert!(evaluation.macro_f1.is_finite());
    }

    #[test]
    fn pairs_with_an_unknown_label_extend_the_matrix() {
        let known = labels(&["环境保护", "交通运输"]);
        let pairs = [
            ("环境保护", "环境保护"),
            ("教育文体", "交通运输"),
            ("交通运输", "交通运输"),
        ];
        let evaluation = Evaluation::from_pairs(&known, pairs);
        assert_eq!(
            evaluation.labels,
            labels(&["环境保护", "交通运输", "教育文体"])
        );
        assert_eq!(evaluation.confusion[2], vec![0, 1, 0]);
        assert_eq!(evaluation.per_class[2].recall, 0.0);
    }

    #[test]
    fn table_and_json_name_every_class() {
        let evaluation = Evaluation::from_confusion(
            labels(&["城乡建设", "noise"]),
            vec![vec![4, 1], vec![0, 5]],
        );
        let table = evaluation.to_string();
        assert!(table.contains("城乡建设") && table.contains("noise"));
        assert!(table.contains("macro-F1"));
        let json: serde_json::Value = serde_json::to_value(&evaluation).unwrap();
        assert_eq!(json["confusion"][0][1], 1);
        assert_eq!(json["per_class"][0]["label"], "城乡建设");
    }
}
