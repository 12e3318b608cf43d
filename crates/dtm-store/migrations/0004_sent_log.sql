-- Version 4: what the device can tell about its own sync.
--
-- 1. The outbox keeps an operation HQ answered `superseded` (this device had already
--    sent newer values of its fields) apart from refusals and conflicts. SQLite cannot
--    change a CHECK constraint in place, so the outbox is rebuilt with every row kept.
CREATE TABLE outbox_v4 (
    seq           INTEGER PRIMARY KEY,
    op_id         TEXT NOT NULL UNIQUE,
    round         TEXT NOT NULL,
    form          TEXT NOT NULL,
    location      TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('edit', 'submit', 'void')),
    value         TEXT,
    base_version  INTEGER NOT NULL,
    hlc           TEXT NOT NULL,
    form_version  INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'rejected', 'conflict', 'superseded')),
    reject_code   TEXT,
    reject_reason TEXT
);
INSERT INTO outbox_v4 SELECT * FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v4 RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (state, seq);
CREATE INDEX outbox_by_assessment ON outbox (round, form, location, state);

-- 2. The sent log: every answer HQ gave to an operation of this device, so that what
--    left the outbox can still be matched to HQ's `ops` table by op_id. Bounded (the
--    store keeps the newest 10,000 rows, see `SENT_LOG_KEEP`): an enumerator makes a
--    few thousand saves in a round, so this covers several rounds, while a tablet
--    syncing for years does not grow its store without end (a row is about 200 bytes).
CREATE TABLE sent (
    id          INTEGER PRIMARY KEY,
    op_id       TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    round       TEXT NOT NULL,
    form        TEXT NOT NULL,
    location    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('applied', 'conflict', 'rejected', 'superseded')),
    -- HQ had already answered this op_id (an earlier push whose answer was lost).
    duplicate   INTEGER NOT NULL DEFAULT 0,
    code        TEXT,
    reason      TEXT,
    created_at  TEXT NOT NULL,  -- when the enumerator saved it
    sent_at     TEXT NOT NULL,  -- when the push carrying it left
    answered_at TEXT NOT NULL   -- when HQ's answer was recorded
);
CREATE INDEX sent_by_op ON sent (op_id);

-- 3. Audit rows name the operation that carried the change to HQ.
ALTER TABLE audit ADD COLUMN op_id TEXT;

-- 4. HQ's reachability at the last attempt (NULL: never tried), kept across processes
--    so that a fresh `dtm status` tells the truth.
ALTER TABLE device ADD COLUMN hq_reachable INTEGER;

-- 5. Logouts HQ has not heard of yet: the token is forgotten for signing in at once,
--    and kept here only to ask HQ to revoke it at the next connection.
CREATE TABLE pending_logout (
    token  TEXT PRIMARY KEY,
    hq_url TEXT NOT NULL,
    since  TEXT NOT NULL
);
