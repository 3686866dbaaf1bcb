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

mod shared;

pub use shared::SharedCalendar;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Weekday};
use serde::{Deserialize, Serialize};

/// Calendar files shipped with the gateway (year, text).
const EMBEDDED_YEARS: &[(i32, &str)] = &[
    (2025, include_str!("../../config/calendar/2025.toml")),
    (2026, include_str!("../../config/calendar/2026.toml")),
];

/// Why the calendar cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error(
        "no working-day calendar for {year}: store it (`complaint-gateway calendar import \
         {year}.toml`, PUT /v1/calendar/{year}, or a file config/calendar/{year}.toml) with the \
         holidays and working weekends of the State Council notice before computing deadlines \
         in {year}"
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

/// One year of the calendar: the content of a yearly file, and what `PUT /v1/calendar/{year}`
/// takes as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct YearDays {
    /// The year every date of the file belongs to.
    pub year: i32,
    /// Days off (public holidays and the weekend days inside holiday blocks).
    pub holidays: Vec<NaiveDate>,
    /// Saturdays and Sundays that are working days in lieu (调休上班).
    pub working_weekends: Vec<NaiveDate>,
}

impl YearDays {
    /// The year as a calendar file's text, dates sorted, with a first comment line `header`.
    pub fn to_toml(&self, header: &str) -> String {
        let list = |dates: &[NaiveDate]| {
            let mut dates = dates.to_vec();
            dates.sort();
            dates.dedup();
            dates
                .iter()
                .map(|d| format!("    \"{d}\",\n"))
                .collect::<String>()
        };
        format!(
            "# {header}\nyear = {}\n\nholidays = [\n{}]\n\nworking_weekends = [\n{}]\n",
            self.year,
            list(&self.holidays),
            list(&self.working_weekends)
        )
    }
}

#[derive(Debug, Clone, Default)]
struct Year {
    holidays: BTreeSet<NaiveDate>,
    working_weekends: BTreeSet<NaiveDate>,
    /// Where the year came from, for people: `embedded 2026.toml`, a file's path, a stored
    /// year.
    origin: String,
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
                .add_file(text, &format!("embedded {year}.toml"))
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
        let days = parse_year(text, origin)?;
        let year = days.year;
        self.add_year(&days, origin)?;
        Ok(year)
    }

    /// Adds (or replaces) one year after checking it ([`check_year`]).
    pub fn add_year(&mut self, days: &YearDays, origin: &str) -> Result<(), CalendarError> {
        check_year(days, origin)?;
        self.years.insert(
            days.year,
            Year {
                holidays: days.holidays.iter().copied().collect(),
                working_weekends: days.working_weekends.iter().copied().collect(),
                origin: origin.to_string(),
            },
        );
        Ok(())
    }

    /// One known year's days, sorted.
    pub fn year_days(&self, year: i32) -> Option<YearDays> {
        self.years.get(&year).map(|y| YearDays {
            year,
            holidays: y.holidays.iter().copied().collect(),
            working_weekends: y.working_weekends.iter().copied().collect(),
        })
    }

    /// Where a known year came from.
    pub fn origin(&self, year: i32) -> Option<&str> {
        self.years.get(&year).map(|y| y.origin.as_str())
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

/// Parses a yearly file's text and checks it ([`check_year`]); `origin` names it in errors.
pub fn parse_year(text: &str, origin: &str) -> Result<YearDays, CalendarError> {
    let days: YearDays = toml::from_str(text).map_err(|e| CalendarError::Invalid {
        origin: origin.to_string(),
        message: e.to_string(),
    })?;
    check_year(&days, origin)?;
    Ok(days)
}

/// Checks a year: a plausible year, at least one holiday, every date in the year, working
/// weekends on a Saturday or Sunday, and no day both a holiday and a working day.
pub fn check_year(days: &YearDays, origin: &str) -> Result<(), CalendarError> {
    let invalid = |message: String| CalendarError::Invalid {
        origin: origin.to_string(),
        message,
    };
    if !(2000..=2100).contains(&days.year) {
        return Err(invalid(format!("year {} is outside 2000–2100", days.year)));
    }
    if days.holidays.is_empty() {
        return Err(invalid(format!(
            "{} lists no holidays: every year has public holidays (元旦, 春节 …); copy them from \
             the State Council notice",
            days.year
        )));
    }
    for date in &days.holidays {
        if date.year() != days.year {
            return Err(invalid(format!("holiday {date} is not in {}", days.year)));
        }
    }
    for date in &days.working_weekends {
        if date.year() != days.year {
            return Err(invalid(format!(
                "working day {date} is not in {}",
                days.year
            )));
        }
        if !is_weekend(*date) {
            return Err(invalid(format!(
                "working_weekends lists {date}, which is not a Saturday or Sunday"
            )));
        }
        if days.holidays.contains(date) {
            return Err(invalid(format!(
                "{date} is both a holiday and a working day"
            )));
        }
    }
    Ok(())
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
                "year = 2030\nholidays = [\"2030-01-01\"]\nworking_weekends = [\"2030-01-02\"]",
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

    #[test]
    fn a_year_round_trips_through_its_file_and_bad_years_are_named() {
        let calendar = Calendar::embedded();
        let days = calendar.year_days(2026).unwrap();
        let text = days.to_toml("a copy");
        assert_eq!(parse_year(&text, "copy").unwrap(), days);
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let refused = |days: YearDays| check_year(&days, "test").unwrap_err().to_string();
        let mut stray = days.clone();
        stray.holidays.push(day("2027-01-01"));
        assert!(refused(stray).contains("holiday 2027-01-01 is not in 2026"));
        let mut weekday = days.clone();
        weekday.working_weekends.push(day("2026-03-04"));
        assert!(refused(weekday).contains("2026-03-04, which is not a Saturday or Sunday"));
        let mut both = days.clone();
        both.working_weekends.push(day("2026-10-03"));
        assert!(refused(both).contains("2026-10-03 is both a holiday and a working day"));
        let empty = YearDays {
            year: 2026,
            holidays: Vec::new(),
            working_weekends: Vec::new(),
        };
        assert!(refused(empty).contains("lists no holidays"));
        let mut far = days;
        far.year = 1900;
        assert!(refused(far).contains("outside"));
        let mut replaced = Calendar::embedded();
        let mut moved = replaced.year_days(2026).unwrap();
        moved.holidays.retain(|d| *d != day("2026-04-06"));
        replaced.add_year(&moved, "stored by test").unwrap();
        assert!(replaced.is_working_day(day("2026-04-06")).unwrap());
        assert_eq!(replaced.origin(2026), Some("stored by test"));
        assert_eq!(calendar.origin(2026), Some("embedded 2026.toml"));
    }
}
