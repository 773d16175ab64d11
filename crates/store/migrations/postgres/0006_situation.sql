-- Events carry the scene the cockpit counts them under (高空抛物, 违停, 垃圾满溢, …), filled from
-- the event's alarm type, rule or category; the cockpit counts a place's events by time.
ALTER TABLE events ADD COLUMN scene TEXT;
UPDATE events SET scene = CASE
    WHEN doc::jsonb #>> '{attributes,alarm_type}' IN ('throwing', 'illegal_parking', 'fire_lane_blocked', 'intrusion', 'crowd')
        THEN doc::jsonb #>> '{attributes,alarm_type}'
    WHEN doc::jsonb #>> '{attributes,rule}' = 'bin_full' OR (source = 'iot' AND doc::jsonb ->> 'title' = '垃圾满溢') THEN 'bin_overflow'
    WHEN category = 'build.group_rental' THEN 'group_rental'
END;
CREATE INDEX events_region_time ON events(region_path, occurred_at, category, scene);
CREATE INDEX orders_region_open ON orders(region_path, status, overdue, closed_at);

-- Residents follow the orders they asked for.
ALTER TABLE orders ADD COLUMN requester_id BIGINT;
UPDATE orders SET requester_id = (doc::jsonb #>> '{requester,user_id}')::BIGINT;
CREATE INDEX orders_requester ON orders(requester_id, id) WHERE requester_id IS NOT NULL;
