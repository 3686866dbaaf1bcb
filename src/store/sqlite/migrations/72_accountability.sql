-- 责任追究: accountability records of a substantiated case — the unit held accountable (a
-- queue key), the role of the person held responsible (no names), the measure, the decision's
-- date (local, YYYY-MM-DD) and deciding body, a note. Edited in place (every change is in the
-- audit record with before and after); a withdrawn record keeps its row with who withdrew it
-- and when, and is counted nowhere.
CREATE TABLE accountability_records (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id       TEXT NOT NULL,
    unit          TEXT NOT NULL,
    role          TEXT NOT NULL,
    measure       TEXT NOT NULL,
    decided_on    TEXT NOT NULL,
    deciding_body TEXT NOT NULL,
    note          TEXT,
    recorded_by   TEXT NOT NULL,
    recorded_at   TEXT NOT NULL,
    updated_by    TEXT,
    updated_at    TEXT,
    withdrawn_by  TEXT,
    withdrawn_at  TEXT
);
CREATE INDEX accountability_records_case ON accountability_records (case_id, id);
-- The counts and lists of a period read the records in force by decision date.
CREATE INDEX accountability_records_decided
    ON accountability_records (decided_on, unit, measure)
    WHERE withdrawn_at IS NULL;
