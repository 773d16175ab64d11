-- The registry (人地事物), users and the access audit log.
-- Paths: `path` lists the ids from the root down to a region itself, '/1/5/27/'; other tables
-- keep `region_path`, the path of their region. A jurisdiction (a node and everything below it)
-- is then one range scan on an index, and lists ordered by path need no sort.
-- `level_no` is the level's position in city … dwelling (0 … 9), indexed with the position so a
-- bounding-box query for one level does not wade through the others.

CREATE TABLE regions (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    level TEXT NOT NULL,
    level_no INTEGER NOT NULL,
    name TEXT NOT NULL,
    parent_id INTEGER REFERENCES regions(id),
    path TEXT NOT NULL,
    geometry TEXT,
    lon REAL,
    lat REAL,
    attributes TEXT NOT NULL DEFAULT '{}',
    updated_at INTEGER NOT NULL
);
CREATE INDEX regions_parent ON regions(parent_id);
CREATE UNIQUE INDEX regions_path ON regions(path);
CREATE INDEX regions_level_path ON regions(level, path);

CREATE VIRTUAL TABLE regions_rtree USING rtree(id, min_lon, max_lon, min_lat, max_lat, min_level, max_level);
CREATE TRIGGER regions_rtree_insert AFTER INSERT ON regions WHEN new.lon IS NOT NULL BEGIN
    INSERT INTO regions_rtree VALUES (new.id, new.lon, new.lon, new.lat, new.lat, new.level_no, new.level_no);
END;
CREATE TRIGGER regions_rtree_update AFTER UPDATE OF lon, lat ON regions BEGIN
    DELETE FROM regions_rtree WHERE id = old.id;
    INSERT INTO regions_rtree SELECT new.id, new.lon, new.lon, new.lat, new.lat, new.level_no, new.level_no WHERE new.lon IS NOT NULL;
END;
CREATE TRIGGER regions_rtree_delete AFTER DELETE ON regions BEGIN
    DELETE FROM regions_rtree WHERE id = old.id;
END;

CREATE TABLE organisations (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    region_id INTEGER NOT NULL REFERENCES regions(id),
    region_path TEXT NOT NULL,
    parent_id INTEGER REFERENCES organisations(id),
    phone TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    updated_at INTEGER NOT NULL
);
CREATE INDEX organisations_region_path ON organisations(region_path);

CREATE TABLE residents (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    id_number TEXT UNIQUE,
    phone TEXT,
    gender TEXT,
    birth_date TEXT,
    residence_kind TEXT NOT NULL,
    care_tags TEXT NOT NULL DEFAULT '',
    home_id INTEGER NOT NULL REFERENCES regions(id),
    home_relation TEXT NOT NULL,
    region_path TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    updated_at INTEGER NOT NULL
);
CREATE INDEX residents_region_path ON residents(region_path);

-- Further dwellings a resident is tied to, beyond the home on the resident's own row.
CREATE TABLE resident_dwellings (
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    region_id INTEGER NOT NULL REFERENCES regions(id),
    relation TEXT NOT NULL,
    PRIMARY KEY (resident_id, region_id)
);
CREATE INDEX resident_dwellings_region ON resident_dwellings(region_id);

CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    region_id INTEGER NOT NULL REFERENCES regions(id),
    region_path TEXT NOT NULL,
    lon REAL,
    lat REAL,
    owner_org_id INTEGER REFERENCES organisations(id),
    status TEXT NOT NULL,
    last_seen_at INTEGER,
    attributes TEXT NOT NULL DEFAULT '{}',
    updated_at INTEGER NOT NULL
);
CREATE INDEX devices_region_path ON devices(region_path);
CREATE INDEX devices_kind ON devices(kind);

CREATE VIRTUAL TABLE devices_rtree USING rtree(id, min_lon, max_lon, min_lat, max_lat);
CREATE TRIGGER devices_rtree_insert AFTER INSERT ON devices WHEN new.lon IS NOT NULL BEGIN
    INSERT INTO devices_rtree VALUES (new.id, new.lon, new.lon, new.lat, new.lat);
END;
CREATE TRIGGER devices_rtree_update AFTER UPDATE OF lon, lat ON devices BEGIN
    DELETE FROM devices_rtree WHERE id = old.id;
    INSERT INTO devices_rtree SELECT new.id, new.lon, new.lon, new.lat, new.lat WHERE new.lon IS NOT NULL;
END;
CREATE TRIGGER devices_rtree_delete AFTER DELETE ON devices BEGIN
    DELETE FROM devices_rtree WHERE id = old.id;
END;

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    region_id INTEGER REFERENCES regions(id),
    org_id INTEGER REFERENCES organisations(id),
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE access_audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    username TEXT NOT NULL,
    role TEXT NOT NULL,
    record_kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    action TEXT NOT NULL,
    request_id TEXT
);
CREATE INDEX access_audit_user ON access_audit(user_id, id);
CREATE INDEX access_audit_record ON access_audit(record_kind, record_id, id);
