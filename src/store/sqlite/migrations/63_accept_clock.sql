-- The second clock of an assignment: accept by (签收时限). The unit has accepted once the
-- workflow has the case past `assigned`/`reopened`; the scheduler sends one overdue notice.
ALTER TABLE case_deadlines ADD COLUMN accept_due_at TEXT;
ALTER TABLE case_deadlines ADD COLUMN accept_due_ms INTEGER;
ALTER TABLE case_deadlines ADD COLUMN accept_overdue_at TEXT;
CREATE INDEX case_deadlines_accept ON case_deadlines (accept_due_ms)
    WHERE state = 'open' AND accept_overdue_at IS NULL;
