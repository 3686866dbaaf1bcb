-- A queue's cases by deadline, and every case by deadline: the listing walks these in order
-- and stops at the page's end.
CREATE INDEX case_deadlines_queue_due ON case_deadlines (queue_key, due_ms);
CREATE INDEX case_deadlines_due_all ON case_deadlines (due_ms);
