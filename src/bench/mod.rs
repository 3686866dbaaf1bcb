//! Benchmarks (placeholder during development).
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    Intake,
}

pub async fn run(_config: &crate::config::Config, _command: BenchCommand) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
