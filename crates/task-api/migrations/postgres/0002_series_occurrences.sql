-- One task per occurrence of a recurring series (PostgreSQL; see docs/recurrence.md).
--
-- `occurrence_at` and `follows` copy the snapshot's fields of the same names (the occurrence a
-- task stands for, and the occurrence of the completed predecessor it succeeds). The unique
-- indexes make a second successor of the same occurrence impossible, whatever is redelivered
-- or raced: task-api's create answers such a repeat with the existing task.
--
-- Rows written before this migration keep NULLs here until their next change: until then
-- every series had a single task, so there is nothing to collide with.

ALTER TABLE tasks ADD COLUMN occurrence_at TIMESTAMPTZ;
ALTER TABLE tasks ADD COLUMN follows TIMESTAMPTZ;

CREATE UNIQUE INDEX tasks_series_occurrence_at ON tasks (series_id, occurrence_at)
    WHERE series_id IS NOT NULL AND occurrence_at IS NOT NULL;
CREATE UNIQUE INDEX tasks_series_follows ON tasks (series_id, follows)
    WHERE series_id IS NOT NULL AND follows IS NOT NULL;
