-- The gazetteer's changes over the one shipped with HQ: each row a location's whole new
-- state (added, renamed, reclassed, retired or brought back), in the order they were
-- made. `seq` comes from the change sequence, so devices receive them as a delta after
-- their cursor, and a row is never rewritten: the history of a location is its rows.
CREATE TABLE location_changes (
    seq INTEGER PRIMARY KEY,
    pcode TEXT NOT NULL,
    name_en TEXT NOT NULL,
    name_ar TEXT NOT NULL,
    kind TEXT,
    lat TEXT,
    lon TEXT,
    retired INTEGER NOT NULL DEFAULT 0,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX location_changes_pcode ON location_changes (pcode, seq);
