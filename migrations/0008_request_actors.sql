-- Who did each write (API.md §10): history names the person behind a change made on a page. A
-- write through the API key is `api` and writes nothing here; a page write adds one row for its
-- request, in the same transaction as its changes, and history reads the actor by request id. So
-- the 24 statements that write history stay as they are, and an API write costs no extra row.
CREATE TABLE IF NOT EXISTS request_actors (
  request_id TEXT PRIMARY KEY,
  actor      TEXT NOT NULL             -- the person's email, or `dashboard` (the shared password)
) WITHOUT ROWID;
