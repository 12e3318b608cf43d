-- Conflicts this device was a side of, settled at HQ, as the pull brings them: which
-- field, the value this device had, the settled one, who settled it and why. Kept so
-- the form can say so, instead of changing the enumerator's value without a word.
CREATE TABLE settled (
    round    TEXT NOT NULL,
    form     TEXT NOT NULL,
    location TEXT NOT NULL,
    field    TEXT NOT NULL,
    at       TEXT NOT NULL,
    yours    TEXT NOT NULL,
    settled  TEXT NOT NULL,
    by       TEXT NOT NULL,
    by_name  TEXT NOT NULL,
    reason   TEXT NOT NULL,
    PRIMARY KEY (round, form, location, field, at)
);
-- Where the next pull asks for settlements from; none yet means from the start.
ALTER TABLE device ADD COLUMN settled_cursor TEXT;
