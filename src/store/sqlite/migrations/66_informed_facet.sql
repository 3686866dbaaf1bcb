-- The queues informed of a complaint's case, beside its `queue` (space-separated keys, like
-- `tags`): search scopes an investigator's hits by both. Routing keeps it with the other
-- shared facets of a case's members; existing members get it from their case's stored route.
ALTER TABLE complaint_facets ADD COLUMN informed TEXT NOT NULL DEFAULT '';

UPDATE complaint_facets SET informed = r.informed
FROM classifications k JOIN case_routes r ON r.route_key = k.route_key
WHERE k.complaint_id = complaint_facets.complaint_id AND r.informed <> '';
