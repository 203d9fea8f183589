-- Content idempotency (API.md §7): a task or an activity sent without any key (no
-- Idempotency-Key, no externalId, no messageId) is the same item as one with the same content
-- created in the last ten minutes. `content_key` is its ten-minute bucket and content fingerprint
-- (domain/work/content.rs), unique among the items that hold one, so two concurrent retries
-- cannot both be stored; the insert itself also looks at the previous bucket. Items stored before
-- hold none, and a deleted task releases its own.
ALTER TABLE tasks ADD COLUMN content_key TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS tasks_content ON tasks (content_key) WHERE content_key IS NOT NULL;
ALTER TABLE activities ADD COLUMN content_key TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS activities_content ON activities (content_key) WHERE content_key IS NOT NULL;
-- A value sent and not applied is never dropped silently (API.md §4): a create deduplicated onto a
-- stored record keeps each sent value that CREATE_MERGE or FIELD_POLICY kept out in history, as
-- sent, with `applied` 0. Every row written before is a change that was applied.
ALTER TABLE history ADD COLUMN applied INTEGER NOT NULL DEFAULT 1;
