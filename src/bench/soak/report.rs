//! The soak's figures: what the process uses (from /proc), the line printed per minute, and the
//! verdict windows. Pure functions where possible, so the arithmetic is unit-tested.

use std::fmt::Write as _;
use std::path::Path;

/// One minute of the soak as printed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Minute {
    /// 1-based.
    pub minute: u32,
    /// Highest of the minute's samples (one a second).
    pub rss_mib: f64,
    /// Highest of the minute's samples of the anonymous part of the RSS (what the process
    /// itself holds, without the files it maps).
    pub anon_mib: f64,
    /// What SQLite itself holds (page caches, statements), at the minute's end.
    pub sqlite_mib: f64,
    /// The heap the gateway holds (allocated, not freed; `gateway_heap_in_use_bytes`), at the
    /// minute's end: only a gateway built with glibc's allocator reports it.
    pub heap_mib: Option<f64>,
    /// The grouping engine's own tables (`gateway_grouping_heap_bytes`), at the minute's end.
    pub grouping_mib: f64,
    /// The search index's segments and its readers' cached document-store blocks
    /// (`gateway_index_segments`, `gateway_index_doc_store_cached_blocks`), at the minute's end.
    pub index_segments: f64,
    pub doc_store_blocks: f64,
    pub fds: u64,
    pub wal_mib: f64,
    /// Highest of the minute's samples of /metrics (one every five seconds).
    pub index_lag: f64,
    pub pipeline_lag: f64,
    /// (p50, p99) in milliseconds of the answered requests of the minute.
    pub push_ms: (f64, f64),
    pub search_ms: (f64, f64),
    /// Webhook items acknowledged in the minute (new, revisions and duplicates).
    pub items: u64,
    /// New complaints and revisions the four pull sources stored in the minute.
    pub pulled: u64,
    /// Answers that were not what the request called for (deliberate bad items answered as
    /// expected are not errors).
    pub errors: u64,
    /// CPU time of the gateway's process in the minute, in cores.
    pub cores: f64,
    /// CPU time of the load generator (the benchmark's own process) in the minute, in cores.
    pub load_cores: f64,
    /// The machine's one-minute load average at the end of the minute.
    pub load: f64,
    /// Where the load generator could not keep the rate, empty otherwise.
    pub notes: String,
}

/// The column titles, aligned with [`line`].
pub fn header() -> String {
    format!(
        "{:>3} {:>7} {:>5} {:>5} {:>6} {:>5} {:>5} {:>7} {:>7} {:>8} {:>15} {:>15} {:>6} {:>6} {:>5} {:>5} {:>5} {:>5} {:>4} {:>6}  notes",
        "min",
        "RSS MiB",
        "anon",
        "heap",
        "sqlite",
        "group",
        "fds",
        "WAL MiB",
        "idx lag",
        "pipe lag",
        "push p50/p99 ms",
        "srch p50/p99 ms",
        "items",
        "pulled",
        "errs",
        "cores",
        "gen",
        "load",
        "segs",
        "blocks"
    )
}

/// One minute's line.
pub fn line(m: &Minute) -> String {
    let pair = |(a, b): (f64, f64)| format!("{a:.1}/{b:.1}");
    format!(
        "{:>3} {:>7.1} {:>5.0} {:>5} {:>6.0} {:>5.0} {:>5} {:>7.1} {:>7.0} {:>8.0} {:>15} {:>15} {:>6} {:>6} {:>5} {:>5.2} {:>5.2} {:>5.2} {:>4.0} {:>6.0}  {}",
        m.minute,
        m.rss_mib,
        m.anon_mib,
        m.heap_mib.map_or("-".to_string(), |h| format!("{h:.0}")),
        m.sqlite_mib,
        m.grouping_mib,
        m.fds,
        m.wal_mib,
        m.index_lag,
        m.pipeline_lag,
        pair(m.push_ms),
        pair(m.search_ms),
        m.items,
        m.pulled,
        m.errors,
        m.cores,
        m.load_cores,
        m.load,
        m.index_segments,
        m.doc_store_blocks,
        m.notes
    )
    .trim_end()
    .to_string()
}

/// A `/proc/<pid>/status` field in kB (`VmRSS:`, `VmHWM:`), if present.
pub fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l[field.len()..].split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
}

/// Resident memory of process `pid` and its anonymous part (heap), in MiB (0 where /proc is
/// missing).
pub fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mib = |field| status_kib(&status, field).unwrap_or(0) as f64 / 1024.0;
    (mib("VmRSS:"), mib("RssAnon:"))
}

/// Open file descriptors of process `pid`: the entries of its /proc/<pid>/fd.
pub fn open_fds(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| entries.count() as u64)
        .unwrap_or(0)
}

/// CPU time (user + system) of process `pid` so far, in seconds (0 where /proc is missing).
pub fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    parse_stat_cpu_ticks(&stat).map_or(0.0, |t| t as f64 / ticks)
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line, in clock ticks. The command
/// name (field 2) is in parentheses and may hold spaces, so fields are counted after its `)`.
pub fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Size of a file in MiB, 0 when it does not exist.
pub fn file_mib(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / (1 << 20) as f64)
}

