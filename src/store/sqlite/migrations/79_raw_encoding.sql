-- How a complaint's raw payload is kept: NULL as it came, `zstd` compressed (read back byte for
-- byte; real-length complaints' payloads take about half the space). Rows written before stay
-- as they are.
ALTER TABLE complaints ADD COLUMN raw_encoding TEXT;
ALTER TABLE complaint_revisions ADD COLUMN raw_encoding TEXT;
