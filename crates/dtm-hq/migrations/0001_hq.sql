-- HQ's SQLite schema, version 1. Shipped migrations are never edited; add a new file.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('enumerator', 'supervisor', 'admin')),
    scope         TEXT NOT NULL,              -- JSON array of P-code prefixes
    password_hash TEXT NOT NULL,              -- argon2id PHC string
    created_at    TEXT NOT NULL
);

-- A logged-in device (or browser). Only a hash of its token is kept.
CREATE TABLE devices (
    device_id  TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES users (username),
    name       TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE rounds (
    code         TEXT PRIMARY KEY,
    number       INTEGER NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    status       TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end   TEXT NOT NULL,
    forms        TEXT NOT NULL                -- JSON array of {form, version}
);

-- `change_seq` is unique per change and allotted inside the writing transaction;
-- SQLite has one writer, so its order is commit order and pull cursors cannot skip.
CREATE TABLE assessments (
    id           INTEGER PRIMARY KEY,
    round        TEXT NOT NULL REFERENCES rounds (code),
    form         TEXT NOT NULL,
    location     TEXT NOT NULL,
    status       TEXT NOT NULL,
    form_version INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    change_seq   INTEGER NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (round, form, location)
);

CREATE TABLE field_values (
    assessment_id INTEGER NOT NULL REFERENCES assessments (id),
    field         TEXT NOT NULL,
    value         TEXT NOT NULL,              -- JSON
    version       INTEGER NOT NULL,
    author        TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    hlc           TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (assessment_id, field)
);

-- Every version of every field: the audit trail, and the base values of conflicts.
CREATE TABLE field_history (
    id            INTEGER PRIMARY KEY,
    assessment_id INTEGER NOT NULL REFERENCES assessments (id),
    field         TEXT NOT NULL,
    version       INTEGER NOT NULL,
    old_value     TEXT,
    value         TEXT NOT NULL,
    author        TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    hlc           TEXT NOT NULL,
    op_id         TEXT,
    at            TEXT NOT NULL
);
CREATE INDEX field_history_by_field ON field_history (assessment_id, field, version);

CREATE TABLE conflicts (
    id               INTEGER PRIMARY KEY,
    assessment_id    INTEGER NOT NULL REFERENCES assessments (id),
    field            TEXT NOT NULL,
    base_version     INTEGER NOT NULL,
    base_value       TEXT,
    current_value    TEXT NOT NULL,
    current_version  INTEGER NOT NULL,
    current_author   TEXT NOT NULL,
    current_device   TEXT NOT NULL,
    current_hlc      TEXT NOT NULL,
    incoming_value   TEXT NOT NULL,
    incoming_author  TEXT NOT NULL,
    incoming_device  TEXT NOT NULL,
    incoming_hlc     TEXT NOT NULL,
    op_id            TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    created_at       TEXT NOT NULL,
    resolved_by      TEXT,
    resolution_value TEXT,
    resolution_reason TEXT,
    resolved_at      TEXT
);
CREATE INDEX conflicts_open ON conflicts (assessment_id, status);

CREATE TABLE comments (
    id            INTEGER PRIMARY KEY,
    assessment_id INTEGER NOT NULL REFERENCES assessments (id),
    author        TEXT NOT NULL,
    role          TEXT NOT NULL,
    decision      TEXT,
    text          TEXT NOT NULL,
    at            TEXT NOT NULL
);

-- The answer given to every operation ever pushed, so a repeated push gets the same answer.
CREATE TABLE ops (
    op_id       TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    code        TEXT,
    reason      TEXT,
    received_at TEXT NOT NULL
);

-- Who read and exported what (data responsibility).
CREATE TABLE access_log (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL
);
