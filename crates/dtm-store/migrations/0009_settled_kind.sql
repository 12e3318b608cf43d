-- Which kind of conflict was settled: `value` (another device changed the field too,
-- every row before this migration) or `void` (this device's edit arrived after the
-- assessment was voided).
ALTER TABLE settled ADD COLUMN kind TEXT NOT NULL DEFAULT 'value';
