-- Version 3: an assessment's fields live in its own row, and one save is one outbox
-- operation however many fields it changes. Pulling 100,000 assessments then writes
-- 100,000 rows, not 6,000,000.
--
-- assessments.fields:        {field: value}, what the enumerator sees
-- assessments.server_fields: {field: [value, version]}, the last version pulled from HQ;
--                            the two differ while local operations are pending
ALTER TABLE assessments ADD COLUMN fields TEXT NOT NULL DEFAULT '{}';
ALTER TABLE assessments ADD COLUMN server_fields TEXT NOT NULL DEFAULT '{}';

UPDATE assessments SET
    fields = coalesce((
        SELECT json_group_object(f.field, json(f.value)) FROM field_values f
        WHERE f.round = assessments.round AND f.form = assessments.form AND f.location = assessments.location), '{}'),
    server_fields = coalesce((
        SELECT json_group_object(f.field, json_array(json(f.server_value), f.server_version)) FROM field_values f
        WHERE f.round = assessments.round AND f.form = assessments.form AND f.location = assessments.location
          AND f.server_value IS NOT NULL), '{}');

DROP TABLE field_values;

-- An `edit` holds in `value` every field of one save: {field: [value, base_version]}.
-- Queued single-field operations become one-field edits; none is lost.
CREATE TABLE outbox_v3 (
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
    state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'rejected', 'conflict')),
    reject_code   TEXT,
    reject_reason TEXT
);
INSERT INTO outbox_v3
SELECT seq, op_id, round, form, location,
       CASE kind WHEN 'set_field' THEN 'edit' ELSE kind END,
       CASE kind WHEN 'set_field' THEN json_object(field, json_array(json(value), base_version)) ELSE value END,
       base_version, hlc, form_version, created_at, state, reject_code, reject_reason
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v3 RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (state, seq);
CREATE INDEX outbox_by_assessment ON outbox (round, form, location, state);

-- The previous round's assessment of a location is found by form and location.
CREATE INDEX assessments_by_location ON assessments (form, location);
CREATE INDEX rounds_by_number ON rounds (number);

-- The same data a field at a time, for people querying the store by hand.
CREATE VIEW field_values AS
SELECT a.round, a.form, a.location, j.key AS field, a.fields -> j.fullkey AS value,
       a.server_fields -> (j.fullkey || '[0]') AS server_value,
       coalesce(a.server_fields ->> (j.fullkey || '[1]'), 0) AS server_version
FROM assessments a, json_each(a.fields) j;
