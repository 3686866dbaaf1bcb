//! The working-day calendar: which days are working days in mainland China, from one file per
//! year (`config/calendar/<year>.toml`: public holidays, and weekend days that are working days
//! in lieu, 调休). Deadlines counted in working days use it.
//!
//! Contract: a date in a year without a file is an error ([`CalendarError::YearMissing`]),
//! never a silent guess. Routing uses [`Calendar::add_working_days_provisional`], which counts
//! such a year on weekdays alone and says so, so that the deadline is marked provisional and
//! counted again once the file is added.
//! The files for the years the gateway ships with are embedded, so it works without a
//! `config/` directory; files in the configured directory take precedence.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Weekday};
use serde::Deserialize;

/// Calendar files shipped with the gateway (year, text).
const EMBEDDED_YEARS: &[(i32, &str)] = &[
    (2025, include_str!("../../config/calendar/2025.toml")),
    (2026, include_str!("../../config/calendar/2026.toml")),
];

/// Why the calendar cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error(
        "no working-day calendar for {year}: add config/calendar/{year}.toml (holidays and \
         working weekends from the State Council notice) before computing deadlines in {year}"
    )]
    YearMissing { year: i32 },
    #[error("cannot read calendar file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid calendar file {origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// One yearly file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    /// The year every date of the file belongs to.
    year: i32,
    /// Days off (public holidays and the weekend days inside holiday blocks).
    holidays: Vec<NaiveDate>,
    /// Saturdays and Sundays that are working days in lieu (调休上班).
    working_weekends: Vec<NaiveDate>,
}

#[derive(Debug, Clone, Default)]
struct Year {
    holidays: BTreeSet<NaiveDate>,
    working_weekends: BTreeSet<NaiveDate>,
}

/// The working-day calendar of every known year.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    years: BTreeMap<i32, Year>,
}

impl Calendar {
    /// The calendar files embedded in the binary.
    pub fn embedded() -> Calendar {
        let mut calendar = Calendar::default();
        for (year, text) in EMBEDDED_YEARS {
            calendar
                .add_file(text, &format!("(embedded {year}.toml)"))
                .expect("embedded calendar files are valid");
        }
        calendar
    }

