-- Accounts an operation can staff a round with: preferred language, disabling,
-- one-time passwords, who created whom; what each device last reported; one-time
-- enrolment codes; and the audit log's filters. (SQLite: 0006_accounts.sql.)

ALTER TABLE users ADD COLUMN language text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'ar'));
ALTER TABLE users ADD COLUMN disabled_at timestamptz;
-- 1: the password is a one-time one (or none was set yet); it must be changed first.
ALTER TABLE users ADD COLUMN must_change_password integer NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1));
ALTER TABLE users ADD COLUMN created_by text;

ALTER TABLE devices ADD COLUMN app_version text;
ALTER TABLE devices ADD COLUMN last_sync_at timestamptz;
-- Operations the device had not pushed yet when it last synced, as it reported them.
ALTER TABLE devices ADD COLUMN pending_ops integer;

-- A code works once, for one user, until it expires. Only its hash is kept.
CREATE TABLE enrolments (
    code_hash  text PRIMARY KEY,
    username   text NOT NULL REFERENCES users (username),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    device_id  text
);

CREATE INDEX access_log_by_actor ON access_log (actor, id);
CREATE INDEX access_log_by_action ON access_log (action, id);
