-- The units a case is about (its subjects): found when its complaints are routed (the target
-- unit or the text names the unit, or a routing rule declares it), or named by staff. A
-- removal by staff keeps the row, marked removed, so a false match stays corrected.
CREATE TABLE case_subjects (
    case_id      TEXT NOT NULL,
    queue_key    TEXT NOT NULL,
    origin       TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    note         TEXT,
    removed_by   TEXT,
    removed_at   TEXT,
    removed_note TEXT,
    PRIMARY KEY (case_id, queue_key)
) WITHOUT ROWID;
CREATE INDEX case_subjects_by_queue ON case_subjects (queue_key, case_id)
    WHERE removed_at IS NULL;
