-- Idempotency-Key (POST and PATCH): the first answer to a key is kept for 24 hours, so a retry
-- with the same key and body gets it again and writes nothing. A row without a status is a
-- request still running under that key.
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY,
  route TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  status INTEGER,
  response TEXT,
  created_at TEXT NOT NULL
);
