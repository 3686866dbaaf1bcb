-- What became of each member complaint's answer: sent back to its source's system by a
-- callback (pending → delivered, or failed after the source's attempts), or on the list of
-- replies staff send by phone or letter (pending → sent). One row per complaint per answer.
CREATE TABLE answer_outcomes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id         TEXT NOT NULL,
    complaint_id    TEXT NOT NULL,
    answer_id       INTEGER NOT NULL,
    source          TEXT NOT NULL,
    channel         TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    queue_key       TEXT,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error      TEXT,
    done_at         TEXT,
    done_by         TEXT,
    method          TEXT,
    note            TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (complaint_id, answer_id)
);
CREATE INDEX answer_outcomes_state ON answer_outcomes (state, source, next_attempt_at);
CREATE INDEX answer_outcomes_case ON answer_outcomes (case_id, id);
