-- People: accounts, their queues, API tokens, browser sessions, and the audit record.
-- None of it is derived: `reprocess` never touches these tables.

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    display_name  TEXT,
    email         TEXT,
    -- argon2 PHC string; NULL for a token-only account.
    password_hash TEXT,
    -- JSON array of role names, sorted.
    roles         TEXT NOT NULL DEFAULT '[]',
    disabled      INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_at     TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE user_queues (
    user_name TEXT NOT NULL REFERENCES users (name),
    queue     TEXT NOT NULL,
    lead      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_name, queue)
);
CREATE INDEX user_queues_queue ON user_queues (queue);

-- The secret part of a token is kept only as an argon2 hash; `id` is the public part.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_name    TEXT NOT NULL REFERENCES users (name),
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT,
    last_used_at TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_name);

-- A session by the SHA-256 of its cookie value.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_name    TEXT NOT NULL REFERENCES users (name),
    csrf         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_name);

-- Append-only: each entry's hash covers the previous entry's hash and its own content.
CREATE TABLE audit (
    seq           INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    case_id       TEXT,
    -- JSON array of complaint ids.
    complaint_ids TEXT NOT NULL DEFAULT '[]',
    detail        TEXT NOT NULL DEFAULT '{}',
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
CREATE INDEX audit_actor ON audit (actor, seq);
CREATE INDEX audit_case ON audit (case_id, seq) WHERE case_id IS NOT NULL;
CREATE INDEX audit_action ON audit (action, seq);

-- The record cannot be changed or shortened through SQL that respects triggers; a direct
-- edit of the file (or dropping the triggers) is still caught by `audit verify`.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit record is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit record is append-only'); END;
