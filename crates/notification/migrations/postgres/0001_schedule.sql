-- The notification service's schedule: one row per reminder (keyed by the id task-api gives
-- it), the deliveries of each firing, the in-app inbox, the consumer's per-partition progress
-- and the outbox of `reminder.sent`.

CREATE TABLE schedule (
    reminder_id  UUID        PRIMARY KEY,
    user_id      TEXT        NOT NULL,
    task_id      UUID        NOT NULL,
    title        TEXT        NOT NULL,
    -- The instant task-api asked for; fire_at moves with each snooze.
    remind_at    TIMESTAMPTZ NOT NULL,
    due_at       TIMESTAMPTZ,
    fire_at      TIMESTAMPTZ NOT NULL,
    -- 0, then +1 per snooze: each generation is delivered once.
    generation   INTEGER     NOT NULL DEFAULT 0,
    -- scheduled | cancelled | delivering | sent | failed | expired
    state        TEXT        NOT NULL,
    -- The `sequence` of the last event applied: older or repeated events change nothing.
    sequence     BIGINT      NOT NULL,
    -- The `reminders` partition its events arrive on (the "never for a stale task" check).
    source_partition INTEGER NOT NULL,
    -- Claims of the current generation (a claim after an expired lease or for a retry counts).
    attempts     INTEGER     NOT NULL DEFAULT 0,
    lease_owner  TEXT,
    -- While delivering: the lease's end; another replica may take the entry over after it.
    lease_until  TIMESTAMPTZ,
    fired_at     TIMESTAMPTZ,
    late         BOOLEAN     NOT NULL DEFAULT FALSE,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- The scheduler's two scans: what is due, and whose lease has ended.
CREATE INDEX schedule_due ON schedule (fire_at) WHERE state = 'scheduled';
CREATE INDEX schedule_leased ON schedule (lease_until) WHERE state = 'delivering';

-- One row per (reminder, generation, target): a second attempt reuses it (and its ids).
CREATE TABLE deliveries (
    reminder_id     UUID        NOT NULL,
    generation      INTEGER     NOT NULL,
    -- `inbox`, `email` or `webhook:<endpoint id>`
    target          TEXT        NOT NULL,
    channel         TEXT        NOT NULL,
    -- pending | retrying | delivered | failed | disabled
    state           TEXT        NOT NULL,
    attempts        INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    last_error      TEXT,
    delivered_at    TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (reminder_id, generation, target)
);

-- The in-app inbox: one notification per (reminder, generation).
CREATE TABLE inbox (
    id          UUID        PRIMARY KEY,
    user_id     TEXT        NOT NULL,
    reminder_id UUID        NOT NULL,
    generation  INTEGER     NOT NULL,
    task_id     UUID        NOT NULL,
    title       TEXT        NOT NULL,
    remind_at   TIMESTAMPTZ NOT NULL,
    due_at      TIMESTAMPTZ,
    fired_at    TIMESTAMPTZ NOT NULL,
    late        BOOLEAN     NOT NULL,
    read_at     TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (reminder_id, generation)
);

-- Newest first per user (ids are UUIDv7), and the unread ones.
CREATE INDEX inbox_user ON inbox (user_id, id);
CREATE INDEX inbox_unread ON inbox (user_id, id) WHERE read_at IS NULL;

-- How far the consumer has handled each partition, written by whichever replica owns it.
CREATE TABLE consumer_progress (
    topic          TEXT        NOT NULL,
    source_partition INTEGER   NOT NULL,
    -- The offset after the last handled record.
    next_offset    BIGINT      NOT NULL,
    -- The broker timestamp of the last handled record.
    last_record_at TIMESTAMPTZ,
    -- Every record the partition held at this instant has been handled.
    caught_up_at   TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (topic, source_partition)
);

CREATE TABLE notification_outbox (
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
CREATE INDEX notification_outbox_unpublished ON notification_outbox (seq) WHERE published_at IS NULL;
-- Pruning: published rows by age.
CREATE INDEX notification_outbox_published_at ON notification_outbox (published_at) WHERE published_at IS NOT NULL;
