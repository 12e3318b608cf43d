-- Version 2: operations may void an assessment (a tombstone). SQLite cannot change a
-- CHECK constraint in place, so the outbox is rebuilt with every row kept.
CREATE TABLE outbox_v2 (
    seq           INTEGER PRIMARY KEY,
    op_id         TEXT NOT NULL UNIQUE,
    round         TEXT NOT NULL,
    form          TEXT NOT NULL,
    location      TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('set_field', 'submit', 'void')),
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
INSERT INTO outbox_v2 SELECT * FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v2 RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (state, seq);
CREATE INDEX outbox_field ON outbox (round, form, location, field);
