-- Possible duplicates (`GET /{kind}/duplicates`, the pages' lists) start from the match keys that
-- more than one live record holds. This table keeps exactly those keys, by triggers on
-- `match_keys`, so listing them reads the few shared keys instead of every key of a kind: on
-- 100,000 records with no duplicate, grouping every key cost the dashboard about 25 ms per kind.
-- A key insert checks for another holder (one index probe); a key delete drops the row once at
-- most one holder is left.
CREATE TABLE IF NOT EXISTS shared_keys (
  kind  TEXT NOT NULL,
  field TEXT NOT NULL,
  key   TEXT NOT NULL,
  PRIMARY KEY (kind, field, key)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS shared_keys_insert AFTER INSERT ON match_keys
WHEN EXISTS (SELECT 1 FROM match_keys m WHERE m.kind = NEW.kind AND m.field = NEW.field AND m.key = NEW.key AND m.record_id <> NEW.record_id)
BEGIN INSERT OR IGNORE INTO shared_keys (kind, field, key) VALUES (NEW.kind, NEW.field, NEW.key); END;
CREATE TRIGGER IF NOT EXISTS shared_keys_delete AFTER DELETE ON match_keys
WHEN (SELECT count(*) FROM (SELECT 1 FROM match_keys m WHERE m.kind = OLD.kind AND m.field = OLD.field AND m.key = OLD.key LIMIT 2)) < 2
BEGIN DELETE FROM shared_keys WHERE kind = OLD.kind AND field = OLD.field AND key = OLD.key; END;
-- The keys already shared when this migration runs (one pass over the keys, once).
INSERT OR IGNORE INTO shared_keys (kind, field, key)
  SELECT kind, field, key FROM match_keys GROUP BY kind, field, key HAVING count(*) > 1;
