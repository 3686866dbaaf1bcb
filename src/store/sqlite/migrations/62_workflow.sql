-- The case workflow (human data: `reprocess` never clears it).
-- Each case's state, the queue holding it and the investigator working on it.
CREATE TABLE case_workflow (
    case_id     TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    queue_key   TEXT,
    assignee    TEXT,
    merged_into TEXT,
    note        TEXT,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    version     INTEGER NOT NULL
);
CREATE INDEX case_workflow_queue ON case_workflow (queue_key, state, assignee);

-- Every transition taken, in order.
CREATE TABLE case_transitions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id    TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    actor      TEXT NOT NULL,
    at         TEXT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX case_transitions_case ON case_transitions (case_id, id);

-- Answers (办结): the finding, the reply to the complainant, attachments' references.
CREATE TABLE case_answers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id     TEXT NOT NULL,
    finding     TEXT NOT NULL,
    reply       TEXT NOT NULL,
    attachments TEXT NOT NULL,
    answered_by TEXT NOT NULL,
    answered_at TEXT NOT NULL
);
CREATE INDEX case_answers_case ON case_answers (case_id, id);

-- Investigators marked away: automatic assignment inside a unit skips them.
CREATE TABLE investigator_away (
    user_name TEXT PRIMARY KEY,
    since     TEXT NOT NULL
);

-- Transitions and answers are a record: never changed, never removed.
CREATE TRIGGER case_transitions_append_only_update BEFORE UPDATE ON case_transitions
BEGIN SELECT RAISE(ABORT, 'case_transitions is append-only'); END;
CREATE TRIGGER case_transitions_append_only_delete BEFORE DELETE ON case_transitions
BEGIN SELECT RAISE(ABORT, 'case_transitions is append-only'); END;
CREATE TRIGGER case_answers_append_only_update BEFORE UPDATE ON case_answers
BEGIN SELECT RAISE(ABORT, 'case_answers is append-only'); END;
CREATE TRIGGER case_answers_append_only_delete BEFORE DELETE ON case_answers
BEGIN SELECT RAISE(ABORT, 'case_answers is append-only'); END;
