-- Tasks, their tags, idempotency keys and the transactional outbox (SQLite).
--
-- Same tables as the PostgreSQL schema. Differences: instants are INTEGER microseconds
-- since the Unix epoch (exact, and they order correctly), UUIDs are 16-byte BLOBs (they
-- order like PostgreSQL's uuid), JSON is TEXT.

CREATE TABLE tasks (
    id               BLOB    PRIMARY KEY NOT NULL,
    owner            TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('open', 'completed')),
    -- none = 0, low = 1, medium = 2, high = 3, urgent = 4: sorts by rank, not by name.
    priority_rank    INTEGER NOT NULL CHECK (priority_rank BETWEEN 0 AND 4),
    -- Lower-cased title and description for case-insensitive search and title sorting.
    title_fold       TEXT    NOT NULL,
    description_fold TEXT,
    due_at           INTEGER,
    series_id        BLOB,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL CHECK (version >= 1),
    snapshot         TEXT    NOT NULL
);

CREATE INDEX tasks_owner_created_at ON tasks (owner, created_at, id);
CREATE INDEX tasks_owner_updated_at ON tasks (owner, updated_at, id);
CREATE INDEX tasks_owner_due_at ON tasks (owner, due_at, id);
CREATE INDEX tasks_owner_status_due_at ON tasks (owner, status, due_at);
CREATE INDEX tasks_owner_series_id ON tasks (owner, series_id) WHERE series_id IS NOT NULL;

CREATE TABLE task_tags (
    task_id BLOB NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (task_id, tag)
) WITHOUT ROWID;

CREATE INDEX task_tags_tag ON task_tags (tag, task_id);

CREATE TABLE idempotency_keys (
    owner        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    body         BLOB    NOT NULL,
    location     TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (owner, key)
) WITHOUT ROWID;

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

CREATE TABLE outbox (
    -- AUTOINCREMENT: a seq is never reused, even after the newest rows are pruned.
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     BLOB    NOT NULL UNIQUE,
    event_type   TEXT    NOT NULL,
    topic        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    payload      BLOB    NOT NULL,
    -- A JSON array of [name, value] pairs, in order.
    headers      TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    published_at INTEGER
);

-- The relay's scan: unpublished rows in seq order.
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
-- Pruning: published rows by age.
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;
