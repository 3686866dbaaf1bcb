//! The calendar a running gateway counts on, shared by the pipeline, the scheduler and the API,
//! and replaced at once when an admin stores a year.

use std::sync::{Arc, RwLock};

use super::Calendar;

/// The current calendar, replaceable while the gateway runs. Readers take a snapshot with
/// [`SharedCalendar::current`] and count a whole batch or request on it.
#[derive(Debug)]
pub struct SharedCalendar {
    inner: RwLock<(Arc<Calendar>, i64)>,
}

impl SharedCalendar {
    /// `calendar`, built from stored years up to `version` (see
    /// [`crate::store::calendar::CalendarReads::calendar_version`]).
    pub fn new(calendar: Calendar, version: i64) -> SharedCalendar {
        SharedCalendar {
            inner: RwLock::new((Arc::new(calendar), version)),
        }
    }

    /// The calendar as it is now.
    pub fn current(&self) -> Arc<Calendar> {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .0
            .clone()
    }

    /// The stored-years version the current calendar was built from.
    pub fn version(&self) -> i64 {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .1
    }

    /// Replaces the calendar with one built from stored years up to `version`; an older
    /// version than the current one is ignored (two refreshes racing).
    pub fn replace(&self, calendar: Calendar, version: i64) {
        let mut inner = self
            .inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if version >= inner.1 {
            *inner = (Arc::new(calendar), version);
        }
    }
}

impl From<Calendar> for SharedCalendar {
    fn from(calendar: Calendar) -> SharedCalendar {
        SharedCalendar::new(calendar, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replacement_counts_at_once_and_an_older_one_is_ignored() {
        let shared = SharedCalendar::new(Calendar::default(), 3);
        assert!(shared.current().years().is_empty());
        shared.replace(Calendar::embedded(), 5);
        let years = shared.current().years();
        assert!(!years.is_empty(), "the new calendar counts at once");
        assert_eq!(shared.version(), 5);
        shared.replace(Calendar::default(), 4);
        assert_eq!(
            shared.current().years(),
            years,
            "an older build is not put back"
        );
        assert_eq!(shared.version(), 5);
    }
}
