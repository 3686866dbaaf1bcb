//! The units a case is about (its subjects): recorded per case and queue, with where the
//! finding came from (`target_unit`, `text`, `rule` or `staff`), who recorded it, when, and a
//! note. A subject's unit never sees who complained. Staff may remove any subject, an
//! automatically found one included (a false alias match): the row stays, marked removed, so
//! the removal is kept and the pipeline does not find the subject again. The operations are
//! on [`super::routes::RouteReads`] and [`super::routes::RouteWrites`].
//!
//! Found automatically rows are derived (a full reprocess drops the active ones and finds them
//! again); staff rows and removals are decisions and are kept.

use serde::Serialize;

/// Where a subject came from: the complaint's target unit names the unit.
pub const ORIGIN_TARGET_UNIT: &str = "target_unit";
/// The complaint's text names the unit or one of its aliases.
pub const ORIGIN_TEXT: &str = "text";
/// A routing rule declares the unit the subject (`subject = "queue"`).
pub const ORIGIN_RULE: &str = "rule";
/// A member of staff named the unit.
pub const ORIGIN_STAFF: &str = "staff";
/// Every origin.
pub const ORIGINS: [&str; 4] = [ORIGIN_TARGET_UNIT, ORIGIN_TEXT, ORIGIN_RULE, ORIGIN_STAFF];

/// One unit a case is about, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CaseSubject {
    /// The case (or a complaint outside any case: its route key).
    pub case_id: String,
    /// The unit's queue key.
    pub queue: String,
    /// `target_unit`, `text`, `rule` or `staff`.
    pub origin: String,
    /// Who recorded it: the pipeline (`system:…`) or the member of staff.
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
    /// Why (the rule's name, the alias found, the staff's note).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Set when staff removed it: who, when and why. A removed subject masks nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_note: Option<String>,
}

impl CaseSubject {
    /// Whether it counts (not removed by staff).
    pub fn is_active(&self) -> bool {
        self.removed_at.is_none()
    }
}

/// A subject to record.
#[derive(Debug, Clone, Copy)]
pub struct NewSubject<'a> {
    pub case_id: &'a str,
    pub queue: &'a str,
    /// One of [`ORIGINS`].
    pub origin: &'a str,
    pub by: &'a str,
    pub at: &'a str,
    pub note: Option<&'a str>,
}

/// A removal by staff.
#[derive(Debug, Clone, Copy)]
pub struct SubjectRemoval<'a> {
    pub case_id: &'a str,
    pub queue: &'a str,
    /// When no row exists (a subject found on the fly, before subjects were recorded), one is
    /// recorded with this origin and marked removed; `None` removes only a recorded subject.
    pub origin_if_absent: Option<&'a str>,
    pub by: &'a str,
    pub at: &'a str,
    pub note: Option<&'a str>,
}

/// The queue keys an exposure counts, from a case's recorded subjects and the ones found on
/// the fly (`computed`): the active recorded ones and the computed ones staff has not removed.
pub fn effective_subjects(recorded: &[CaseSubject], computed: &[String]) -> Vec<String> {
    let mut queues: Vec<String> = recorded
        .iter()
        .filter(|s| s.is_active())
        .map(|s| s.queue.clone())
        .collect();
    for queue in computed {
        let removed = recorded.iter().any(|s| &s.queue == queue && !s.is_active());
        if !removed && !queues.contains(queue) {
            queues.push(queue.clone());
        }
    }
    queues
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(queue: &str, removed: bool) -> CaseSubject {
        CaseSubject {
            case_id: "c1".into(),
            queue: queue.into(),
            origin: ORIGIN_TEXT.into(),
            by: "system:test".into(),
            at: "2026-01-01T00:00:00Z".into(),
            note: None,
            removed_by: removed.then(|| "triage1".into()),
            removed_at: removed.then(|| "2026-01-02T00:00:00Z".into()),
            removed_note: None,
        }
    }

    #[test]
    fn recorded_and_computed_both_count_unless_staff_removed_them() {
        let recorded = [subject("finance", false), subject("audit", true)];
        let computed = ["audit".to_string(), "personnel".to_string()];
        assert_eq!(
            effective_subjects(&recorded, &computed),
            vec!["finance".to_string(), "personnel".to_string()]
        );
        assert!(effective_subjects(&[], &[]).is_empty());
    }
}
