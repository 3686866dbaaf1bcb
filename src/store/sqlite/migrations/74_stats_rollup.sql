-- The statistics' daily rollup: every measure of `GET /v1/stats` counted per local day and per
-- group (unit, channel, category, or all), and the same summed per month, so a year's figures
-- read a few thousand rows instead of every complaint and clock of the year.
--
-- The rollup is derived data with a simple rule: a day's rows are used only while the day is
-- listed in `stats_rollup_clean`. Every write that can change a count of a day (a complaint,
-- its facets, a clock, a transition, a 回访, a case's route) removes that day from the list
-- (the triggers below), and the gateway's refresher counts such days again from the tables
-- (in one transaction with the listing). A read counts whatever is not listed from the tables
-- themselves, so the figures never depend on the refresher having run.

-- The local time the days are cut in (one row; a gateway configured with another offset
-- starts the rollup again). `modifier` is SQLite's date modifier for it, e.g. '+28800 seconds'.
CREATE TABLE stats_rollup_settings (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    offset_secs INTEGER NOT NULL,
    modifier    TEXT NOT NULL
);

-- One count: `dim` is 'all', 'unit', 'channel' or 'category'; `grp` the group's key (NULL:
-- all, or none recorded). `day` is YYYY-MM-DD in local time. The measure `overdue` of a day
-- counts the clocks still open whose deadline fell that day (overdue now is their sum over
-- the days before now).
CREATE TABLE stats_rollup_days (
    day     TEXT NOT NULL,
    dim     TEXT NOT NULL,
    measure TEXT NOT NULL,
    grp     TEXT,
    total   INTEGER NOT NULL,
    hits    INTEGER NOT NULL
);
CREATE INDEX stats_rollup_days_read ON stats_rollup_days (dim, day);

-- The same summed over a month (YYYY-MM) whose every day is clean.
CREATE TABLE stats_rollup_months (
    month   TEXT NOT NULL,
    dim     TEXT NOT NULL,
    measure TEXT NOT NULL,
    grp     TEXT,
    total   INTEGER NOT NULL,
    hits    INTEGER NOT NULL
);
CREATE INDEX stats_rollup_months_read ON stats_rollup_months (dim, month);

-- The days whose rows are current (`state` 'clean'), and the months whose rows are the sum of
-- current days. A day being counted is 'pending' first: it is counted on a reader, outside any
-- write lock, and its rows are kept only if it is still pending then (a write in between
-- removed it).
CREATE TABLE stats_rollup_clean (
    day   TEXT PRIMARY KEY,
    state TEXT NOT NULL DEFAULT 'clean'
) WITHOUT ROWID;
CREATE TABLE stats_rollup_clean_months (month TEXT PRIMARY KEY) WITHOUT ROWID;

-- The local days a case's figures read (its clock's deadline, accept-by time and answer, its
-- 回访, its transitions), for the triggers below; asked for one case, SQLite reads each table
-- through its case index.
CREATE VIEW stats_rollup_case_days AS
    SELECT d.case_id AS case_id, date(d.due_ms / 1000, 'unixepoch', s.modifier) AS day
    FROM case_deadlines d, stats_rollup_settings s
    UNION ALL SELECT d.case_id, date(d.accept_due_ms / 1000, 'unixepoch', s.modifier)
    FROM case_deadlines d, stats_rollup_settings s
    UNION ALL SELECT d.case_id, date(d.answered_at, s.modifier)
    FROM case_deadlines d, stats_rollup_settings s
    UNION ALL SELECT u.case_id, date(u.recorded_at, s.modifier)
    FROM case_follow_ups u, stats_rollup_settings s
    UNION ALL SELECT t.case_id, date(t.at, s.modifier)
    FROM case_transitions t, stats_rollup_settings s;

-- Invalidation. `date(x, modifier)` is the local day of an RFC 3339 time; a clock's times are
-- milliseconds. Without a settings row the modifier is NULL and nothing is listed anyway.
CREATE TRIGGER stats_rollup_complaint_insert AFTER INSERT ON complaints
BEGIN
    DELETE FROM stats_rollup_clean
    WHERE day = date(NEW.received_at, (SELECT modifier FROM stats_rollup_settings));
END;
CREATE TRIGGER stats_rollup_complaint_update
AFTER UPDATE OF received_at, historical, channel ON complaints
BEGIN
    DELETE FROM stats_rollup_clean WHERE day IN (
        date(OLD.received_at, (SELECT modifier FROM stats_rollup_settings)),
        date(NEW.received_at, (SELECT modifier FROM stats_rollup_settings)));
    -- A case's channel and history are its founding complaint's: every day of that case.
    DELETE FROM stats_rollup_clean WHERE day IN (
        SELECT day FROM stats_rollup_case_days WHERE case_id = NEW.id);
END;
CREATE TRIGGER stats_rollup_complaint_delete AFTER DELETE ON complaints
BEGIN
    DELETE FROM stats_rollup_clean
    WHERE day = date(OLD.received_at, (SELECT modifier FROM stats_rollup_settings));
END;

-- A complaint's unit and category (received per unit, per category).
CREATE TRIGGER stats_rollup_facets_insert AFTER INSERT ON complaint_facets
BEGIN
    DELETE FROM stats_rollup_clean WHERE day = (
        SELECT date(c.received_at, s.modifier)
        FROM complaints c, stats_rollup_settings s WHERE c.id = NEW.complaint_id);
END;
CREATE TRIGGER stats_rollup_facets_update AFTER UPDATE OF queue, category ON complaint_facets
WHEN OLD.queue IS NOT NEW.queue OR OLD.category IS NOT NEW.category
BEGIN
    DELETE FROM stats_rollup_clean WHERE day = (
        SELECT date(c.received_at, s.modifier)
        FROM complaints c, stats_rollup_settings s WHERE c.id = NEW.complaint_id);
