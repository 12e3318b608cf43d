-- When a conflict was settled, in the change sequence (in commit order): a device asks
-- for the settlements of its own conflicts after its cursor, to tell the enumerator
-- which field, their value, the settled one, who settled it and why.
ALTER TABLE conflicts ADD COLUMN resolved_seq INTEGER;
CREATE INDEX conflicts_resolved_seq ON conflicts (resolved_seq) WHERE resolved_seq IS NOT NULL;
