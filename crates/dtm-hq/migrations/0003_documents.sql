-- Version 3: an assessment's fields live in its own row, as one JSON document, and every
-- write is one row of `changes`. A push of 100,000 assessments is then 100,000 rows
-- written, not 6,000,000 (a row per field and another per field version).
--
-- assessments.fields: {field: [value, version, change_id]}
-- changes.fields:     {field: [value, version]}, what one operation (or import, or
--                     settlement) wrote; with `op_id`, author, device and HLC it is the
--                     audit trail and where a conflict finds its base value.
ALTER TABLE assessments ADD COLUMN fields TEXT NOT NULL DEFAULT '{}';

CREATE TABLE changes (
    id            INTEGER PRIMARY KEY,
    assessment_id INTEGER NOT NULL REFERENCES assessments (id),
    op_id         TEXT,
    author        TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    hlc           TEXT NOT NULL,
    at            TEXT NOT NULL,
    fields        TEXT NOT NULL
);
CREATE INDEX changes_by_assessment ON changes (assessment_id);
CREATE INDEX changes_by_op ON changes (op_id) WHERE op_id IS NOT NULL;

INSERT INTO changes (id, assessment_id, op_id, author, device_id, hlc, at, fields)
SELECT id, assessment_id, op_id, author, device_id, hlc, at, json_object(field, json_array(json(value), version))
FROM field_history ORDER BY id;

UPDATE assessments SET fields = coalesce((
    SELECT json_group_object(f.field, json_array(json(f.value), f.version, coalesce((
        SELECT max(h.id) FROM field_history h
        WHERE h.assessment_id = f.assessment_id AND h.field = f.field AND h.version = f.version), 0)))
    FROM field_values f WHERE f.assessment_id = assessments.id), '{}');

DROP TABLE field_values;
DROP TABLE field_history;

-- The same data a field at a time, for people querying HQ by hand.
CREATE VIEW field_values AS
SELECT a.id AS assessment_id, j.key AS field, j.value -> '$[0]' AS value, j.value ->> '$[1]' AS version,
       c.author, c.device_id, c.hlc, c.at AS updated_at
FROM assessments a, json_each(a.fields) j LEFT JOIN changes c ON c.id = j.value ->> '$[2]';

CREATE VIEW field_history AS
SELECT c.id AS change_id, c.assessment_id, j.key AS field, j.value ->> '$[1]' AS version, j.value -> '$[0]' AS value,
       c.author, c.device_id, c.hlc, c.op_id, c.at
FROM changes c, json_each(c.fields) j;
CREATE INDEX comments_by_assessment ON comments (assessment_id);
CREATE INDEX assessments_by_location ON assessments (form, location);
