-- Per-user channel settings and webhook endpoints (src/endpoints/store.rs). Instants are
-- INTEGER microseconds, UUIDs 16-byte BLOBs, Booleans 0/1 (service_runtime::database).

CREATE TABLE notification_settings (
    user_id TEXT PRIMARY KEY,
    email_address TEXT,
    email_enabled INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The secrets are HMAC keys: the service must read them to sign, so they are stored as they
-- are (protect the database file accordingly).
CREATE TABLE webhook_endpoints (
    id BLOB PRIMARY KEY,
    user_id TEXT NOT NULL,
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    secret BLOB NOT NULL,
    previous_secret BLOB,
    previous_secret_expires_at INTEGER,
    enabled INTEGER NOT NULL,
    disabled_reason TEXT,
    disabled_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE INDEX webhook_endpoints_by_user ON webhook_endpoints (user_id, created_at, id);
