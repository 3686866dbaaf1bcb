//! `calendar list|show|import`: the working-day calendar's years, and storing one from a file
//! in the calendar files' format (works beside a running gateway, which counts on the new year
//! from its scheduler's next tick; deadlines waiting for the year are counted again at once).

use std::path::PathBuf;

use clap::Subcommand;

use super::people::{AsUser, actor};
use crate::config::Config;
use crate::notify::calendar_years;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// The years the calendar knows and where each comes from.
    List,
    /// One year's holidays and working weekends, as a calendar file.
    Show { year: i32 },
    /// Check and store a year from a file like config/calendar/2026.toml (`year`, `holidays`,
    /// `working_weekends`); provisional deadlines of that year are counted again.
    Import {
        file: PathBuf,
        #[command(flatten)]
        actor: AsUser,
    },
}

pub async fn run(config: &Config, command: CalendarCommand) -> anyhow::Result<()> {
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let result = run_on(config, &store, command).await;
    store.close().await;
    result
}

async fn run_on(config: &Config, store: &Store, command: CalendarCommand) -> anyhow::Result<()> {
    let dir = &config.deadlines.calendar_dir;
    match command {
        CalendarCommand::List => {
            let (calendar, _) = calendar_years::load(store, dir).await?;
            for year in calendar.years() {
                let Some(days) = calendar.year_days(year) else {
                    continue;
                };
                println!(
                    "{year}  {} holidays, {} working weekends  ({})",
                    days.holidays.len(),
                    days.working_weekends.len(),
                    calendar.origin(year).unwrap_or_default()
                );
            }
            match calendar.last_day() {
                Some(last) => println!("deadlines after {last} are provisional"),
                None => println!("no year known: every working-day deadline is provisional"),
            }
        }
        CalendarCommand::Show { year } => {
            let (calendar, _) = calendar_years::load(store, dir).await?;
            let Some(days) = calendar.year_days(year) else {
                anyhow::bail!(
                    "the calendar does not know {year}; store it with `complaint-gateway calendar import FILE`"
                );
            };
            print!(
                "{}",
                days.to_toml(calendar.origin(year).unwrap_or_default())
            );
        }
        CalendarCommand::Import {
            file,
            actor: as_user,
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let days = crate::calendar::parse_year(&text, &file.display().to_string())?;
            let who = actor(store, &as_user).await?.to_string();
            let shared = calendar_years::load_shared(store, dir).await?;
            let stored =
                calendar_years::store_year(store, &shared, config, &days, &who, chrono::Utc::now())
                    .await?;
            println!(
                "stored {}: {} holidays, {} working weekends{}",
                stored.year,
                stored.holidays,
                stored.working_weekends,
                match &stored.replaced {
                    Some(origin) => format!(" (replacing {origin})"),
                    None => String::new(),
                }
            );
            println!(
                "provisional deadlines counted again: {}; extended ones left for staff to check: {}",
                stored.recounted, stored.kept_extended
            );
        }
    }
    Ok(())
}
