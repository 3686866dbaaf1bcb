-- A member joining a case counts as a new complainant unless the case already has a member
-- from the same complainant: one probe of this index instead of re-reading every member of
-- the case (a case of 1,800 members was re-aggregated in full each time one joined).
CREATE INDEX case_members_complainant ON case_members (case_id, complainant)
    WHERE complainant IS NOT NULL;
