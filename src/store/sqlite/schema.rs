//! The store's schema, as embedded migrations applied at open.
//!
//! Migrations only ever add: a released migration is never edited (its checksum is recorded).

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

const V1_INIT: &str = r#"
-- Every complaint, current version. `seq` is bumped whenever the row changes (a new revision),
-- so the search index and the pipeline follow one increasing number.
CREATE TABLE complaints (
    id               TEXT PRIMARY KEY,
    seq              INTEGER NOT NULL UNIQUE,
    source           TEXT NOT NULL,
    channel          TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    revision         INTEGER NOT NULL DEFAULT 1,
    received_at      TEXT NOT NULL,
    submitted_at     TEXT NOT NULL,
    submitted_ms     INTEGER NOT NULL,
    title            TEXT,
    body             TEXT NOT NULL,
    text_norm        TEXT NOT NULL,
    item             TEXT NOT NULL,
    content_hash     TEXT NOT NULL,
    raw              BLOB NOT NULL,
    raw_content_type TEXT NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX complaints_submitted ON complaints (submitted_ms);

-- Superseded versions of a complaint: a re-delivery with different content moves the previous
-- version here before the complaint row takes the new one. Nothing is overwritten.
CREATE TABLE complaint_revisions (
    complaint_id     TEXT NOT NULL REFERENCES complaints (id),
    revision         INTEGER NOT NULL,
    received_at      TEXT NOT NULL,
    submitted_at     TEXT NOT NULL,
    title            TEXT,
    body             TEXT NOT NULL,
    item             TEXT NOT NULL,
    content_hash     TEXT NOT NULL,
    raw              BLOB NOT NULL,
    raw_content_type TEXT NOT NULL,
    superseded_at    TEXT NOT NULL,
    PRIMARY KEY (complaint_id, revision)
);
CREATE INDEX complaint_revisions_hash ON complaint_revisions (complaint_id, content_hash);

-- Items that could not be parsed or validated, verbatim, with the reason.
CREATE TABLE dead_letters (
    id               TEXT PRIMARY KEY,
    source           TEXT NOT NULL,
    channel          TEXT,
    external_id      TEXT,
    received_at      TEXT NOT NULL,
    reason           TEXT NOT NULL,
    raw              BLOB NOT NULL,
    raw_content_type TEXT NOT NULL,
    raw_hash         TEXT NOT NULL,
    replayed_at      TEXT,
    replayed_as      TEXT
);
CREATE INDEX dead_letters_source ON dead_letters (source, raw_hash);
CREATE INDEX dead_letters_received ON dead_letters (received_at);

-- Connector cursors, saved in the same transaction as the items they cover.
CREATE TABLE source_cursors (
    source     TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Small key/value state of derived stages (e.g. how far the pipeline has processed).
CREATE TABLE gateway_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#;

const V2_FACETS: &str = r#"
-- The derived attributes of a complaint that search filters on and export shows, one row per
-- complaint, written by the pipeline stages that own them (each stage its own columns).
CREATE TABLE complaint_facets (
    complaint_id TEXT PRIMARY KEY REFERENCES complaints (id),
    case_id      TEXT,
    duplicate_of TEXT,
    category     TEXT,
    tags         TEXT NOT NULL DEFAULT '',
    queue        TEXT,
    priority     TEXT,
    status       TEXT,
    deadline     TEXT
);
CREATE INDEX complaint_facets_case ON complaint_facets (case_id);

-- Complaints whose indexed derived attributes changed; the indexer follows this sequence as
-- it follows `complaints.seq`, and re-indexes each listed complaint.
CREATE TABLE index_queue (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    complaint_id TEXT NOT NULL
);
"#;

const V10_SOURCE_STATUS: &str = r#"
-- The status history of each pull source (counters, last success and error) as JSON, so
-- `GET /v1/sources` keeps its totals across restarts. Operational state, not the record: it is
-- written outside the group commit, a few seconds behind, and may lag after a crash.
CREATE TABLE source_status (
    source     TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"#;

const V30_ROUTING: &str = r#"
-- Why each complaint got its category and tags: the model version and its top 3 with scores,
-- the rules that fired, and the route of its case. Derived: `reprocess` rebuilds it.
CREATE TABLE classifications (
    complaint_id    TEXT PRIMARY KEY REFERENCES complaints (id),
    route_key       TEXT NOT NULL,
    model_version   INTEGER,
    category        TEXT,
    category_source TEXT NOT NULL,
    confidence      REAL,
    low_confidence  INTEGER NOT NULL DEFAULT 0,
    top             TEXT NOT NULL,
    tags            TEXT NOT NULL DEFAULT '',
    rules           TEXT NOT NULL,
    why             TEXT NOT NULL,
    classified_at   TEXT NOT NULL
);
CREATE INDEX classifications_route ON classifications (route_key);

-- The route of each case (or of a complaint that belongs to no case): decided once, updated
-- as members arrive. `pinned` = a human chose the queue; arrivals no longer move it.
CREATE TABLE case_routes (
    route_key   TEXT PRIMARY KEY,
    queue       TEXT NOT NULL,
    priority    TEXT NOT NULL,
    informed    TEXT NOT NULL DEFAULT '',
    category    TEXT,
    category_confident INTEGER NOT NULL DEFAULT 0,
    tags        TEXT NOT NULL DEFAULT '',
    rule        TEXT NOT NULL,
    pinned      INTEGER NOT NULL DEFAULT 0,
    complaints  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX case_routes_queue ON case_routes (queue);

-- The routing audit trail: assignments, re-routes, members joining, corrections.
CREATE TABLE routing_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    route_key    TEXT NOT NULL,
    complaint_id TEXT,
    kind         TEXT NOT NULL,
    queue        TEXT,
    priority     TEXT,
    detail       TEXT NOT NULL,
    at           TEXT NOT NULL
);
CREATE INDEX routing_events_key ON routing_events (route_key);

-- Human corrections: they win over the model and the rules, survive `reprocess` (never
-- reset) and are training data (`classifier train --include-corrections`).
CREATE TABLE classification_corrections (
    complaint_id TEXT PRIMARY KEY REFERENCES complaints (id),
    category     TEXT,
    tags         TEXT,
    queue        TEXT,
    priority     TEXT,
    note         TEXT,
    corrected_by TEXT,
    corrected_at TEXT NOT NULL
);
"#;

const V40_DEADLINES_OUTBOX: &str = r#"
-- The deadline of each assigned case and what the scheduler has done about it. Routing
-- (on assignment) writes a row; a reassignment replaces the deadline and resets reminders.
CREATE TABLE case_deadlines (
    case_id          TEXT PRIMARY KEY,
    complaint_id     TEXT NOT NULL,
    queue_key        TEXT NOT NULL,
    queue_name       TEXT NOT NULL,
    priority         TEXT NOT NULL,
    assigned_at      TEXT NOT NULL,
    due_at           TEXT NOT NULL,
    due_ms           INTEGER NOT NULL,
    state            TEXT NOT NULL DEFAULT 'open',
    reminded_at      TEXT,
    overdue_notices  INTEGER NOT NULL DEFAULT 0,
    last_overdue_ms  INTEGER,
    escalated_at     TEXT,
    answered_at      TEXT,
    answered_by      TEXT,
    answer_summary   TEXT,
    assignment       TEXT NOT NULL
);
CREATE INDEX case_deadlines_due ON case_deadlines (state, due_ms);

-- Every extension of a deadline: who asked, why, old and new deadline.
CREATE TABLE deadline_extensions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id      TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    reason       TEXT NOT NULL,
    old_due_at   TEXT NOT NULL,
    new_due_at   TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX deadline_extensions_case ON deadline_extensions (case_id);

-- The audit trail of deadlines and notifications (assigned, reminded, overdue, escalated,
-- extended, answered, digest).
CREATE TABLE deadline_audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX deadline_audit_case ON deadline_audit (case_id, id);

-- Notifications, written in the same transaction as the event that causes them and delivered
-- later by the worker. A worker claims a message with a lease; after a crash the lease runs
-- out and another worker resumes with the recipients not yet sent.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    created_at      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    case_id         TEXT,
    queue_key       TEXT,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until_ms  INTEGER,
    last_error      TEXT,
    finished_at     TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_ms);

-- Delivery status per recipient; the Message-ID is fixed when the row is written, so a resend
-- after a crash carries the same id and a receiving system can discard the copy.
CREATE TABLE outbox_recipients (
    outbox_id  TEXT NOT NULL REFERENCES outbox (id),
    address    TEXT NOT NULL,
    message_id TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending',
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at    TEXT,
    PRIMARY KEY (outbox_id, address)
);
"#;

const V20_CASES: &str = r#"
-- Cases derived by the grouping stage: one row per case, named after its founding complaint.
-- Derived data: `reprocess` clears and rebuilds it (staff decisions below are kept).
CREATE TABLE cases (
    id             TEXT PRIMARY KEY,
    title          TEXT NOT NULL,
    complaints     INTEGER NOT NULL,
    complainants   INTEGER NOT NULL,
    channels       TEXT NOT NULL,
    first_seen     TEXT NOT NULL,
    last_seen      TEXT NOT NULL,
    last_seen_ms   INTEGER NOT NULL,
    public_support INTEGER NOT NULL DEFAULT 0,
    media_exposed  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cases_last_seen ON cases (last_seen_ms);

-- Which case each complaint belongs to and why (the grouping reason as JSON). `complainant`
-- is a keyed hash (HMAC) of the complainant's phone, id or email, never the value itself.
CREATE TABLE case_members (
    complaint_id   TEXT PRIMARY KEY REFERENCES complaints (id),
    case_id        TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    channel        TEXT NOT NULL,
    submitted_ms   INTEGER NOT NULL,
    complainant    TEXT,
    public_support INTEGER NOT NULL DEFAULT 0,
    media_exposed  INTEGER NOT NULL DEFAULT 0,
    reason         TEXT NOT NULL
);
CREATE INDEX case_members_case ON case_members (case_id, seq);
CREATE INDEX case_members_seq ON case_members (seq);

-- Staff merges and splits (the decision as JSON), who made them, when and why. Never cleared:
-- `reprocess` replays them in order, so a human decision is never undone.
CREATE TABLE case_decisions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    decision   TEXT NOT NULL,
    actor      TEXT NOT NULL,
    why        TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
"#;

const V21_CASE_STATUS: &str = r#"
-- The working status of a case, set by staff; kept across `reprocess` (keyed by case id, which
-- is stable: a case is named after its founding complaint).
CREATE TABLE case_status (
    case_id    TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    why        TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"#;

const V41_PROVISIONAL_DEADLINES: &str = r#"
-- A deadline counted past the last year of the working-day calendar (weekdays alone there):
-- the first such year; NULL when every day was counted on the official calendar. The gateway
-- counts it again once that year's file is added.
ALTER TABLE case_deadlines ADD COLUMN provisional_year INTEGER;
"#;

const V50_FUTURE_DATED: &str = r#"
-- A complaint whose given `submitted_at` lay more than `intake.future_tolerance_secs` past its
-- receipt: `submitted_at` keeps the given value, `submitted_ms` (what clocks, windows and
-- orderings read) holds the received time instead. Set at intake.
ALTER TABLE complaints ADD COLUMN future_dated INTEGER NOT NULL DEFAULT 0;

-- Complaints stored before this rule existed get it with the default tolerance (one day), so
-- one far-future item already stored no longer holds the grouping clock, the hot-issue windows
-- and the case list ordering. `received_at` is fixed-width UTC with microseconds.
UPDATE complaints
SET future_dated = 1,
    submitted_ms = CAST(strftime('%s', received_at) AS INTEGER) * 1000
        + CAST(substr(received_at, 21, 3) AS INTEGER)
WHERE submitted_ms > CAST(strftime('%s', received_at) AS INTEGER) * 1000
        + CAST(substr(received_at, 21, 3) AS INTEGER) + 86400000;

-- Their derived copies: case memberships (the grouping clock is rebuilt from these) and the
-- first/last times of their cases (formatted as the grouping stage writes them).
UPDATE case_members
SET submitted_ms = (SELECT c.submitted_ms FROM complaints c WHERE c.id = case_members.complaint_id)
WHERE complaint_id IN (SELECT id FROM complaints WHERE future_dated = 1);

UPDATE cases
SET first_seen = (SELECT strftime('%Y-%m-%dT%H:%M:%S', MIN(m.submitted_ms) / 1000, 'unixepoch')
            || printf('.%03d000Z', MIN(m.submitted_ms) % 1000)
        FROM case_members m WHERE m.case_id = cases.id),
    last_seen = (SELECT strftime('%Y-%m-%dT%H:%M:%S', MAX(m.submitted_ms) / 1000, 'unixepoch')
            || printf('.%03d000Z', MAX(m.submitted_ms) % 1000)
        FROM case_members m WHERE m.case_id = cases.id),
    last_seen_ms = (SELECT MAX(m.submitted_ms) FROM case_members m WHERE m.case_id = cases.id)
WHERE id IN (SELECT m.case_id FROM case_members m
             JOIN complaints c ON c.id = m.complaint_id WHERE c.future_dated = 1);
"#;

const V52_HISTORICAL: &str = r#"
-- A complaint loaded from an archive (`import --historical`): answered elsewhere, long ago.
-- Its case is grouped, classified and routed, but gets no deadline and no notice. Set at
-- intake; a later live delivery of the same item makes it live (see `commit.rs`).
ALTER TABLE complaints ADD COLUMN historical INTEGER NOT NULL DEFAULT 0;
"#;

const V51_SOURCE_COUNTS: &str = r#"
-- What each source delivered, counted by outcome in the same transaction as the items (the
-- status saved every few seconds in `source_status` could lag the store after a crash).
CREATE TABLE source_counts (
    source        TEXT PRIMARY KEY,
    stored        INTEGER NOT NULL DEFAULT 0,
    duplicates    INTEGER NOT NULL DEFAULT 0,
    revisions     INTEGER NOT NULL DEFAULT 0,
    dead_lettered INTEGER NOT NULL DEFAULT 0
);

-- Counting starts from what the saved statuses said.
INSERT INTO source_counts (source, stored, duplicates, revisions, dead_lettered)
SELECT source,
       COALESCE(json_extract(status, '$.received.stored'), 0),
       COALESCE(json_extract(status, '$.received.duplicates'), 0),
       COALESCE(json_extract(status, '$.received.revisions'), 0),
       COALESCE(json_extract(status, '$.received.dead_lettered'), 0)
FROM source_status WHERE json_valid(status);
"#;

/// Every migration of the store, in order.
pub fn migrator() -> Migrator {
    let migration = |version: i64, name: &'static str, sql: &'static str| {
        Migration::new(
            version,
            name.into(),
            MigrationType::Simple,
            sql.into_sql_str(),
            false,
        )
    };
    Migrator::with_migrations(vec![
        migration(1, "init", V1_INIT),
        migration(2, "facets", V2_FACETS),
        migration(10, "source_status", V10_SOURCE_STATUS),
        migration(20, "cases", V20_CASES),
        migration(21, "case_status", V21_CASE_STATUS),
        migration(30, "routing", V30_ROUTING),
        migration(40, "deadlines_outbox", V40_DEADLINES_OUTBOX),
        migration(41, "provisional_deadlines", V41_PROVISIONAL_DEADLINES),
        migration(50, "future_dated", V50_FUTURE_DATED),
        migration(51, "source_counts", V51_SOURCE_COUNTS),
        migration(52, "historical", V52_HISTORICAL),
        migration(60, "people", include_str!("migrations/60_people.sql")),
        migration(
            61,
            "deadline_indexes",
            include_str!("migrations/61_deadline_indexes.sql"),
        ),
        migration(62, "workflow", include_str!("migrations/62_workflow.sql")),
        migration(
            63,
            "accept_clock",
            include_str!("migrations/63_accept_clock.sql"),
        ),
        migration(
            64,
            "extension_requests",
            include_str!("migrations/64_extension_requests.sql"),
        ),
        migration(
            65,
            "case_list_indexes",
            include_str!("migrations/65_case_list_indexes.sql"),
        ),
        migration(
            66,
            "informed_facet",
            include_str!("migrations/66_informed_facet.sql"),
        ),
        migration(
            67,
            "case_subjects",
            include_str!("migrations/67_case_subjects.sql"),
        ),
        migration(
            68,
            "calendar_years",
            include_str!("migrations/68_calendar_years.sql"),
        ),
        migration(69, "open311", include_str!("migrations/69_open311.sql")),
        migration(
            70,
            "answer_outcomes",
            include_str!("migrations/70_answer_outcomes.sql"),
        ),
        migration(
            71,
            "follow_ups",
            include_str!("migrations/71_follow_ups.sql"),
        ),
        migration(
            72,
            "accountability",
            include_str!("migrations/72_accountability.sql"),
        ),
        migration(
            74,
            "stats_rollup",
            include_str!("migrations/74_stats_rollup.sql"),
        ),
        migration(
            76,
            "case_workflow_state",
            include_str!("migrations/76_case_workflow_state.sql"),
        ),
        migration(
            77,
            "case_members_complainant",
            include_str!("migrations/77_case_members_complainant.sql"),
        ),
        migration(
            78,
            "index_queue_complaint",
            include_str!("migrations/78_index_queue_complaint.sql"),
        ),
        migration(
            79,
            "raw_encoding",
            include_str!("migrations/79_raw_encoding.sql"),
        ),
    ])
}
