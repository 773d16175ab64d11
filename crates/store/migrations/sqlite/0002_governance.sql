-- The event centre and the work-order loop. SQLite twin of migrations/postgres/0002_governance.sql.
-- Records whose shape is the domain's (events, orders, whistles, applications, history entries) are
-- kept whole as JSON in `doc`; the columns beside it are copies of the fields that queries filter,
-- sort or aggregate on, written from the same value in the same statement.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE calendar_days (
    day INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT ''
);

CREATE TABLE routes (
    category TEXT NOT NULL,
    region_id INTEGER NOT NULL REFERENCES regions(id) ON DELETE CASCADE,
    org_id INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    PRIMARY KEY (category, region_id)
);

CREATE TABLE incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    category TEXT NOT NULL,
    region_id INTEGER NOT NULL REFERENCES regions(id),
    region_path TEXT NOT NULL,
    lon REAL,
    lat REAL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    report_count INTEGER NOT NULL,
    open INTEGER NOT NULL,
    order_id INTEGER
);
CREATE INDEX incidents_open ON incidents(category, open, last_at);
CREATE INDEX incidents_order ON incidents(order_id);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    category TEXT NOT NULL,
    region_path TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    external_id TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX events_region ON events(region_path, id);
CREATE INDEX events_incident ON events(incident_id);
CREATE UNIQUE INDEX events_external ON events(source, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    category TEXT NOT NULL,
    source TEXT NOT NULL,
    proactive INTEGER NOT NULL,
    region_path TEXT NOT NULL,
    holder_key TEXT NOT NULL,
    escalated_key TEXT,
    handler_org TEXT,
    supervised INTEGER NOT NULL,
    overdue INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    response_due_at INTEGER NOT NULL,
    responded_at INTEGER,
    resolve_due_at INTEGER NOT NULL,
    closed_at INTEGER,
    callback_solved INTEGER,
    satisfaction TEXT,
    next_check_at INTEGER,
    incident_id INTEGER,
    doc TEXT NOT NULL
);
CREATE INDEX orders_region_created ON orders(region_path, created_at);
CREATE INDEX orders_holder ON orders(holder_key, status, id);
CREATE INDEX orders_handler ON orders(handler_org, created_at);
CREATE INDEX orders_created ON orders(created_at);
CREATE INDEX orders_next_check ON orders(next_check_at) WHERE next_check_at IS NOT NULL;

-- Append-only: rows are inserted, never updated or deleted.
CREATE TABLE history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (subject, subject_id, seq)
);

CREATE TABLE whistles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    region_path TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    deadline INTEGER NOT NULL,
    order_id INTEGER,
    doc TEXT NOT NULL
);
CREATE INDEX whistles_region ON whistles(region_path, id);

CREATE TABLE summons (
    whistle_id INTEGER NOT NULL REFERENCES whistles(id),
    org_code TEXT NOT NULL,
    region_path TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    deadline INTEGER NOT NULL,
    checked_in_at INTEGER,
    PRIMARY KEY (whistle_id, org_code)
);
CREATE INDEX summons_org ON summons(org_code, created_at);

CREATE TABLE applications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    status TEXT NOT NULL,
    region_path TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX applications_region ON applications(region_path, id);

-- Idempotency keys of creations: a retried request returns what the first one made.
CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE media (
    id TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- Every change to orders, whistles and events, in commit order, for webhooks and live screens.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL
);

CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    topics TEXT NOT NULL,
    cursor INTEGER NOT NULL,
    last_status TEXT,
    created_by INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- Open311 API keys (hashed): POSTing service requests needs one.
CREATE TABLE api_keys (
    key_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
