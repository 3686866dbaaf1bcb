use super::*;

#[test]
fn loads_jsonl_with_the_label_from_meta_and_keeps_the_title() {
    let jsonl = concat!(
        r#"{"external_id":"a1","title":"噪音扰民","body":"工地夜间施工。","label":"环境保护"}"#,
        "\n",
        r#"{"external_id":"a2","body":"公交车不按时发车。","label":"交通运输","channel_note":"x"}"#,
        "\n",
        r#"{"external_id":3,"body":"numbers are labels too","label":5}"#,
        "\n"
    );
    let examples = load_labelled(jsonl.as_bytes(), TableFormat::Jsonl, "label").unwrap();
    assert_eq!(examples.len(), 3);
    assert_eq!(examples[0].title.as_deref(), Some("噪音扰民"));
    assert_eq!(examples[0].label, "环境保护");
    assert_eq!(examples[1].title, None);
    assert_eq!(examples[2].external_id, "3");
    assert_eq!(examples[2].label, "5");
}

#[test]
fn a_row_without_a_label_is_reported_with_its_record_and_id() {
    let csv = "external_id,body,category\nr1,Loud music at night,noise\nr2,Pothole on Main Street,\nr3,Bins not emptied,sanitation\n";
    let error = load_labelled(csv.as_bytes(), TableFormat::Csv, "category").unwrap_err();
    let LoadError::BadRows {
        bad_rows, records, ..
    } = &error
    else {
        panic!("expected BadRows, got {error:?}");
    };
    assert_eq!(*records, 3);
    assert_eq!(
        bad_rows,
        &vec![BadRow {
            record: 2,
            external_id: Some("r2".into()),
            problem: RowProblem::MissingLabel,
        }]
    );
    let message = error.to_string();
    assert!(message.contains("record 2"), "{message}");
    assert!(message.contains("`r2`"), "{message}");
    assert!(message.contains("no `category` label"), "{message}");
}

#[test]
fn invalid_items_and_wrong_label_types_are_reported_too() {
    let jsonl = concat!(
        r#"{"external_id":"ok","body":"text","label":"x"}"#,
        "\n",
        r#"{"external_id":"no-body","label":"x"}"#,
        "\n",
        r#"{"external_id":"obj","body":"text","label":{"a":1}}"#,
        "\n"
    );
    let LoadError::BadRows { bad_rows, .. } =
        load_labelled(jsonl.as_bytes(), TableFormat::Jsonl, "label").unwrap_err()
    else {
        panic!("expected BadRows");
    };
    assert_eq!(bad_rows.len(), 2);
    assert!(matches!(&bad_rows[0].problem, RowProblem::InvalidItem(why) if why.contains("body")));
    assert_eq!(bad_rows[1].problem, RowProblem::LabelNotText);
}

#[test]
fn an_empty_file_is_an_error() {
    assert_eq!(
        load_labelled(b"", TableFormat::Jsonl, "label").unwrap_err(),
        LoadError::Empty
    );
}

#[test]
fn stratified_split_keeps_label_shares_and_repeats_for_a_seed() {
    let labels: Vec<&str> = (0..100)
        .map(|i| if i % 4 == 0 { "small" } else { "large" })
        .collect();
    let (train, test) = stratified_split(&labels, 0.2, 5);
    assert_eq!(train.len() + test.len(), 100);
    assert_eq!(test.iter().filter(|&&i| labels[i] == "small").count(), 5);
    assert_eq!(test.iter().filter(|&&i| labels[i] == "large").count(), 15);
    assert_eq!(
        stratified_split(&labels, 0.2, 5),
        (train.clone(), test.clone())
    );
    assert_ne!(stratified_split(&labels, 0.2, 6).1, test);
}

#[test]
fn folds_are_balanced_per_label() {
    let labels: Vec<&str> = (0..23).map(|i| if i < 10 { "a" } else { "b" }).collect();
    let folds = stratified_folds(&labels, 5, 1);
    let sizes: Vec<usize> = (0..5)
        .map(|f| folds.iter().filter(|&&x| x == f).count())
        .collect();
    assert!(sizes.iter().all(|&s| s == 4 || s == 5), "{sizes:?}");
    for f in 0..5 {
        let a = (0..10).filter(|&i| folds[i] == f).count();
        assert_eq!(a, 2, "label a is spread evenly");
    }
}