/// The one-minute figure of `/proc/loadavg`.
pub fn parse_loadavg(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

/// The machine's one-minute load average (0 where /proc is missing).
pub fn loadavg() -> f64 {
    parse_loadavg(&std::fs::read_to_string("/proc/loadavg").unwrap_or_default()).unwrap_or(0.0)
}

/// Total size of the files under `dir`, in MiB.
pub fn dir_mib(dir: &Path) -> f64 {
    fn walk(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| match e.file_type() {
                        Ok(t) if t.is_dir() => walk(&e.path()),
                        _ => e.metadata().map_or(0, |m| m.len()),
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(dir) as f64 / (1 << 20) as f64
}

/// The minutes compared by the verdict (inclusive, 1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    pub early: (u32, u32),
    pub late: (u32, u32),
    /// The run is not 30 minutes long: the windows are 5–15 and 20–30 scaled to its length.
    pub scaled: bool,
}

/// The windows for a run of `minutes`: minutes 5–15 and 20–30 of a 30-minute run, scaled
/// proportionally (rounded) for another length, the late window always after the early one.
/// `None` for a run too short to have two windows.
pub fn windows(minutes: u32) -> Option<Windows> {
    if minutes < 2 {
        return None;
    }
    let at = |k: u32| ((k * minutes + 15) / 30).clamp(1, minutes);
    let early = (at(5), at(15).max(at(5)));
    let late_start = at(20).max(early.1 + 1);
    (late_start <= minutes).then_some(Windows {
        early,
        late: (late_start, minutes),
        scaled: minutes != 30,
    })
}

/// Peaks of one figure in the two windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub early_peak: f64,
    pub late_peak: f64,
    /// Late peak as a percentage of the early one; `None` when the early peak is 0.
    pub percent: Option<f64>,
    /// The late peak is at most 110% of the early one.
    pub bounded: bool,
}

/// The verdict over `(minute, value)` pairs.
pub fn verdict(values: &[(u32, f64)], windows: &Windows) -> Verdict {
    let peak = |(from, to): (u32, u32)| {
        values
            .iter()
            .filter(|(m, _)| (from..=to).contains(m))
            .map(|(_, v)| *v)
            .fold(0.0_f64, f64::max)
    };
    let (early_peak, late_peak) = (peak(windows.early), peak(windows.late));
    let percent = (early_peak > 0.0).then(|| late_peak / early_peak * 100.0);
    let bounded = match percent {
        // A hair of tolerance so that exactly 110% (printed rounded) counts as bounded.
        Some(p) => p <= 110.0 + 1e-9,
        None => late_peak == 0.0,
    };
    Verdict {
        early_peak,
        late_peak,
        percent,
        bounded,
    }
}

/// The verdict lines for memory, descriptors and WAL.
pub fn verdict_lines(series: &[Minute], windows: &Windows) -> String {
    /// Name, unit, decimals, and where the figure is in a minute.
    type Figure = (&'static str, &'static str, usize, fn(&Minute) -> f64);
    let figures: [Figure; 4] = [
        // The process's own memory; the RSS adds the index files it maps (page cache the
        // kernel reclaims at will, growing with the index).
        ("memory (anon)", " MiB", 1, |m| m.anon_mib),
        ("memory (RSS)", " MiB", 1, |m| m.rss_mib),
        ("open fds", "", 0, |m| m.fds as f64),
        ("WAL", " MiB", 1, |m| m.wal_mib),
    ];
    let mut out = String::new();
    for (name, unit, decimals, get) in figures {
        let values: Vec<(u32, f64)> = series.iter().map(|m| (m.minute, get(m))).collect();
        let v = verdict(&values, windows);
        let percent = v
            .percent
            .map_or("n/a (early peak 0)".to_string(), |p| format!("{p:.0}%"));
        let _ = writeln!(
            out,
            "  {name:<13} peak {:.decimals$}{unit} in minutes {}-{} vs {:.decimals$}{unit} in minutes {}-{}: {percent} -> {}",
            v.late_peak,
            windows.late.0,
            windows.late.1,
            v.early_peak,
            windows.early.0,
            windows.early.1,
            if v.bounded { "bounded" } else { "NOT bounded" }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_minutes_compare_5_15_with_20_30() {
        let w = windows(30).unwrap();
        assert_eq!((w.early, w.late, w.scaled), ((5, 15), (20, 30), false));
    }

    #[test]
    fn shorter_and_longer_runs_scale_the_windows() {
        assert_eq!(windows(10).unwrap().early, (2, 5));
        assert_eq!(windows(10).unwrap().late, (7, 10));
        assert!(windows(10).unwrap().scaled);
        assert_eq!(windows(60).unwrap().early, (10, 30));
        assert_eq!(windows(60).unwrap().late, (40, 60));
        // Very short runs still get two disjoint, non-empty windows.
        let w3 = windows(3).unwrap();
        assert_eq!((w3.early, w3.late), ((1, 2), (3, 3)));
        let w2 = windows(2).unwrap();
        assert_eq!((w2.early, w2.late), ((1, 1), (2, 2)));
        assert_eq!(windows(1), None);
        assert_eq!(windows(0), None);
        for minutes in 2..200 {
            let w = windows(minutes).unwrap();
            assert!(1 <= w.early.0 && w.early.0 <= w.early.1, "{minutes}: {w:?}");
            assert!(
                w.early.1 < w.late.0 && w.late.0 <= w.late.1,
                "{minutes}: {w:?}"
            );
            assert_eq!(w.late.1, minutes);
        }
    }

    #[test]
    fn verdict_compares_the_peaks_of_the_windows() {
        let w = windows(30).unwrap();
        // Values outside both windows (minute 1's start-up, minutes 16-19) do not count.
        let series: Vec<(u32, f64)> = (1..=30)
            .map(|m| match m {
                1 => (m, 900.0),
                10 => (m, 200.0),
                17 => (m, 500.0),
                25 => (m, 220.0),
                _ => (m, 100.0),
            })
            .collect();
        let v = verdict(&series, &w);
        assert_eq!((v.early_peak, v.late_peak), (200.0, 220.0));
        assert!((v.percent.unwrap() - 110.0).abs() < 1e-9);
        assert!(v.bounded, "exactly 110% is bounded");
        let grown: Vec<(u32, f64)> = series
            .iter()
            .map(|&(m, v)| if m == 30 { (m, 221.0) } else { (m, v) })
            .collect();
        assert!(!verdict(&grown, &w).bounded);
    }

    #[test]
    fn an_early_peak_of_zero_is_bounded_only_if_the_late_one_is_too() {
        let w = windows(30).unwrap();
        let zero: Vec<(u32, f64)> = (1..=30).map(|m| (m, 0.0)).collect();
        let v = verdict(&zero, &w);
        assert_eq!(v.percent, None);
        assert!(v.bounded);
        let late: Vec<(u32, f64)> = (1..=30)
            .map(|m| (m, if m > 20 { 1.0 } else { 0.0 }))
            .collect();
        assert!(!verdict(&late, &w).bounded);
    }

    #[test]
    fn the_cpu_ticks_of_a_stat_line_are_counted_after_the_command_name() {
        // pid, (comm with a space and a parenthesis), state, then fields 4-13, utime, stime.
        let stat = "4242 (complaint (gw) x) S 1 2 3 4 5 6 7 8 9 10 250 31 0 0 20 0 9";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(281));
        assert_eq!(parse_stat_cpu_ticks("garbage"), None);
    }

    #[test]
    fn proc_fields_are_parsed() {
        let status = "Name:\tcomplaint-gatew\nVmPeak:\t  912344 kB\nVmHWM:\t  301000 kB\nVmRSS:\t  287512 kB\nRssAnon:\t  250000 kB\nRssFile:\t   37512 kB\nThreads:\t14\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(287_512));
        assert_eq!(status_kib(status, "VmHWM:"), Some(301_000));
        assert_eq!(status_kib(status, "RssAnon:"), Some(250_000));
        assert_eq!(status_kib(status, "VmSwap:"), None);
        assert_eq!(status_kib("VmRSS:\tlots kB\n", "VmRSS:"), None);
        assert_eq!(parse_loadavg("1.52 0.98 0.77 3/412 12345\n"), Some(1.52));
        assert_eq!(parse_loadavg(""), None);
    }

    #[test]
    fn a_line_has_every_column() {
        let m = Minute {
            minute: 7,
            rss_mib: 301.31,
            anon_mib: 250.4,
            heap_mib: Some(180.6),
            sqlite_mib: 120.2,
            grouping_mib: 33.6,
            index_segments: 12.0,
            doc_store_blocks: 300.0,
            fds: 61,
            wal_mib: 4.0,
            index_lag: 12.0,
            pipeline_lag: 0.0,
            push_ms: (1.24, 9.87),
            search_ms: (3.0, 14.5),
            items: 9001,
            pulled: 77,
            errors: 0,
            cores: 0.61,
            load_cores: 0.33,
            load: 1.5,
            notes: String::new(),
        };
        let text = line(&m);
        assert!(
            text.starts_with("  7   301.3   250   181    120    34    61     4.0"),
            "{text}"
        );
        assert!(
            text.contains("1.2/9.9") && text.contains("3.0/14.5"),
            "{text}"
        );
        assert!(text.ends_with("0.61  0.33  1.50   12    300"), "{text}");
        assert_eq!(header().split_whitespace().next(), Some("min"));
        let without_heap = line(&Minute {
            heap_mib: None,
            ..m
        });
        assert!(
            without_heap.starts_with("  7   301.3   250     -    120"),
            "{without_heap}"
        );
    }
}
