-- Failed logins of each account since its last success, and its lockout. Only real
-- accounts have a row: made-up usernames are tracked in HQ's memory, so a flood of
-- them cannot grow the database.
CREATE TABLE login_failures (
    username     TEXT PRIMARY KEY REFERENCES users (username) ON DELETE CASCADE,
    failures     INTEGER NOT NULL,
    locked_until TEXT                         -- RFC 3339; NULL when not locked
);
