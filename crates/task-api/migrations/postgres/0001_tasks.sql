-- Tasks, their tags, idempotency keys and the transactional outbox (PostgreSQL).
--
-- The task's full state is the `snapshot` (the event contract's TaskSnapshot); the other
-- columns copy the fields that listing filters and sorts on, and are rewritten with it.

CREATE TABLE tasks (
    id               UUID PRIMARY KEY,
    owner            TEXT        NOT NULL,
    status           TEXT        NOT NULL CHECK (status IN ('open', 'completed')),
    -- none = 0, low = 1, medium = 2, high = 3, urgent = 4: sorts by rank, not by name.
    priority_rank    SMALLINT    NOT NULL CHECK (priority_rank BETWEEN 0 AND 4),
    -- Lower-cased title and description for case-insensitive search and title sorting.
    -- Code-point order ("C"), the order SQLite's BINARY collation gives, so both backends
    -- sort titles alike and keyset comparisons agree with ORDER BY.
    title_fold       TEXT COLLATE "C" NOT NULL,
    description_fold TEXT,
    due_at           TIMESTAMPTZ,
    series_id        UUID,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    version          BIGINT      NOT NULL CHECK (version >= 1),
    snapshot         JSONB       NOT NULL
);

CREATE INDEX tasks_owner_created_at ON tasks (owner, created_at, id);
CREATE INDEX tasks_owner_updated_at ON tasks (owner, updated_at, id);
CREATE INDEX tasks_owner_due_at ON tasks (owner, due_at, id);
CREATE INDEX tasks_owner_status_due_at ON tasks (owner, status, due_at);
CREATE INDEX tasks_owner_series_id ON tasks (owner, series_id) WHERE series_id IS NOT NULL;

CREATE TABLE task_tags (
    task_id UUID NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (task_id, tag)
);

CREATE INDEX task_tags_tag ON task_tags (tag, task_id);

CREATE TABLE idempotency_keys (
    owner        TEXT        NOT NULL,
    key          TEXT        NOT NULL,
    request_hash TEXT        NOT NULL,
    status       INTEGER     NOT NULL,
    body         BYTEA       NOT NULL,
    location     TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (owner, key)
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

CREATE TABLE outbox (
    seq          BIGSERIAL PRIMARY KEY,
    event_id     UUID        NOT NULL UNIQUE,
    event_type   TEXT        NOT NULL,
    topic        TEXT        NOT NULL,
    key          TEXT        NOT NULL,
    payload      BYTEA       NOT NULL,
    -- A JSON array of [name, value] pairs, in order.
    headers      TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ
);

-- The relay's scan: unpublished rows in seq order.
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
-- Pruning: published rows by age.
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;
