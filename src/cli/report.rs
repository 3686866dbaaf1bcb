//! `complaint-gateway report --month YYYY-MM [--format html|csv] [--out FILE]`: the monthly
//! report to the city government (as `GET /v1/reports/monthly`), from the store.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::config::Config;
use crate::reports::{csv, html, monthly};
use crate::store::Store;

/// The report's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Html,
    Csv,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The month, `YYYY-MM` (local days at `default_utc_offset_hours`).
    #[arg(long)]
    pub month: String,
    /// A printable HTML page in Chinese, or the figures as CSV.
    #[arg(long, value_enum, default_value = "html")]
    pub format: ReportFormat,
    /// Write it to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub async fn run(config: &Config, args: ReportArgs) -> anyhow::Result<()> {
    crate::reports::month_days(&args.month)?;
    let routing = config.routing.load()?;
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let report = monthly(&store, config, &routing, &args.month, chrono::Utc::now()).await;
    store.close().await;
    let report = report?;
    let text = match args.format {
        ReportFormat::Html => html::to_html(&report)?,
        ReportFormat::Csv => csv::to_csv(&report),
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            eprintln!(
                "wrote the report of {} to {} ({} bytes)",
                args.month,
                path.display(),
                text.len()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}