END;
CREATE TRIGGER stats_rollup_facets_delete AFTER DELETE ON complaint_facets
BEGIN
    DELETE FROM stats_rollup_clean WHERE day = (
        SELECT date(c.received_at, s.modifier)
        FROM complaints c, stats_rollup_settings s WHERE c.id = OLD.complaint_id);
END;

-- A case's clock: the days of its deadline, its accept-by time and its answer, before and
-- after (reminders and overdue notices change none of them).
CREATE TRIGGER stats_rollup_deadline_insert AFTER INSERT ON case_deadlines
BEGIN
    DELETE FROM stats_rollup_clean WHERE day IN (
        SELECT date(NEW.due_ms / 1000, 'unixepoch', modifier) FROM stats_rollup_settings
        UNION SELECT date(NEW.accept_due_ms / 1000, 'unixepoch', modifier)
        FROM stats_rollup_settings
        UNION SELECT date(NEW.answered_at, modifier) FROM stats_rollup_settings);
END;
CREATE TRIGGER stats_rollup_deadline_update
AFTER UPDATE OF due_ms, accept_due_ms, state, answered_at, queue_key, assigned_at
ON case_deadlines
WHEN OLD.due_ms IS NOT NEW.due_ms OR OLD.accept_due_ms IS NOT NEW.accept_due_ms
  OR OLD.state IS NOT NEW.state OR OLD.answered_at IS NOT NEW.answered_at
  OR OLD.queue_key IS NOT NEW.queue_key OR OLD.assigned_at IS NOT NEW.assigned_at
BEGIN
    DELETE FROM stats_rollup_clean WHERE day IN (
        SELECT date(OLD.due_ms / 1000, 'unixepoch', modifier) FROM stats_rollup_settings
        UNION SELECT date(OLD.accept_due_ms / 1000, 'unixepoch', modifier)
        FROM stats_rollup_settings
        UNION SELECT date(OLD.answered_at, modifier) FROM stats_rollup_settings
        UNION SELECT date(NEW.due_ms / 1000, 'unixepoch', modifier) FROM stats_rollup_settings
        UNION SELECT date(NEW.accept_due_ms / 1000, 'unixepoch', modifier)
        FROM stats_rollup_settings
        UNION SELECT date(NEW.answered_at, modifier) FROM stats_rollup_settings);
END;
CREATE TRIGGER stats_rollup_deadline_delete AFTER DELETE ON case_deadlines
BEGIN
    DELETE FROM stats_rollup_clean WHERE day IN (
        SELECT date(OLD.due_ms / 1000, 'unixepoch', modifier) FROM stats_rollup_settings
        UNION SELECT date(OLD.accept_due_ms / 1000, 'unixepoch', modifier)
        FROM stats_rollup_settings
        UNION SELECT date(OLD.answered_at, modifier) FROM stats_rollup_settings);
END;

-- A transition: its own day (退单, 重办) and, for an accept (签收), its clock's accept-by day.
CREATE TRIGGER stats_rollup_transition_insert AFTER INSERT ON case_transitions
BEGIN
    DELETE FROM stats_rollup_clean WHERE day IN (
        SELECT date(NEW.at, modifier) FROM stats_rollup_settings
        UNION SELECT date(d.accept_due_ms / 1000, 'unixepoch', s.modifier)
        FROM case_deadlines d, stats_rollup_settings s WHERE d.case_id = NEW.case_id);
END;
CREATE TRIGGER stats_rollup_transition_delete AFTER DELETE ON case_transitions
BEGIN
    DELETE FROM stats_rollup_clean WHERE day IN (
        SELECT date(OLD.at, modifier) FROM stats_rollup_settings
        UNION SELECT date(d.accept_due_ms / 1000, 'unixepoch', s.modifier)
        FROM case_deadlines d, stats_rollup_settings s WHERE d.case_id = OLD.case_id);
END;
-- A 退单 without `returned_by` is counted for the case's current unit.
CREATE TRIGGER stats_rollup_workflow_queue AFTER UPDATE OF queue_key ON case_workflow
WHEN OLD.queue_key IS NOT NEW.queue_key
BEGIN
    DELETE FROM stats_rollup_clean WHERE day IN (
        SELECT date(t.at, s.modifier) FROM case_transitions t, stats_rollup_settings s
        WHERE t.case_id = NEW.case_id AND t.action = 'return');
END;

-- 回访 (append-only).
CREATE TRIGGER stats_rollup_follow_up_insert AFTER INSERT ON case_follow_ups
BEGIN
    DELETE FROM stats_rollup_clean
    WHERE day = date(NEW.recorded_at, (SELECT modifier FROM stats_rollup_settings));
END;

-- A case's category (per category: its clock, its 回访 and its transitions).
CREATE TRIGGER stats_rollup_route_insert AFTER INSERT ON case_routes
BEGIN
    DELETE FROM stats_rollup_clean WHERE day IN (
        SELECT day FROM stats_rollup_case_days WHERE case_id = NEW.route_key);
END;
CREATE TRIGGER stats_rollup_route_update AFTER UPDATE OF category ON case_routes
WHEN OLD.category IS NOT NEW.category
BEGIN
    DELETE FROM stats_rollup_clean WHERE day IN (
        SELECT day FROM stats_rollup_case_days WHERE case_id = NEW.route_key);
END;
CREATE TRIGGER stats_rollup_route_delete AFTER DELETE ON case_routes
BEGIN
    DELETE FROM stats_rollup_clean WHERE day IN (
        SELECT day FROM stats_rollup_case_days WHERE case_id = OLD.route_key);
END;
