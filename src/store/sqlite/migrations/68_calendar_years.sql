-- The working-day calendar's years stored at runtime by admins (calendar import, PUT
-- /v1/calendar/{year}). `version` grows with every store so running gateways see a change.
CREATE TABLE calendar_years (
    year INTEGER PRIMARY KEY,
    text TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
