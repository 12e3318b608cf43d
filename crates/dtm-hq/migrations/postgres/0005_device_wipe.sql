-- A device revoked with a wipe: it may still push what it holds, then it is told to
-- remove its data.
ALTER TABLE devices ADD COLUMN wipe_requested_at timestamptz;
