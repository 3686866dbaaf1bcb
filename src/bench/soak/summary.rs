//! The soak's closing figures: the verdict, the run's totals, and how long derived work took
//! to catch up; and what is read from the gateway's `/metrics` for them.

use std::time::{Duration, Instant};

use super::load::{Ctx, Gen};
use super::report::{self, Minute};
use super::{SoakArgs, connector_files, upstream};

/// The gateway's `/metrics` text ("" when it does not answer).
pub async fn metrics(client: &reqwest::Client, base: &str) -> String {
    match client.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// New complaints and revisions stored from the pull sources so far, from /metrics.
pub fn pulled(metrics: &str, source: Option<&str>) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("gateway_intake_items_total{"))
        .filter(|l| l.contains("outcome=\"created\"") || l.contains("outcome=\"revised\""))
        .filter(|l| {
            connector_files::PULL_SOURCES.iter().any(|s| {
                source.is_none_or(|only| only == *s) && l.contains(&format!("source=\"{s}\""))
            })
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The verdict and the run's totals.
pub fn summary(
    args: &SoakArgs,
    series: &[Minute],
    ctx: &Ctx,
    feed: &upstream::Feed,
    drained: bool,
    elapsed: f64,
) {
    use std::sync::atomic::Ordering::Relaxed;
    println!();
    match report::windows(args.minutes) {
        Some(windows) => {
            let scaled = if windows.scaled {
                format!(
                    " (a {}-minute run: minutes 5-15 and 20-30 of 30 scaled to {}-{} and {}-{})",
                    args.minutes, windows.early.0, windows.early.1, windows.late.0, windows.late.1
                )
            } else {
                String::new()
            };
            println!("verdict: late peak / early peak, bounded when at most 110%{scaled}");
            print!("{}", report::verdict_lines(series, &windows));
        }
        None => println!("verdict: none (a run of 1 minute has no two windows to compare)"),
    }
    let (total, outcomes) = ctx.stats.take_total();
    println!(
        "\nover {elapsed:.0} s: {} pushes, {} searches, {} staff decisions sent; {} webhook items acknowledged ({} duplicates, {} revisions), {} invalid items refused as intended; {} errors",
        total.sent[0],
        total.sent[1],
        total.sent[2],
        total.items,
        total.duplicates,
        total.revisions,
        total.rejected_items,
        total.errors
    );
    for which in [Gen::Push, Gen::Search, Gen::Staff] {
        let (p50, p99) = total.percentiles_ms(which);
        println!(
            "  {:<6} latency p50 {p50:.1} ms, p99 {p99:.1} ms, max {:.1} ms",
            which.name(),
            total.max_ms(which)
        );
    }
    let shortfall = total.shortfall([
        args.pushes_per_sec * elapsed,
        args.searches_per_sec * elapsed,
        0.0,
    ]);
    if !shortfall.is_empty() {
        println!("  over the whole run: {shortfall}");
    }
    if !drained {
        println!("  requests were still outstanding 60 s after the load stopped");
    }
    println!("answers by outcome:");
    for (what, count) in &outcomes {
        println!("  {count:>8}  {what}");
    }
    println!(
        "local upstream: {} hotline pages, {} Open311 queries, {} feed requests ({} not modified), {} petition exports dropped",
        feed.served.hotline.load(Relaxed),
        feed.served.open311.load(Relaxed),
        feed.served.media.load(Relaxed),
        feed.served.media_not_modified.load(Relaxed),
        feed.served.petition_files.load(Relaxed)
    );
}

/// After the load: how long until the index and the pipeline had caught up.
pub async fn catch_up(client: &reqwest::Client, base: &str) {
    let stopped = Instant::now();
    let mut first = None;
    while stopped.elapsed() < Duration::from_secs(300) {
        let text = metrics(client, base).await;
        let lags = (
            crate::bench::metric(&text, "gateway_index_lag"),
            crate::bench::metric(&text, "gateway_pipeline_lag"),
        );
        let (index, pipeline) = *first.get_or_insert(lags);
        if lags == (0.0, 0.0) {
            println!(
                "after the load the index was {index:.0} and the pipeline {pipeline:.0} complaints behind; both caught up {:.1} s later",
                stopped.elapsed().as_secs_f64()
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("the index or the pipeline had not caught up 300 s after the load");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulled_sums_new_and_revised_items_of_the_pull_sources() {
        let text = "\
gateway_intake_items_total{source=\"hotline\",outcome=\"created\"} 40
gateway_intake_items_total{source=\"hotline\",outcome=\"duplicate\"} 400
gateway_intake_items_total{outcome=\"revised\",source=\"online\"} 2
gateway_intake_items_total{source=\"soak\",outcome=\"created\"} 9000
gateway_intake_items_total{source=\"petition\",outcome=\"created\"} 15
gateway_index_lag 3
";
        assert_eq!(pulled(text, None), 57.0);
        assert_eq!(pulled(text, Some("online")), 2.0);
        assert_eq!(pulled(text, Some("media")), 0.0);
    }
}
