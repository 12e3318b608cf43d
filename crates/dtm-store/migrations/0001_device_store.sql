-- The device store, version 1. Shipped migrations are never edited; add a new file.

-- One row: who this device is, who is logged in, and where sync stands.
CREATE TABLE device (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    device_id       TEXT NOT NULL,
    hlc             TEXT NOT NULL,
    next_seq        INTEGER NOT NULL DEFAULT 1,
    hq_url          TEXT,
    token           TEXT,
    username        TEXT,
    display_name    TEXT,
    role            TEXT,
    scope           TEXT,           -- JSON array of P-code prefixes
    pull_cursor     TEXT,
    last_sync_at    TEXT,
    last_error_code TEXT,
    last_error      TEXT
);

CREATE TABLE rounds (
    code         TEXT PRIMARY KEY,
    number       INTEGER NOT NULL,
    title        TEXT NOT NULL,
    status       TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end   TEXT NOT NULL,
    forms        TEXT NOT NULL     -- JSON array of [form, version]
);

CREATE TABLE assessments (
    round          TEXT NOT NULL,
    form           TEXT NOT NULL,
    location       TEXT NOT NULL,
    status         TEXT NOT NULL,
    form_version   INTEGER NOT NULL,
    server_version INTEGER NOT NULL DEFAULT 0,
    open_conflicts INTEGER NOT NULL DEFAULT 0,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (round, form, location)
);

-- `value` is what the enumerator sees; `server_value`/`server_version` is the last
-- version pulled from HQ. They differ while local operations are pending.
CREATE TABLE field_values (
    round          TEXT NOT NULL,
    form           TEXT NOT NULL,
    location       TEXT NOT NULL,
    field          TEXT NOT NULL,
    value          TEXT NOT NULL,
    server_value   TEXT,
    server_version INTEGER NOT NULL DEFAULT 0,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (round, form, location, field),
    FOREIGN KEY (round, form, location) REFERENCES assessments (round, form, location)
);

CREATE TABLE comments (
    round    TEXT NOT NULL,
    form     TEXT NOT NULL,
    location TEXT NOT NULL,
    hq_id    INTEGER NOT NULL,
    author   TEXT NOT NULL,
    role     TEXT NOT NULL,
    decision TEXT,
    text     TEXT NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (round, form, location, hq_id)
);

-- Every local change, waiting to be pushed. `seq` is the per-device sequence number.
CREATE TABLE outbox (
    seq           INTEGER PRIMARY KEY,
    op_id         TEXT NOT NULL UNIQUE,
    round         TEXT NOT NULL,
    form          TEXT NOT NULL,
    location      TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('set_field', 'submit')),
    field         TEXT,
    value         TEXT,
    base_version  INTEGER NOT NULL,
    hlc           TEXT NOT NULL,
    form_version  INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'rejected', 'conflict')),
    reject_code   TEXT,
    reject_reason TEXT
);
CREATE INDEX outbox_pending ON outbox (state, seq);
CREATE INDEX outbox_field ON outbox (round, form, location, field);

-- Who changed what, when, on this device: old value → new value.
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    device_id TEXT NOT NULL,
    round     TEXT NOT NULL,
    form      TEXT NOT NULL,
    location  TEXT NOT NULL,
    action    TEXT NOT NULL,
    field     TEXT,
    old_value TEXT,
    new_value TEXT
);
