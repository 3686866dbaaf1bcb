use std::sync::Mutex;

use chrono::{TimeZone, Utc};

use super::*;
use crate::classify::data::stratified_split;
use crate::classify::fixtures::{en, small_config, zh};
use crate::classify::model::PredictScratch;
use crate::classify::{Example, evaluate};

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 1, 9, 0, 0).unwrap()
}

fn subset(examples: &[Example], indices: &[usize]) -> Vec<Example> {
    indices.iter().map(|&i| examples[i].clone()).collect()
}

/// Trains on 75% of `examples` and checks held-out accuracy against the majority-class rate
/// plus three binomial standard deviations of that rate on the held-out count: a model that
/// learned nothing stays under this bar except with probability well under 1%.
fn assert_learns(examples: &[Example]) {
    let labels: Vec<&str> = examples.iter().map(|e| e.label.as_str()).collect();
    let (train_idx, test_idx) = stratified_split(&labels, 0.25, 11);
    let model = train(
        &subset(examples, &train_idx),
        &small_config(),
        at(),
        &|_| {},
    )
    .unwrap();
    let held_out = subset(examples, &test_idx);
    let evaluation = evaluate(&model, &held_out);
    let n = held_out.len() as f64;
    let majority = evaluation
        .per_class
        .iter()
        .map(|m| m.support)
        .max()
        .unwrap() as f64
        / n;
    let bar = majority + 3.0 * (majority * (1.0 - majority) / n).sqrt();
    assert!(
        evaluation.accuracy > bar,
        "held-out accuracy {} not above chance bar {bar}\n{evaluation}",
        evaluation.accuracy
    );
}

#[test]
fn learns_the_chinese_fixture() {
    assert_learns(&zh());
}

#[test]
fn learns_the_english_fixture() {
    assert_learns(&en());
}

#[test]
fn classifies_new_unambiguous_messages() {
    let zh_model = train(&zh(), &small_config(), at(), &|_| {}).unwrap();
    for (body, label) in [
        (
            "工厂晚上偷偷排放污水，河里的鱼都死了，气味刺鼻，请环保部门查处。",
            "环境保护",
        ),
        (
            "公交车班次太少，早上等车要四十分钟，请公交公司增加车辆。",
            "交通运输",
        ),
        ("學校強制學生購買教輔資料並收取補課費。", "教育文体"),
    ] {
        assert_eq!(zh_model.predict(None, body).label, label, "{body}");
    }
    let en_model = train(&en(), &small_config(), at(), &|_| {}).unwrap();
    for (body, label) in [
        (
            "The garbage truck has not collected our bins for three weeks.",
            "sanitation",
        ),
        (
            "Huge potholes on the road outside my house damaged my tyre.",
            "roads",
        ),
        (
            "The neighbours' loud music keeps us awake every night.",
            "noise",
        ),
    ] {
        assert_eq!(en_model.predict(None, body).label, label, "{body}");
    }
}

#[test]
fn the_same_seed_gives_the_same_model_whatever_the_threads() {
    let examples = zh();
    let one = TrainConfig {
        threads: 1,
        ..small_config()
    };
    let two = TrainConfig {
        threads: 2,
        ..small_config()
    };
    let a = train(&examples, &one, at(), &|_| {}).unwrap();
    let b = train(&examples, &two, at(), &|_| {}).unwrap();
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.intercepts, b.intercepts);
    assert_eq!(a.meta.calibration, b.meta.calibration);
    assert_eq!(
        a.meta.training.cross_validation,
        b.meta.training.cross_validation
    );
    let other_seed = TrainConfig {
        seed: 7,
        ..small_config()
    };
    let c = train(&examples, &other_seed, at(), &|_| {}).unwrap();
    assert_ne!(
        a.rows, c.rows,
        "a different seed orders coordinates differently"
    );
}

