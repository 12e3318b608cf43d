-- The key that opens a field device's encrypted store when no password on the device
-- can (a password reset at HQ): one per store, released to the accounts that have
-- opened that store before (one row each), never to a revoked device.
CREATE TABLE store_keys (
    store_id   text NOT NULL,
    username   text NOT NULL REFERENCES users (username),
    store_key  text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (store_id, username)
);
