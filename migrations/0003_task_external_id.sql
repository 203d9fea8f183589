-- A task's own externalId (the client's id of it), so a retried create makes no copy. Unique
-- among tasks that hold one; a deleted task releases it.
ALTER TABLE tasks ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS tasks_external ON tasks (external_id) WHERE external_id IS NOT NULL;
