-- Whether a complaint has a later index-queue entry: the indexer then leaves the earlier one
-- (and the complaint's first pass) to it, so a complaint re-queued by each growth of its case
-- during an archive load is tokenised once, not once per change.
CREATE INDEX index_queue_complaint ON index_queue (complaint_id, seq);
