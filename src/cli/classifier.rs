//! `complaint-gateway classifier …`: train, evaluate, list and activate model versions in the
//! data directory's model store (`<data_dir>/models`). The pipeline classifies with the
//! active version.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use connectors::tabular::TableFormat;

use crate::classify::{
    Example, Model, ModelDirectory, TrainConfig, TrainProgress, TrainStage, evaluate,
    load_labelled, stratified_split,
};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum ClassifierCommand {
    /// Train a model on a labelled file (JSON Lines, CSV or XLSX of canonical items plus a
    /// label), store it as a new version and make it active.
    Train(TrainArgs),
    /// Score a model on a labelled file: accuracy, macro-F1, per-class figures, confusion.
    Evaluate(EvaluateArgs),
    /// List the stored model versions.
    List,
    /// Make a stored version the active one.
    Activate {
        /// Version number (see `classifier list`).
        version: u32,
    },
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Labelled file.
    #[arg(long)]
    pub input: PathBuf,
    /// Field (column) holding the label.
    #[arg(long, default_value = "label")]
    pub label_field: String,
    /// Hold this fraction of every label out of training and report the model's figures on
    /// it (0 trains on everything).
    #[arg(long, default_value_t = 0.0)]
    pub holdout: f64,
    /// Seed of the hold-out split and of training.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Add the categories staff corrected in this data directory as training examples.
    #[arg(long)]
    pub include_corrections: bool,
    /// JSON object of training settings to change from the defaults (e.g.
    /// `{"c": 1.0, "features": {"jieba_max_chars": 80}}`); the settings are stored in the model.
    #[arg(long)]
    pub train_config: Option<PathBuf>,
    /// Store the model without making it active.
    #[arg(long)]
    pub no_activate: bool,
    /// Print the hold-out figures as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Labelled file.
    #[arg(long)]
    pub input: PathBuf,
    /// Field (column) holding the label.
    #[arg(long, default_value = "label")]
    pub label_field: String,
    /// Version to evaluate (default: the active one).
    #[arg(long)]
    pub version: Option<u32>,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The classifier's model directory inside a data directory.
pub fn model_store(data_dir: &Path) -> anyhow::Result<ModelDirectory> {
    Ok(ModelDirectory::open(crate::routing::model_dir(data_dir))?)
}

pub async fn run(config: &Config, command: ClassifierCommand) -> anyhow::Result<()> {
    match command {
        ClassifierCommand::Train(args) => train(config, args).await,
        ClassifierCommand::Evaluate(args) => {
            let store = model_store(&config.data_dir)?;
            let (version, model) = load_version(&store, args.version)?;
            let examples = read_examples(&args.input, &args.label_field)?;
            let evaluation = evaluate(&model, &examples);
            if args.json {
                println!("{}", serde_json::to_string_pretty(&evaluation)?);
            } else {
                println!("model version {version}, {}", args.input.display());
                print!("{evaluation}");
            }
            Ok(())
        }
        ClassifierCommand::List => {
            let store = model_store(&config.data_dir)?;
            let versions = store.list()?;
            if versions.is_empty() {
                println!("no model stored; run `classifier train --input FILE`");
            }
            for v in versions {
                let cv = v
                    .meta
                    .training
                    .cross_validation
                    .as_ref()
                    .map(|e| format!("  cv macro-F1 {:.4}", e.macro_f1))
                    .unwrap_or_default();
                println!(
                    "{}{:>4}  trained {}  {} examples  {} labels  {} KiB{cv}",
                    if v.active { "*" } else { " " },
                    v.version,
                    v.meta.training.trained_at.format("%Y-%m-%d %H:%M:%S"),
                    v.meta.training.examples,
                    v.meta.labels.len(),
                    v.file_bytes / 1024,
                );
            }
            Ok(())
        }
        ClassifierCommand::Activate { version } => {
            model_store(&config.data_dir)?.activate(version)?;
            println!(
                "model version {version} is active (a running gateway picks it up with its next batch)"
            );
            Ok(())
        }
    }
}

fn load_version(store: &ModelDirectory, version: Option<u32>) -> anyhow::Result<(u32, Model)> {
    match version {
        Some(v) => Ok((v, store.load(v)?)),
        None => store.load_active()?.ok_or_else(|| {
            anyhow::anyhow!("no active model; run `classifier train --input FILE` first")
        }),
    }
}

/// The default training settings with the keys of a JSON file merged over them.
fn train_config_from(path: &Path) -> anyhow::Result<TrainConfig> {
    fn merge(base: &mut serde_json::Value, overlay: serde_json::Value) {
        match (base, overlay) {
            (serde_json::Value::Object(base), serde_json::Value::Object(overlay)) => {
                for (key, value) in overlay {
                    merge(base.entry(key).or_insert(serde_json::Value::Null), value);
                }
            }
            (base, overlay) => *base = overlay,
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let overlay: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut config = serde_json::to_value(TrainConfig::default())?;
    merge(&mut config, overlay);
    serde_json::from_value(config).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn read_examples(path: &Path, label_field: &str) -> anyhow::Result<Vec<Example>> {
    let name = path.to_string_lossy();
    let format = TableFormat::from_path(&name).unwrap_or(TableFormat::Jsonl);
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    Ok(load_labelled(&bytes, format, label_field)?)
}

async fn train(config: &Config, args: TrainArgs) -> anyhow::Result<()> {
    if !(0.0..1.0).contains(&args.holdout) {
        anyhow::bail!("--holdout must be in [0, 1), got {}", args.holdout);
    }
    let mut examples = read_examples(&args.input, &args.label_field)?;
    if args.include_corrections {
        let store =
            crate::store::Store::open(&config.data_dir, crate::app::commit_settings(config))
                .await?;
        let corrected = crate::routing::correction_examples(&store).await?;
        store.close().await;
        println!("adding {} corrected complaints", corrected.len());
        examples.extend(corrected);
    }
    let (train_set, holdout_set): (Vec<Example>, Vec<Example>) = if args.holdout > 0.0 {
        let labels: Vec<&str> = examples.iter().map(|e| e.label.as_str()).collect();
        let (train_idx, test_idx) = stratified_split(&labels, args.holdout, args.seed);
        (
            train_idx.iter().map(|&i| examples[i].clone()).collect(),
            test_idx.iter().map(|&i| examples[i].clone()).collect(),
        )
    } else {
        (examples, Vec::new())
    };
    let mut train_config = match &args.train_config {
        Some(path) => train_config_from(path)?,
        None => TrainConfig::default(),
    };
    train_config.seed = args.seed;
    let bar = super::progress_bar(Some(train_set.len() as u64), "features");
    let started = std::time::Instant::now();
    let model = {
        let bar = bar.clone();
        tokio::task::spawn_blocking(move || {
            let report = move |p: TrainProgress| {
                let what = match p.stage {
                    TrainStage::Features => "features",
                    TrainStage::Fitting => "fitting",
                    TrainStage::Finishing => "finishing",
                };
                bar.set_message(what);
                bar.set_length(p.total as u64);
                bar.set_position(p.done as u64);
            };
            crate::classify::train(&train_set, &train_config, chrono::Utc::now(), &report)
                .map(|m| (m, train_set))
        })
        .await??
    };
    bar.finish_and_clear();
    let (model, train_set) = model;
    let store = model_store(&config.data_dir)?;
    let version = if args.no_activate {
        store.save(&model)?
    } else {
        store.save_and_activate(&model)?
    };
    println!(
        "trained on {} examples, {} labels, {} features in {:.1}s; stored as version {version}{}",
        train_set.len(),
        model.labels().len(),
        model.feature_count(),
        started.elapsed().as_secs_f64(),
        if args.no_activate { "" } else { " (active)" },
    );
    if let Some(cv) = &model.meta().training.cross_validation {
        println!("internal cross-validation macro-F1 {:.4}", cv.macro_f1);
    }
    if !holdout_set.is_empty() {
        let evaluation = evaluate(&model, &holdout_set);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&evaluation)?);
        } else {
            println!(
                "hold-out ({:.0}%, seed {}):",
                args.holdout * 100.0,
                args.seed
            );
            print!("{evaluation}");
        }
    }
    Ok(())
}
