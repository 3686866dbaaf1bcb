//! The audit record: an append-only chain of who did what.
//!
//! Every entry stores the SHA-256 of the previous entry's hash followed by its own canonical
//! serialisation ([`entry_hash`]), so changing, removing or inserting an entry anywhere but at
//! the end breaks the chain at a place [`ChainCheck`] names. Entries are numbered without gaps
//! (`seq` is the previous entry's plus one, taken under the backend's write lock), so a removed
//! entry shows as a gap even where the hashes were recomputed after it.
//!
//! Appending is a store operation in two forms with one meaning: inside a decision transaction
//! ([`AuditWrites`], so a decision and its entry commit together) and through the intake
//! writer's group commit ([`super::WriteBatch::audit`], for the many "who saw personal data"
//! entries of reads, which must not slow reads down).

use async_trait::async_trait;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::StoreError;

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry to append.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewAuditEvent {
    /// When it happened (RFC 3339, UTC).
    pub at: String,
    /// Who: a user's name, `service:<label>` for a configured API token, `system:<stage>` for
    /// an automatic decision.
    pub actor: String,
    /// What, e.g. `login`, `login_failed`, `token_used`, `case.merge`, `personal_data.view`.
    pub action: String,
    /// The case it concerns, if one.
    pub case_id: Option<String>,
    /// The complaints it concerns (those shown, for a view).
    pub complaint_ids: Vec<String>,
    /// Anything else, as a JSON object's text (stored and hashed exactly as given).
    pub detail: String,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub event: NewAuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

/// The serialisation an entry's hash covers: fixed field order, no whitespace.
#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    at: &'a str,
    actor: &'a str,
    action: &'a str,
    case_id: Option<&'a str>,
    complaint_ids: &'a [String],
    detail: &'a str,
}

/// The hash of entry `seq` holding `event`, chained to `prev_hash`.
pub fn entry_hash(prev_hash: &str, seq: i64, event: &NewAuditEvent) -> String {
    let canonical = serde_json::to_string(&Canonical {
        seq,
        at: &event.at,
        actor: &event.actor,
        action: &event.action,
        case_id: event.case_id.as_deref(),
        complaint_ids: &event.complaint_ids,
        detail: &event.detail,
    })
    .expect("strings serialise");
    let mut digest = Sha256::new();
    digest.update(prev_hash.as_bytes());
    digest.update(b"\n");
    digest.update(canonical.as_bytes());
    hex::encode(digest.finalize())
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Entries about this case.
    pub case_id: Option<String>,
    /// Entries concerning this complaint.
    pub complaint_id: Option<String>,
    /// RFC 3339 bounds on `at`, inclusive.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Entries after this sequence number (paging).
    pub after_seq: i64,
    pub limit: i64,
}

/// Reads of the audit record.
#[async_trait]
pub trait AuditReads: Send + Sync {
    /// Entries matching `filter`, in sequence order.
    async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError>;

    /// Up to `limit` entries after `after_seq`, in sequence order, unfiltered (to verify).
    async fn audit_chain(&self, after_seq: i64, limit: i64)
    -> Result<Vec<AuditRecord>, StoreError>;
}

/// Appending inside a decision transaction.
#[async_trait]
pub trait AuditWrites: Send {
    /// Appends `events` in order, each chained to the entry before it.
    async fn append_audit(&mut self, events: &[NewAuditEvent]) -> Result<(), StoreError>;
}

/// Where a chain stops matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// Entry `seq`'s content does not give its stored hash: it was changed.
    Altered { seq: i64 },
    /// Entries between `after` and `next` are gone.
    Missing { after: i64, next: i64 },
    /// Entry `seq` does not chain to the entry before it (that one's hash was rewritten, or
    /// entries were put in between).
    Unlinked { seq: i64 },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainBreak::Altered { seq } => write!(
                f,
                "entry {seq} does not match its hash: it was changed after it was written"
            ),
            ChainBreak::Missing { after, next } if next - after == 2 => write!(
                f,
                "entry {} is missing (the chain goes from {after} to {next})",
                after + 1
            ),
            ChainBreak::Missing { after, next } => write!(
                f,
                "entries {} to {} are missing (the chain goes from {after} to {next})",
                after + 1,
                next - 1
            ),
            ChainBreak::Unlinked { seq } => write!(
                f,
                "entry {seq} does not follow from the entry before it: that entry's hash was rewritten"
            ),
        }
    }
}

