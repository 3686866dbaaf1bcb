use clap::Parser;
use complaint_gateway::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    complaint_gateway::telemetry::init_logging(cli.log_json);
    if matches!(cli.command, Command::Serve { .. }) {
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
