-- Undoing a merge: each merge is recorded with the range of history rows it wrote, so
-- `POST /{kind}/merge/{id}/undo` can put back what it changed and moved (from those rows) and
-- tell whether a later write touched the same things (from the history rows after them). The
-- range is taken inside the merge's own transaction: history ids grow, and D1 runs one write at a
-- time, so no other request's row falls inside it.
CREATE TABLE IF NOT EXISTS merges (
  id              TEXT PRIMARY KEY,          -- mg_…, answered as mergeId
  kind            TEXT NOT NULL CHECK (kind IN ('contact', 'company')),
  survivor_id     TEXT NOT NULL,
  merged_ids      TEXT NOT NULL CHECK (json_valid(merged_ids)),
  request_id      TEXT NOT NULL,             -- the merge's X-Request-Id (not unique: clients choose it)
  merged_at       TEXT NOT NULL,
  first_history   INTEGER NOT NULL,          -- the first history id the merge wrote
  last_history    INTEGER,                   -- the last one (set at the end of its transaction)
  undone_at       TEXT,
  undo_request_id TEXT
);
