-- "My work" (`GET /view/work`) and the counts in every page's header read a person's open tasks
-- by owner and due date: overdue (due_date < now), due today, upcoming, and undated (NULL, which
-- sorts first). With this index each group and each count is one range of it, so a person's page
-- costs what their own open tasks cost, whatever else the store holds. It also holds `completed`
-- and `deleted_at` (always 0 and NULL in it) because SQLite does not count its own WHERE as
-- covered: without them every count would read each task's row.
CREATE INDEX IF NOT EXISTS tasks_owner_open ON tasks (owner_id, due_date, id, completed, deleted_at) WHERE deleted_at IS NULL AND completed = 0;
