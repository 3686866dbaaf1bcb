//! The command line: `serve`, `import`, `push`, `search`, `export`, `reindex`, `reprocess`,
//! `backup`, `dead-letters`, `classifier`, `deadline`, `outbox`, `notify`, `hot`, `evaluate`,
//! `bench`, `user`, `token`, `audit`, `calendar` and `open311`.
//! Every command takes `--config` and `--data-dir`.

mod calendar;
pub mod classifier;
mod dead_letters;
mod deadlines;
pub mod evaluate;
mod export;
mod hot;
pub(crate) mod import;
mod index;
mod notify;
mod open311;
mod people;
mod push;
mod report;
mod stats;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;
// The subcommands draw their bars with `super::progress_bar`.
use crate::progress::progress_bar;

/// complaint-gateway: every complaint channel of a city government in one durable, searchable
/// place.
#[derive(Debug, Parser)]
#[command(name = "complaint-gateway", version, about)]
pub struct Cli {
    /// Configuration file (default: the embedded `config/gateway.toml`).
    #[arg(long, global = true, env = "COMPLAINT_GATEWAY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (overrides `data_dir` of the configuration).
    #[arg(long, global = true, env = "COMPLAINT_GATEWAY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log as JSON lines.
    #[arg(long, global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway: HTTP API, webhooks, indexer.
    Serve {
        /// Listen address (overrides `listen` of the configuration).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Import complaints from files (JSON Lines, CSV or XLSX; `-` reads standard input).
    Import(import::ImportArgs),
    /// Sign and send a file of items to a gateway's webhook (reference client for channel
    /// operators; the secret comes from the environment).
    Push(push::PushArgs),
    /// Search complaints.
    Search(index::SearchArgs),
    /// Write every complaint to standard output or a file, streaming.
    Export(export::ExportArgs),
    /// Rebuild the search index from the store (stop `serve` first).
    Reindex,
    /// Recompute every derived field from the store, then bring the index up to date.
    Reprocess,
    /// Write a consistent copy of the store to FILE while the gateway keeps running (the
    /// search index is derived and rebuilt from the store when missing).
    Backup {
        /// Destination file; must not exist.
        output: PathBuf,
    },
    /// List and replay dead letters.
    #[command(subcommand, name = "dead-letters")]
    DeadLetters(dead_letters::DeadLetterCommand),
    /// Train, evaluate, list and activate complaint classifier models.
    #[command(subcommand)]
    Classifier(classifier::ClassifierCommand),
    /// Case deadlines: show, extend, answer, run the scheduler once.
    #[command(subcommand)]
    Deadline(deadlines::DeadlineCommand),
    /// The notification outbox: list with delivery status, deliver once.
    #[command(subcommand)]
    Outbox(deadlines::OutboxCommand),
    /// Notices: check the email templates after editing them.
    #[command(subcommand)]
    Notify(notify::NotifyCommand),
    /// The hottest cases of a recent window (complaints, complainants, recency, support,
    /// media exposure).
    Hot(hot::HotArgs),
    /// The statistics of a period: received, the 三率 (响应率, 解决率, 满意率), 签收及时率,
    /// 按时办结率, overdue now, 退单 and 重办; per unit, channel or category; a series.
    Stats(stats::StatsArgs),
    /// The monthly report to the city government: received by channel, the 三率 and
    /// timeliness per unit, overdue, hot issues, 责任追究; a printable HTML page or CSV.
    Report(report::ReportArgs),
    /// Measure the quality of derived data against a labelled file.
    #[command(subcommand)]
    Evaluate(evaluate::EvaluateCommand),
    /// Benchmarks, run on this machine.
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
    /// Staff accounts: add, list, passwd, disable, enable, roles, unlock.
    #[command(subcommand)]
    User(people::UserCommand),
    /// API tokens of staff accounts: create (shown once), list, revoke.
    #[command(subcommand)]
    Token(people::TokenCommand),
    /// The audit record: verify its chain, list entries.
    #[command(subcommand)]
    Audit(people::AuditCommand),
    /// The working-day calendar: list its years, show one, import one from a file.
    #[command(subcommand)]
    Calendar(calendar::CalendarCommand),
    /// The Open311 server's clients: add (prints the api_key once), list, disable.
    #[command(subcommand)]
    Open311(open311::Open311Command),
}

impl Cli {
    /// The configuration with command-line overrides applied.
    pub fn load_config(&self) -> anyhow::Result<Config> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        Ok(config)
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = cli.load_config()?;
    match cli.command {
        Command::Serve { listen } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
            crate::app::run(config, listener, crate::app::shutdown_signal()).await
        }
        Command::Import(args) => import::run(&config, args).await,
        Command::Push(args) => push::run(args).await,
        Command::Search(args) => index::search(&config, args).await,
        Command::Export(args) => export::run(&config, args).await,
        Command::Reindex => index::reindex(&config).await,
        Command::Reprocess => index::reprocess(&config).await,
        Command::Backup { output } => backup(&config, &output).await,
        Command::DeadLetters(command) => dead_letters::run(&config, command).await,
        Command::Classifier(command) => classifier::run(&config, command).await,
        Command::Deadline(command) => deadlines::run_deadline(&config, command).await,
        Command::Outbox(command) => deadlines::run_outbox(&config, command).await,
        Command::Notify(command) => notify::run(&config, command),
        Command::Hot(args) => hot::run(&config, args).await,
        Command::Stats(args) => stats::run(&config, args).await,
        Command::Report(args) => report::run(&config, args).await,
        Command::Evaluate(command) => evaluate::run(&config, command).await,
        Command::Bench(command) => crate::bench::run(&config, command).await,
        Command::User(command) => people::run_user(&config, command).await,
        Command::Calendar(command) => calendar::run(&config, command).await,
        Command::Token(command) => people::run_token(&config, command).await,
        Command::Audit(command) => people::run_audit(&config, command).await,
        Command::Open311(command) => open311::run(&config, command).await,
    }
}

async fn backup(config: &Config, output: &std::path::Path) -> anyhow::Result<()> {
    if output.exists() {
        anyhow::bail!("{} already exists; choose a new file", output.display());
    }
    let store =
        crate::store::Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let started = std::time::Instant::now();
    store.backup_to(output).await?;
    let count = store.complaint_count().await?;
    store.close().await;
    println!(
        "backed up {count} complaints to {} in {:.1}s",
        output.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
