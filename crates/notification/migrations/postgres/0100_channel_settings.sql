-- Per-user channel settings and webhook endpoints (src/endpoints/store.rs).

CREATE TABLE notification_settings (
    user_id TEXT PRIMARY KEY,
    email_address TEXT,
    email_enabled BOOLEAN NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- The secrets are HMAC keys: the service must read them to sign, so they are stored as they
-- are (protect the database and its backups accordingly).
CREATE TABLE webhook_endpoints (
    id UUID PRIMARY KEY,
    user_id TEXT NOT NULL,
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    secret BYTEA NOT NULL,
    previous_secret BYTEA,
    previous_secret_expires_at TIMESTAMPTZ,
    enabled BOOLEAN NOT NULL,
    disabled_reason TEXT,
    disabled_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX webhook_endpoints_by_user ON webhook_endpoints (user_id, created_at, id);
