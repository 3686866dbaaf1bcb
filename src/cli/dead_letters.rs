//! `complaint-gateway dead-letters list|show|replay`.

use std::path::PathBuf;

use clap::Subcommand;

use crate::config::Config;
use crate::store::{DeadLetterFilter, Store};

#[derive(Debug, Subcommand)]
pub enum DeadLetterCommand {
    /// List dead letters, newest first.
    List {
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Also list replayed ones.
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Print one dead letter's raw bytes (decoded when they are text).
    Show { id: String },
    /// Replay a dead letter: re-parse its bytes, or store a corrected item from a file.
    Replay {
        id: String,
        /// File holding the corrected item (JSON).
        #[arg(long)]
        corrected: Option<PathBuf>,
    },
}

pub async fn run(config: &Config, command: DeadLetterCommand) -> anyhow::Result<()> {
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let result = match command {
        DeadLetterCommand::List { source, all, limit } => {
            let filter = DeadLetterFilter {
                source,
                include_replayed: all,
                limit,
                offset: 0,
            };
            let (total, letters) = store.dead_letters(&filter).await?;
            println!("{total} dead letters");
            for d in letters {
                let replayed = d
                    .replayed_as
                    .map(|c| format!("  (replayed as {c})"))
                    .unwrap_or_default();
                println!(
                    "{}  {}  {}  {}{replayed}",
                    d.id, d.received_at, d.source, d.reason
                );
            }
            Ok(())
        }
        DeadLetterCommand::Show { id } => match store.dead_letter(&id).await? {
            None => Err(anyhow::anyhow!("no dead letter with id `{id}`")),
            Some(d) => {
                println!(
                    "source: {}\nreceived: {}\nreason: {}\ncontent type: {}\n",
                    d.source, d.received_at, d.reason, d.raw_content_type
                );
                let charset = connectors::text::charset_of_content_type(&d.raw_content_type);
                match connectors::text::decode(&d.raw, charset) {
                    Ok(text) => println!("{}", text.text),
                    Err(_) => println!("({} bytes, not text)", d.raw.len()),
                }
                Ok(())
            }
        },
        DeadLetterCommand::Replay { id, corrected } => {
            let corrected = corrected
                .map(|p| {
                    std::fs::read(&p)
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
                })
                .transpose()?;
            let report = crate::replay::replay(&store, config, &id, corrected).await?;
            for a in &report.accepted {
                println!(
                    "stored as complaint {} (external id {})",
                    a.id, a.external_id
                );
            }
            for r in &report.rejected {
                println!("item {} still invalid: {}", r.index, r.error);
            }
            Ok(())
        }
    };
    store.close().await;
    result
}
