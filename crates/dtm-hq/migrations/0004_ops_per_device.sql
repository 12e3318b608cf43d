-- Push answers are remembered per device (issue 8, item 6). Keyed by op_id alone, a
-- device that sent another device's op_id got that device's answer back, and an op_id
-- re-sent with other values was answered `duplicate` while the values were dropped.
-- Now the key is (device_id, op_id), and `payload_hash` (SHA-256 of the operation as
-- HQ read it) tells an honest retry from an op_id reused for another payload.
-- Operations remembered before this migration have no hash; a retry of one of them is
-- answered as before.
CREATE TABLE ops_by_device (
    device_id    TEXT NOT NULL,
    op_id        TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    outcome      TEXT NOT NULL,
    code         TEXT,
    reason       TEXT,
    received_at  TEXT NOT NULL,
    payload_hash TEXT,
    PRIMARY KEY (device_id, op_id)
) WITHOUT ROWID;

INSERT INTO ops_by_device (device_id, op_id, seq, outcome, code, reason, received_at)
SELECT device_id, op_id, seq, outcome, code, reason, received_at FROM ops;

DROP TABLE ops;
ALTER TABLE ops_by_device RENAME TO ops;
