-- 延期 requests: a unit asks for more working days; triage approves (the deadline moves) or
-- denies. Human data: `reprocess` never clears it.
CREATE TABLE extension_requests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id       TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    requested_at  TEXT NOT NULL,
    working_days  INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'requested',
    decided_by    TEXT,
    decided_at    TEXT,
    decision_note TEXT
);
CREATE INDEX extension_requests_case ON extension_requests (case_id, id);
