-- Accounts an operation can staff a round with: preferred language, disabling,
-- one-time passwords, who created whom; what each device last reported; one-time
-- enrolment codes; and the audit log's filters.

ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'ar'));
ALTER TABLE users ADD COLUMN disabled_at TEXT;
-- 1: the password is a one-time one (or none was set yet); it must be changed first.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1));
ALTER TABLE users ADD COLUMN created_by TEXT;

ALTER TABLE devices ADD COLUMN app_version TEXT;
ALTER TABLE devices ADD COLUMN last_sync_at TEXT;
-- Operations the device had not pushed yet when it last synced, as it reported them.
ALTER TABLE devices ADD COLUMN pending_ops INTEGER;

-- A code works once, for one user, until it expires. Only its hash is kept.
CREATE TABLE enrolments (
    code_hash  TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES users (username),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    device_id  TEXT
);

CREATE INDEX access_log_by_actor ON access_log (actor, id);
CREATE INDEX access_log_by_action ON access_log (action, id);