/// Walks a chain entry by entry, in sequence order.
#[derive(Debug, Clone)]
pub struct ChainCheck {
    last_seq: i64,
    last_hash: String,
    checked: u64,
}

impl Default for ChainCheck {
    fn default() -> Self {
        ChainCheck {
            last_seq: 0,
            last_hash: GENESIS_HASH.to_string(),
            checked: 0,
        }
    }
}

impl ChainCheck {
    /// Checks the next entry.
    pub fn next(&mut self, record: &AuditRecord) -> Result<(), ChainBreak> {
        if entry_hash(&record.prev_hash, record.seq, &record.event) != record.hash {
            return Err(ChainBreak::Altered { seq: record.seq });
        }
        if record.seq != self.last_seq + 1 {
            return Err(ChainBreak::Missing {
                after: self.last_seq,
                next: record.seq,
            });
        }
        if record.prev_hash != self.last_hash {
            return Err(ChainBreak::Unlinked { seq: record.seq });
        }
        self.last_seq = record.seq;
        self.last_hash.clone_from(&record.hash);
        self.checked += 1;
        Ok(())
    }

    /// Entries checked so far.
    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// The last entry's hash: write it down elsewhere to detect a removed tail later.
    pub fn head(&self) -> (i64, &str) {
        (self.last_seq, &self.last_hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let event = NewAuditEvent {
                    at: format!("2026-01-01T00:00:{seq:02}Z"),
                    actor: "wang".into(),
                    action: "case.status".into(),
                    case_id: Some(format!("case-{seq}")),
                    complaint_ids: vec![],
                    detail: "{}".into(),
                };
                let hash = entry_hash(&prev, seq, &event);
                let record = AuditRecord {
                    seq,
                    event,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                record
            })
            .collect()
    }

    fn check(records: &[AuditRecord]) -> Result<u64, ChainBreak> {
        let mut check = ChainCheck::default();
        for r in records {
            check.next(r)?;
        }
        Ok(check.checked())
    }

    #[test]
    fn an_intact_chain_passes_and_each_kind_of_break_is_named() {
        let records = chain(5);
        assert_eq!(check(&records), Ok(5));

        let mut edited = records.clone();
        edited[2].event.actor = "li".into();
        assert_eq!(check(&edited), Err(ChainBreak::Altered { seq: 3 }));

        let mut removed = records.clone();
        removed.remove(1);
        assert_eq!(
            check(&removed),
            Err(ChainBreak::Missing { after: 1, next: 3 })
        );

        // An edit whose hash was recomputed is caught at the next entry.
        let mut rehashed = records.clone();
        rehashed[1].event.detail = "{\"x\":1}".into();
        rehashed[1].hash = entry_hash(&rehashed[1].prev_hash, 2, &rehashed[1].event);
        assert_eq!(check(&rehashed), Err(ChainBreak::Unlinked { seq: 3 }));
    }

    #[test]
    fn the_hash_covers_every_field() {
        let base = NewAuditEvent {
            at: "t".into(),
            actor: "a".into(),
            action: "x".into(),
            case_id: None,
            complaint_ids: vec!["c1".into()],
            detail: "{}".into(),
        };
        let h = entry_hash(GENESIS_HASH, 1, &base);
        assert_ne!(h, entry_hash(GENESIS_HASH, 2, &base));
        assert_ne!(h, entry_hash(&"1".repeat(64), 1, &base));
        let variants = [
            NewAuditEvent {
                at: "u".into(),
                ..base.clone()
            },
            NewAuditEvent {
                actor: "b".into(),
                ..base.clone()
            },
            NewAuditEvent {
                action: "y".into(),
                ..base.clone()
            },
            NewAuditEvent {
                case_id: Some("k".into()),
                ..base.clone()
            },
            NewAuditEvent {
                complaint_ids: vec![],
                ..base.clone()
            },
            NewAuditEvent {
                detail: "{ }".into(),
                ..base.clone()
            },
        ];
        for v in &variants {
            assert_ne!(h, entry_hash(GENESIS_HASH, 1, v), "{v:?}");
        }
    }
}
