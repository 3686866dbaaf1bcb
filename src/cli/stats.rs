//! `complaint-gateway stats`: the statistics of a period (as `GET /v1/stats`), from the store,
//! as a table or CSV.

use clap::Args;

use crate::config::Config;
use crate::stats::{ReportLine, StatsRequest, parse, read_report, to_csv};
use crate::store::Store;

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// `YYYY-MM-DD` (local midnight) or RFC 3339; default 30 days before `--to`.
    #[arg(long)]
    pub from: Option<String>,
    /// `YYYY-MM-DD` (that day included) or RFC 3339 (excluded); default now.
    #[arg(long)]
    pub to: Option<String>,
    /// Per `unit`, `channel` or `category`.
    #[arg(long)]
    pub by: Option<String>,
    /// A series by `day`, `week` or `month`.
    #[arg(long)]
    pub series: Option<String>,
    /// Print CSV instead of a table.
    #[arg(long)]
    pub csv: bool,
    /// Print JSON instead of a table.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
}

fn rate(value: Option<f64>) -> String {
    value.map_or("—".into(), |v| format!("{v:.1}%"))
}

fn print_line(label: &str, l: &ReportLine) {
    let (c, r) = (&l.counts, &l.rates);
    println!(
        "{label:<24} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}   {:>4} {:>4} {:>6}",
        c.received,
        rate(r.response),
        rate(r.resolution),
        rate(r.satisfaction),
        rate(r.accepted_on_time),
        rate(r.answered_on_time),
        c.returned,
        c.reopened,
        c.overdue_now,
    );
}

pub async fn run(config: &Config, args: StatsArgs) -> anyhow::Result<()> {
    let request = StatsRequest {
        from: args.from.as_deref(),
        to: args.to.as_deref(),
        by: args.by.as_deref(),
        series: args.series.as_deref(),
    };
    let offset = config.parse_options().default_offset;
    let query = parse(&request, offset, chrono::Utc::now()).map_err(anyhow::Error::msg)?;
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let measures = &config.accountability.measures;
    let report = read_report(&store, &request, &query, measures).await;
    store.close().await;
    let report = report?;
    if args.csv {
        print!("{}", to_csv(&report));
        return Ok(());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{} to {} (historical imports left out)",
        report.from, report.to
    );
    println!(
        "{:<24} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}   {:>4} {:>4} {:>6}",
        "",
        "received",
        "响应率",
        "解决率",
        "满意率",
        "签收及时",
        "按时办结",
        "退单",
        "重办",
        "overdue"
    );
    print_line("total", &report.total);
    for l in &report.groups {
        print_line(l.key.as_deref().unwrap_or("(none)"), l);
    }
    for l in &report.series {
        print_line(l.bucket.as_deref().unwrap_or(""), l);
    }
    let accountability = &report.accountability;
    println!(
        "责任追究: {} records decided {} to {} (excluded)",
        accountability.total, accountability.from_date, accountability.to_date
    );
    for l in &accountability.rows {
        println!(
            "  {:<22} {:<12} {:>4}",
            l.unit.as_deref().unwrap_or(""),
            l.measure.as_deref().unwrap_or(""),
            l.records
        );
    }
    Ok(())
}
