-- Locations HQ added, renamed or retired, received with the pull: each one's latest
-- state (JSON), over the gazetteer shipped with the app. Retired ones stay, with their
-- past assessments.
CREATE TABLE locations (
    pcode TEXT PRIMARY KEY,
    location TEXT NOT NULL
);
-- Where the next pull asks HQ's gazetteer changes from; none yet means from the start.
ALTER TABLE device ADD COLUMN gazetteer_cursor TEXT;
