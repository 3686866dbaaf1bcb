//! Progress bars for long commands (import, reindex, reprocess, training) and benchmarks: drawn
//! on a terminal's standard error, hidden otherwise (logs and pipes stay clean).

/// A progress bar on a terminal, hidden otherwise.
pub fn progress_bar(total: Option<u64>, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    let bar = match total {
        Some(total) => indicatif::ProgressBar::new(total),
        None => indicatif::ProgressBar::new_spinner(),
    };
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let template = if total.is_some() {
        "{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)"
    } else {
        "{msg:>10} {spinner} {pos} ({per_sec})"
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}
