use clap::Parser;
use complaint_gateway::cli::{Cli, Command};

/// mimalloc instead of glibc's allocator: the pipeline, the indexer and intake allocate many
/// short-lived strings on several threads, and glibc's `malloc`/`free` and arena consolidation
/// took about a tenth of the pipeline threads' samples (see README, Dependencies and why).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    complaint_gateway::telemetry::init_logging(cli.log_json);
    if matches!(cli.command, Command::Serve { .. }) {
        complaint_gateway::memory::for_long_run();
        let _ = complaint_gateway::telemetry::prometheus();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(complaint_gateway::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
