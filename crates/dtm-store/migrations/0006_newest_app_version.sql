-- The newest field app HQ last said was released, to tell the enumerator an update is available.
ALTER TABLE device ADD COLUMN newest_app_version TEXT;
