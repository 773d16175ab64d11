-- Sensing: device telemetry (the latest value of each attribute and a time series), the state
-- telemetry rules keep per device, and the dead letters of refused messages.

CREATE TABLE telemetry_latest (
    device_code TEXT NOT NULL,
    name TEXT NOT NULL,
    at INTEGER NOT NULL,
    value TEXT NOT NULL,
    unit TEXT,
    PRIMARY KEY (device_code, name)
);

-- One row per reading; numbers in num, true/false as 1/0 in num, text in text.
CREATE TABLE telemetry (
    device_code TEXT NOT NULL,
    name TEXT NOT NULL,
    at INTEGER NOT NULL,
    num REAL,
    text TEXT
);
CREATE INDEX telemetry_series ON telemetry(device_code, name, at);
CREATE INDEX telemetry_at ON telemetry(at);

-- Hourly roll-ups kept after raw readings pass their retention.
CREATE TABLE telemetry_hourly (
    device_code TEXT NOT NULL,
    name TEXT NOT NULL,
    hour INTEGER NOT NULL,
    count INTEGER NOT NULL,
    sum REAL NOT NULL,
    min REAL NOT NULL,
    max REAL NOT NULL,
    PRIMARY KEY (device_code, name, hour)
);

CREATE TABLE rule_states (
    device_code TEXT NOT NULL,
    rule_code TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (device_code, rule_code)
);

CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    source TEXT NOT NULL,
    device_code TEXT,
    reason TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX dead_letters_at ON dead_letters(at);
