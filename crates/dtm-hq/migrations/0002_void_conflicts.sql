-- Version 2: a conflict is either two values for one field, or an edit that raced a void.
ALTER TABLE conflicts ADD COLUMN kind TEXT NOT NULL DEFAULT 'value' CHECK (kind IN ('value', 'void'));
