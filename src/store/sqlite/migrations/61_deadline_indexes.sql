-- The scheduler's per-tick reads go through indexes: the provisional deadlines of open cases
-- (few, usually none) without reading every open case.
CREATE INDEX case_deadlines_provisional ON case_deadlines (provisional_year)
    WHERE state = 'open' AND provisional_year IS NOT NULL;
