-- The Open311 server's clients (the api_key kept as an argon2 hash of its secret part) and the
-- complaints each client filed, with the token its answer carried.
CREATE TABLE open311_clients (
    name TEXT PRIMARY KEY,
    key_id TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    disabled_at TEXT
);
CREATE TABLE open311_filings (
    complaint_id TEXT PRIMARY KEY,
    client TEXT NOT NULL REFERENCES open311_clients (name),
    token TEXT NOT NULL UNIQUE,
    service_code TEXT NOT NULL,
    filed_ms INTEGER NOT NULL
);
CREATE INDEX open311_filings_client ON open311_filings (client, filed_ms);
