-- 回访: the centre calling the complainant back after an answer. One row per attempt; an
-- attempt that reached the complainant carries whether the problem is solved and the verdict
-- (satisfied, basically_satisfied, dissatisfied). A record: never changed, never removed.
CREATE TABLE case_follow_ups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id     TEXT NOT NULL,
    answer_id   INTEGER,
    queue_key   TEXT,
    reached     INTEGER NOT NULL,
    contact     TEXT NOT NULL,
    note        TEXT,
    solved      INTEGER,
    verdict     TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    reopened    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX case_follow_ups_case ON case_follow_ups (case_id, id);
CREATE INDEX case_follow_ups_at ON case_follow_ups (recorded_at);

CREATE TRIGGER case_follow_ups_append_only_update BEFORE UPDATE ON case_follow_ups
BEGIN SELECT RAISE(ABORT, 'case_follow_ups is append-only'); END;
CREATE TRIGGER case_follow_ups_append_only_delete BEFORE DELETE ON case_follow_ups
BEGIN SELECT RAISE(ABORT, 'case_follow_ups is append-only'); END;

-- The statistics (`GET /v1/stats`) read each measure by its own time: complaints by when they
-- arrived, clocks by their deadline, accept-by time and answer (covering what a count per unit
-- reads), transitions by action and time.
CREATE INDEX complaints_received ON complaints (received_at);
CREATE INDEX case_deadlines_stats_due ON case_deadlines (due_ms, state, queue_key, answered_at);
CREATE INDEX case_deadlines_stats_accept
    ON case_deadlines (accept_due_ms, state, queue_key, case_id, assigned_at);
CREATE INDEX case_deadlines_stats_answered ON case_deadlines (answered_at, due_ms, queue_key)
    WHERE state = 'answered';
CREATE INDEX case_deadlines_stats_open ON case_deadlines (state, due_ms, queue_key);
CREATE INDEX case_transitions_action ON case_transitions (action, at);
