//! `complaint-gateway hot`: the hottest cases of a recent window, from the store.

use clap::Args;

use crate::cases::read::{hot_issues, parse_window};
use crate::config::Config;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct HotArgs {
    /// Window of complaints counted, e.g. `30d`, `12h`.
    #[arg(long, default_value = "30d")]
    pub window: String,
    /// Most cases listed.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// End of the window (RFC 3339; default: now), e.g. to look back at an old period.
    #[arg(long)]
    pub at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(config: &Config, args: HotArgs) -> anyhow::Result<()> {
    let window = parse_window(&args.window)?;
    let now = args
        .at
        .map(|at| at.with_timezone(&chrono::Utc))
        .unwrap_or_else(chrono::Utc::now);
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let hot = hot_issues(
        &store,
        now,
        window,
        args.limit.clamp(1, 500),
        &config.grouping.heat,
    )
    .await?;
    store.close().await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&hot)?);
        return Ok(());
    }
    if hot.is_empty() {
        println!("no case has a complaint in the {} window", args.window);
    }
    for (rank, issue) in hot.iter().enumerate() {
        println!(
            "{:>2}. heat {:>6.1}  {:>4} complaints ({} in window, {} complainants)  [{}]  {}  {}",
            rank + 1,
            issue.heat.score,
            issue.case.complaints,
            issue.window_complaints,
            issue.case.complainants,
            issue.case.channels.join(","),
            issue.case.id,
            issue.case.title
        );
    }
    Ok(())
}