    /// The embedded years, overridden and extended by every `<year>.toml` in `dir` (a missing
    /// directory adds nothing).
    pub fn load(dir: &Path) -> Result<Calendar, CalendarError> {
        let mut calendar = Calendar::embedded();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(calendar),
            Err(source) => {
                return Err(CalendarError::Read {
                    path: dir.to_path_buf(),
                    source,
                });
            }
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|source| CalendarError::Read {
                path: path.clone(),
                source,
            })?;
            calendar.add_file(&text, &path.display().to_string())?;
        }
        Ok(calendar)
    }

    /// Adds (or replaces) one year from the text of its file.
    pub fn add_file(&mut self, text: &str, origin: &str) -> Result<i32, CalendarError> {
        let invalid = |message: String| CalendarError::Invalid {
            origin: origin.to_string(),
            message,
        };
        let file: YearFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut year = Year::default();
        for date in &file.holidays {
            if date.year() != file.year {
                return Err(invalid(format!("holiday {date} is not in {}", file.year)));
            }
            year.holidays.insert(*date);
        }
        for date in &file.working_weekends {
            if date.year() != file.year {
                return Err(invalid(format!(
                    "working day {date} is not in {}",
                    file.year
                )));
            }
            if !is_weekend(*date) {
                return Err(invalid(format!(
                    "working_weekends lists {date}, which is not a Saturday or Sunday"
                )));
            }
            if year.holidays.contains(date) {
                return Err(invalid(format!(
                    "{date} is both a holiday and a working day"
                )));
            }
            year.working_weekends.insert(*date);
        }
        self.years.insert(file.year, year);
        Ok(file.year)
    }

    /// The years this calendar knows.
    pub fn years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        let year = self
            .years
            .get(&date.year())
            .ok_or(CalendarError::YearMissing { year: date.year() })?;
        Ok(if year.working_weekends.contains(&date) {
            true
        } else if year.holidays.contains(&date) {
            false
        } else {
            !is_weekend(date)
        })
    }

    /// The end (at `day_end`, in `start`'s offset) of the `working_days`-th working day after
    /// the day of `start`: assigned on a Thursday, one working day is due Friday at `day_end`.
    pub fn add_working_days(
        &self,
        start: DateTime<FixedOffset>,
        working_days: u32,
        day_end: NaiveTime,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        let mut date = start.date_naive();
        let mut counted = 0;
        while counted < working_days {
            date = date.succ_opt().expect("dates far from the end of time");
            if self.is_working_day(date)? {
                counted += 1;
            }
        }
        let offset = *start.offset();
        Ok(offset
            .from_local_datetime(&date.and_time(day_end))
            .single()
            .expect("a fixed offset has no gaps"))
    }

    /// [`Calendar::add_working_days`] that does not stop at a year without a file: there,
    /// Monday to Friday count as working days (the weekend rule alone, no holidays, no 调休), and
    /// the first such year is returned with the result, so that the caller can mark the
    /// deadline provisional and compute it again once the State Council's notice for that year
    /// is in a file. Routing uses it: a missing December file must not stop every assignment.
    pub fn add_working_days_provisional(
        &self,
        start: DateTime<FixedOffset>,
        working_days: u32,
        day_end: NaiveTime,
    ) -> (DateTime<FixedOffset>, Option<i32>) {
        let mut date = start.date_naive();
        let mut counted = 0;
        let mut missing = None;
        while counted < working_days {
            date = date.succ_opt().expect("dates far from the end of time");
            let working = match self.is_working_day(date) {
                Ok(working) => working,
                Err(_) => {
                    missing.get_or_insert(date.year());
                    !is_weekend(date)
                }
            };
            if working {
                counted += 1;
            }
        }
        let offset = *start.offset();
        let due = offset
            .from_local_datetime(&date.and_time(day_end))
            .single()
            .expect("a fixed offset has no gaps");
        (due, missing)
    }

    /// The last day this calendar knows (31 December of its last year), if it knows any.
    pub fn last_day(&self) -> Option<NaiveDate> {
        self.years
            .keys()
            .next_back()
            .and_then(|year| NaiveDate::from_ymd_opt(*year, 12, 31))
    }

    /// `start` plus `hours` of clock time (urgent and high priorities run around the clock).
    pub fn add_hours(start: DateTime<FixedOffset>, hours: u32) -> DateTime<FixedOffset> {
        start + Duration::hours(i64::from(hours))
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    fn half_past_five() -> NaiveTime {
        NaiveTime::from_hms_opt(17, 30, 0).unwrap()
    }

    #[test]
    fn spring_festival_and_adjusted_saturdays() {
        let calendar = Calendar::embedded();
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(
            calendar.is_working_day(day("2026-02-14")).unwrap(),
            "调休 Saturday"
        );
        assert!(
            !calendar.is_working_day(day("2026-02-16")).unwrap(),
            "除夕 eve block"
        );
        assert!(
            !calendar.is_working_day(day("2026-02-23")).unwrap(),
            "last day off"
        );
        assert!(calendar.is_working_day(day("2026-02-24")).unwrap());
        assert!(
            !calendar.is_working_day(day("2026-03-01")).unwrap(),
            "plain Sunday"
        );
        // Thursday 12 Feb 2026 + 7 working days: Fri 13, Sat 14 (调休), 24, 25, 26, 27,
        // Sat 28 (调休).
        let due = calendar
            .add_working_days(at("2026-02-12T10:00:00+08:00"), 7, half_past_five())
            .unwrap();
        assert_eq!(due, at("2026-02-28T17:30:00+08:00"));
        // 2025: Friday 24 Jan + 1 → Sunday 26 Jan is a working day in lieu.
        let due = calendar
            .add_working_days(at("2025-01-24T09:00:00+08:00"), 1, half_past_five())
            .unwrap();
        assert_eq!(due, at("2025-01-26T17:30:00+08:00"));
    }

    #[test]
    fn a_year_without_a_file_is_a_clear_error() {
        let calendar = Calendar::embedded();
        let err = calendar
            .add_working_days(at("2026-12-24T10:00:00+08:00"), 15, half_past_five())
            .unwrap_err();
        assert!(matches!(err, CalendarError::YearMissing { year: 2027 }));
        assert!(
            err.to_string().contains("config/calendar/2027.toml"),
            "{err}"
        );
    }

    #[test]
    fn a_year_without_a_file_counts_weekdays_provisionally() {
        let calendar = Calendar::embedded();
        // Thursday 24 Dec 2026 + 15: 25, 28–31 (2026, 5), then 2027 on weekdays alone:
        // Fri 1 Jan, 4–8, 11–14 → Thursday 14 Jan 2027.
        let (due, missing) = calendar.add_working_days_provisional(
            at("2026-12-24T10:00:00+08:00"),
            15,
            half_past_five(),
        );
        assert_eq!(due, at("2027-01-14T17:30:00+08:00"));
        assert_eq!(missing, Some(2027));
        // Inside known years it is the official count, not provisional.
        let (due, missing) = calendar.add_working_days_provisional(
            at("2026-02-12T10:00:00+08:00"),
            7,
            half_past_five(),
        );
        assert_eq!((due, missing), (at("2026-02-28T17:30:00+08:00"), None));
        assert_eq!(calendar.last_day(), NaiveDate::from_ymd_opt(2026, 12, 31));
    }

    #[test]
    fn files_are_checked() {
        let mut calendar = Calendar::default();
        let err = calendar
            .add_file(
                "year = 2030\nholidays = []\nworking_weekends = [\"2030-01-02\"]",
                "t",
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("not a Saturday or Sunday"),
            "{err}"
        );
        let err = calendar
            .add_file("year = 2030\nholiday = []\nworking_weekends = []", "t")
            .unwrap_err();
        assert!(err.to_string().contains("holiday"), "{err}");
    }

    #[test]
    fn directory_files_extend_the_embedded_years() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("2027.toml"),
            "year = 2027\nholidays = [\"2027-01-01\"]\nworking_weekends = []",
        )
        .unwrap();
        let calendar = Calendar::load(dir.path()).unwrap();
        assert_eq!(calendar.years(), vec![2025, 2026, 2027]);
        let day = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        assert!(!calendar.is_working_day(day).unwrap());
    }
}
