use super::*;

fn counts(featurizer: &Featurizer, title: Option<&str>, body: &str) -> [Vec<(u32, u32)>; BLOCKS] {
    let mut scratch = FeatureScratch::default();
    featurizer.count(title, body, &mut scratch);
    scratch.counts
}

fn featurizer(config: FeatureConfig) -> Featurizer {
    Featurizer::new(config).unwrap()
}

#[test]
fn traditional_and_full_width_text_counts_like_its_normal_form() {
    let f = featurizer(FeatureConfig::default());
    assert_eq!(
        counts(&f, None, "投訴電話無人接聽ＡＢＣ"),
        counts(&f, None, "投诉电话无人接听abc")
    );
}

#[test]
fn english_inflections_share_word_features() {
    let words_only = FeatureConfig {
        char_weight: 0.0,
        title_weight: 0.0,
        word_ngrams: 1,
        ..FeatureConfig::default()
    };
    let f = featurizer(words_only);
    assert_eq!(
        counts(&f, None, "Complaints"),
        counts(&f, None, "complaint")
    );
    assert_ne!(
        counts(&f, None, "complaint"),
        counts(&f, None, "compliment")
    );
}

#[test]
fn han_ngrams_count_every_occurrence() {
    let chars_only = FeatureConfig {
        word_weight: 0.0,
        title_weight: 0.0,
        han_char_ngrams: [1, 2],
        ..FeatureConfig::default()
    };
    let f = featurizer(chars_only);
    // 噪音噪音: unigrams 噪×2 音×2, bigrams 噪音×2 音噪×1 → 4 distinct features, 7 occurrences.
    let [chars, words, title] = counts(&f, None, "噪音噪音");
    assert_eq!(chars.len(), 4);
    assert_eq!(chars.iter().map(|c| c.1).sum::<u32>(), 7);
    assert!(words.is_empty() && title.is_empty());
    // Punctuation separates runs: no n-gram spans it.
    let [split, ..] = counts(&f, None, "噪音，噪音");
    assert_eq!(split.iter().map(|c| c.1).sum::<u32>(), 6);
}

#[test]
fn short_words_are_one_padded_feature_like_char_wb() {
    let latin_only = FeatureConfig {
        han_char_ngrams: [0, 0],
        word_char_ngrams: [5, 5],
        word_weight: 0.0,
        title_weight: 0.0,
        ..FeatureConfig::default()
    };
    let f = featurizer(latin_only);
    // " ab " has 4 characters, shorter than 5: one feature; " abcd " has 6: two 5-grams.
    assert_eq!(counts(&f, None, "ab")[0].len(), 1);
    assert_eq!(counts(&f, None, "abcd")[0].len(), 2);
}

#[test]
fn the_title_block_exists_only_with_a_title() {
    let f = featurizer(FeatureConfig::default());
    let [_, _, without] = counts(&f, None, "小区电梯坏了");
    assert!(without.is_empty());
    let [chars, _, with] = counts(&f, Some("电梯故障"), "小区电梯坏了");
    assert!(!with.is_empty());
    // The title is read in the character block too.
    assert!(chars.len() > counts(&f, None, "小区电梯坏了")[0].len());
}

#[test]
fn empty_text_has_no_features_and_a_zero_vector() {
    let f = featurizer(FeatureConfig::default());
    let empty = counts(&f, None, "  ，。 ");
    assert!(empty.iter().all(Vec::is_empty));
    let mut out = vec![(1, 1.0)];
    f.weigh(&empty, |b| Some((b, 1.0)), &mut out);
    assert!(out.is_empty());
}

#[test]
fn weighted_vectors_have_unit_length() {
    let f = featurizer(FeatureConfig::default());
    let c = counts(
        &f,
        Some("噪音"),
        "工地夜间施工噪音很大 noisy construction at night",
    );
    let mut out = Vec::new();
    f.weigh(&c, |b| Some((b, 1.0 + (b % 7) as f32)), &mut out);
    let norm: f32 = out.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
}

#[test]
fn invalid_configurations_are_rejected() {
    let bad_bits = FeatureConfig {
        hash_bits: 40,
        ..FeatureConfig::default()
    };
    assert_eq!(bad_bits.validate(), Err(FeatureConfigError::HashBits(40)));
    let bad_range = FeatureConfig {
        han_char_ngrams: [3, 1],
        ..FeatureConfig::default()
    };
    assert!(matches!(
        bad_range.validate(),
        Err(FeatureConfigError::NgramRange {
            field: "han_char_ngrams",
            ..
        })
    ));
    let nothing = FeatureConfig {
        char_weight: 0.0,
        word_weight: 0.0,
        ..FeatureConfig::default()
    };
    assert_eq!(nothing.validate(), Err(FeatureConfigError::Weights));
    let unknown = serde_json::from_str::<FeatureConfig>(r#"{"hash_bit": 20}"#).unwrap_err();
    assert!(unknown.to_string().contains("hash_bit"));
}

#[test]
fn words_past_the_jieba_limit_still_count_when_they_are_not_han() {
    let limited = FeatureConfig {
        jieba_max_chars: 4,
        char_weight: 0.0,
        title_weight: 0.0,
        word_ngrams: 1,
        ..FeatureConfig::default()
    };
    let f = featurizer(limited);
    let [_, words, _] = counts(&f, None, "噪音扰民 the construction noise 工地施工");
    // "噪音扰民" is cut by jieba; "the", "construction", "noise" are whole words; the Han text
    // past the limit ("工地施工") is left to the character block.
    let [_, english, _] = counts(&f, None, "the construction noise");
    assert!(english.iter().all(|e| words.contains(e)));
    let [_, past_limit, _] = counts(&f, None, "噪音扰民 工地施工");
    let [_, prefix_only, _] = counts(&f, None, "噪音扰民");
    assert_eq!(past_limit, prefix_only);
}
