-- A round's title in Arabic beside its English one; empty until an admin gives it.
ALTER TABLE rounds ADD COLUMN title_ar TEXT NOT NULL DEFAULT '';
