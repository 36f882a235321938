-- The audit trail: one row per event, never updated; deleted only by the retention job.
CREATE TABLE audit_events (
    -- Insertion order; the keyset for pagination together with occurred_at.
    id               BIGSERIAL   PRIMARY KEY,
    event_id         UUID        NOT NULL UNIQUE,
    event_type       TEXT        NOT NULL,
    known_type       BOOLEAN     NOT NULL,
    subject          TEXT        NOT NULL,
    user_id          TEXT        NOT NULL,
    actor            TEXT        NOT NULL,
    occurred_at      TIMESTAMPTZ NOT NULL,
    recorded_at      TIMESTAMPTZ NOT NULL,
    source_topic     TEXT        NOT NULL,
    source_partition INTEGER     NOT NULL,
    source_offset    BIGINT      NOT NULL,
    correlation_id   TEXT,
    -- JSON text exactly as hashed (jsonb would re-encode it and break the hash).
    payload          TEXT        NOT NULL,
    changes          TEXT,
    chain_seq        BIGINT      NOT NULL,
    prev_hash        TEXT        NOT NULL,
    hash             TEXT        NOT NULL,
    UNIQUE (user_id, chain_seq)
);

CREATE INDEX audit_events_user_time ON audit_events (user_id, occurred_at, id);
CREATE INDEX audit_events_subject_time ON audit_events (subject, occurred_at, id);
CREATE INDEX audit_events_time ON audit_events (occurred_at, id);
-- Retention finds what was recorded before its cutoff without reading the whole table.
CREATE INDEX audit_events_recorded ON audit_events (recorded_at);

-- Each user's chain: its last entry (appends lock this row), and the anchor where retention
-- cut it (the number and hash of the last removed entry).
CREATE TABLE audit_chain_heads (
    user_id          TEXT        PRIMARY KEY,
    last_seq         BIGINT      NOT NULL DEFAULT 0,
    last_hash        TEXT        NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000',
    last_recorded_at TIMESTAMPTZ,
    anchor_seq       BIGINT      NOT NULL DEFAULT 0,
    anchor_hash      TEXT        NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000'
);

-- Every retention run, for the record.
CREATE TABLE audit_retention_runs (
    id          BIGSERIAL   PRIMARY KEY,
    ran_at      TIMESTAMPTZ NOT NULL,
    cutoff      TIMESTAMPTZ NOT NULL,
    deleted     BIGINT      NOT NULL
);

-- Append-only, enforced by the database too: no row is ever updated.
CREATE FUNCTION audit_events_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: rows are never updated';
END;
$$;

CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_update();
