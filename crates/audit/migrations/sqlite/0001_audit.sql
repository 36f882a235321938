-- The audit trail: one row per event, never updated; deleted only by the retention job.
-- Instants are INTEGER microseconds since the epoch, UUIDs 16-byte BLOBs.
CREATE TABLE audit_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         BLOB    NOT NULL UNIQUE,
    event_type       TEXT    NOT NULL,
    known_type       INTEGER NOT NULL,
    subject          TEXT    NOT NULL,
    user_id          TEXT    NOT NULL,
    actor            TEXT    NOT NULL,
    occurred_at      INTEGER NOT NULL,
    recorded_at      INTEGER NOT NULL,
    source_topic     TEXT    NOT NULL,
    source_partition INTEGER NOT NULL,
    source_offset    INTEGER NOT NULL,
    correlation_id   TEXT,
    payload          TEXT    NOT NULL,
    changes          TEXT,
    chain_seq        INTEGER NOT NULL,
    prev_hash        TEXT    NOT NULL,
    hash             TEXT    NOT NULL,
    UNIQUE (user_id, chain_seq)
);

CREATE INDEX audit_events_user_time ON audit_events (user_id, occurred_at, id);
CREATE INDEX audit_events_subject_time ON audit_events (subject, occurred_at, id);
CREATE INDEX audit_events_time ON audit_events (occurred_at, id);
-- Retention finds what was recorded before its cutoff without reading the whole table.
CREATE INDEX audit_events_recorded ON audit_events (recorded_at);

CREATE TABLE audit_chain_heads (
    user_id          TEXT    PRIMARY KEY NOT NULL,
    last_seq         INTEGER NOT NULL DEFAULT 0,
    last_hash        TEXT    NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000',
    last_recorded_at INTEGER,
    anchor_seq       INTEGER NOT NULL DEFAULT 0,
    anchor_hash      TEXT    NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000'
);

CREATE TABLE audit_retention_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ran_at      INTEGER NOT NULL,
    cutoff      INTEGER NOT NULL,
    deleted     INTEGER NOT NULL
);

CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: rows are never updated');
END;
