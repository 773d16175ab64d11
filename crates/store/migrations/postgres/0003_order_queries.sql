-- The three rates over a period: keyed by the day an order was created, then its place, so a
-- district's month is one short index range per day, whatever the length of the history; the
-- columns the rates read ride along, so the table itself is not visited.
CREATE INDEX orders_rates ON orders ((created_at / 86400000), region_path)
    INCLUDE (created_at, status, proactive, responded_at, response_due_at, callback_solved, satisfaction, overdue, handler_org);
-- A unit's queue, newest first, whatever the status: the holder's orders without a sort.
CREATE INDEX orders_holder_recent ON orders (holder_key, id);
-- Open orders are a small, busy part of the history: lists of them in an area (by status,
-- overdue, …) read this index and never wade through the closed ones.
CREATE INDEX orders_open ON orders (region_path, id) WHERE status NOT IN ('closed', 'terminated');