#[test]
fn probabilities_sum_to_one_and_order_like_raw_scores() {
    let model = train(&zh(), &small_config(), at(), &|_| {}).unwrap();
    let calibration = model.calibration();
    assert!(calibration.temperature > 0.0 && calibration.temperature.is_finite());
    let mut scratch = PredictScratch::default();
    for example in en().iter().take(3).chain(zh().iter().take(5)) {
        let best = model.score_into(example.title.as_deref(), &example.body, &mut scratch);
        let (scores, probabilities) = (scratch.scores(), scratch.probabilities());
        assert!((probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        for i in 0..scores.len() {
            for j in 0..scores.len() {
                if scores[i] > scores[j] {
                    assert!(probabilities[i] >= probabilities[j]);
                }
            }
        }
        let prediction = model.prediction_from(&scratch, 3);
        assert_eq!(prediction.label, model.labels()[best]);
        assert_eq!(prediction.confidence, probabilities[best]);
        assert_eq!(prediction.top.len(), 3);
        assert!(
            prediction
                .top
                .windows(2)
                .all(|w| w[0].probability >= w[1].probability)
        );
    }
}

#[test]
fn metadata_describes_the_training() {
    let examples = en();
    let model = train(&examples, &small_config(), at(), &|_| {}).unwrap();
    let meta = model.meta();
    assert_eq!(meta.labels, vec!["noise", "roads", "sanitation", "transit"]);
    assert_eq!(meta.training.examples, examples.len());
    assert_eq!(
        meta.training.examples_per_label.iter().sum::<usize>(),
        examples.len()
    );
    assert_eq!(meta.training.trained_at, at());
    assert_eq!(meta.training.config, small_config());
    let cv = meta.training.cross_validation.as_ref().unwrap();
    assert_eq!(cv.examples as usize, examples.len());
    assert_eq!(model.feature_count(), meta.training.features_used);
}

#[test]
fn progress_reaches_the_total_of_every_stage() {
    let reports = Mutex::new(Vec::new());
    let examples = en();
    let config = small_config();
    train(&examples, &config, at(), &|p| {
        reports.lock().unwrap().push(p)
    })
    .unwrap();
    let reports = reports.into_inner().unwrap();
    let last = |stage| {
        reports
            .iter()
            .filter(|p| p.stage == stage)
            .map(|p| (p.done, p.total))
            .max()
    };
    assert_eq!(
        last(TrainStage::Features),
        Some((examples.len(), examples.len()))
    );
    let problems = (config.calibration_folds + 1) * 4;
    assert_eq!(last(TrainStage::Fitting), Some((problems, problems)));
    assert_eq!(reports.last().unwrap().stage, TrainStage::Finishing);
}

#[test]
fn refuses_unusable_training_sets() {
    let config = small_config();
    assert_eq!(
        train(&[], &config, at(), &|_| {}).unwrap_err(),
        TrainError::NoExamples
    );
    let one_label: Vec<Example> = en().into_iter().filter(|e| e.label == "noise").collect();
    assert_eq!(
        train(&one_label, &config, at(), &|_| {}).unwrap_err(),
        TrainError::TooFewLabels(1)
    );
    let bad = TrainConfig { c: 0.0, ..config };
    assert!(matches!(
        train(&en(), &bad, at(), &|_| {}),
        Err(TrainError::Config(_))
    ));
}

#[test]
fn single_pass_scoring_matches_the_explicit_weighted_vector() {
    let model = train(&zh(), &small_config(), at(), &|_| {}).unwrap();
    let k = model.labels().len();
    let stride = 1 + k;
    let mut scratch = PredictScratch::default();
    let mut features = FeatureScratch::default();
    let mut vector = Vec::new();
    for example in zh().iter().take(6) {
        model.score_into(example.title.as_deref(), &example.body, &mut scratch);
        model
            .featurizer
            .count(example.title.as_deref(), &example.body, &mut features);
        model.featurizer.weigh(
            &features.counts,
            |bucket| {
                let row = model.index[bucket as usize];
                (row != UNUSED).then(|| (row, model.rows[row as usize * stride]))
            },
            &mut vector,
        );
        for class in 0..k {
            let explicit: f32 = model.intercepts[class]
                + vector
                    .iter()
                    .map(|&(row, value)| value * model.rows[row as usize * stride + 1 + class])
                    .sum::<f32>();
            assert!((explicit - scratch.scores()[class]).abs() < 1e-4);
        }
    }
}

#[test]
fn nb_ratios_favour_columns_that_separate_the_class() {
    // Column 0 only in positives, column 1 in every row, column 2 only in negatives.
    let mut x = SparseRows::new(3);
    for positive in [true, true, false, false] {
        if positive {
            x.push_row(&[(0, 1.0), (1, 1.0)]);
        } else {
            x.push_row(&[(1, 1.0), (2, 1.0)]);
        }
    }
    let ratios = nb_log_ratios(&x, &[0, 1, 2, 3], &[true, true, false, false]);
    assert!(ratios[0] > 0.5 && ratios[2] > 0.5, "{ratios:?}");
    assert!(
        ratios[1] < 1e-6,
        "a column as common in both sides says nothing: {ratios:?}"
    );
}

#[test]
fn the_frequency_threshold_relaxes_on_small_training_sets() {
    assert_eq!(effective_min_df(3, 40), 1);
    assert_eq!(effective_min_df(3, 2500), 2);
    assert_eq!(effective_min_df(3, 6000), 3);
    assert_eq!(effective_min_df(1, 6000), 1);
}
