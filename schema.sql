-- edge-crm database schema (D1 / SQLite).
--
-- The whole current schema, for reading and for tests. Stores are created and upgraded by the
-- migrations in migrations/ (`npx wrangler d1 migrations apply DB --local|--remote`), which
-- tests/migrations.rs checks give exactly this schema. A schema change is a new migration plus
-- the same change here.
--
-- Conventions: ids are the prefixed CRM ids (ct_, co_, tk_, ac_, us_); timestamps are RFC 3339
-- UTC strings with milliseconds, so text order is time order; JSON columns hold objects as sent.
-- Records are soft-deleted (deleted_at) so the change feed can report tombstones.

CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');

-- A batch that finds a concurrent write between its read and its write inserts a 0 here: the
-- CHECK fails, the whole batch rolls back, and the request is retried on fresh data. No row is
-- ever stored.
CREATE TABLE IF NOT EXISTS write_guard (
  ok INTEGER NOT NULL CONSTRAINT concurrent_write CHECK (ok = 1)
);

-- Contacts and companies share one shape: core fields in `fields`, everything else in
-- `properties`. `updated_at` only grows (a write takes a time later than every stored one), so the
-- change feed ordered by (updated_at, id) never skips a record written between two pages.
CREATE TABLE IF NOT EXISTS contacts (
  id               TEXT PRIMARY KEY,
  external_id      TEXT,                    -- first linked externalId; every link is in external_ids
  fields           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(fields)),
  properties       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(properties)),
  owner_id         TEXT,
  display_name     TEXT NOT NULL DEFAULT '', -- "First Last", for lists
  search_text      TEXT NOT NULL DEFAULT '', -- folded name, email and domain, for dashboard search
  last_activity_at TEXT,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  deleted_at       TEXT,
  merged_into      TEXT                     -- set on a record merged into another (a tombstone)
);
CREATE INDEX IF NOT EXISTS contacts_feed  ON contacts (updated_at, id);
CREATE INDEX IF NOT EXISTS contacts_owner ON contacts (owner_id) WHERE owner_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS contacts_merged ON contacts (merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE IF NOT EXISTS companies (
  id               TEXT PRIMARY KEY,
  external_id      TEXT,
  fields           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(fields)),
  properties       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(properties)),
  owner_id         TEXT,
  parent_id        TEXT,                    -- parentCrmId
  display_name     TEXT NOT NULL DEFAULT '', -- company name, for lists
  search_text      TEXT NOT NULL DEFAULT '',
  last_activity_at TEXT,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  deleted_at       TEXT,
  merged_into      TEXT                     -- set on a record merged into another (a tombstone)
);
CREATE INDEX IF NOT EXISTS companies_feed   ON companies (updated_at, id);
CREATE INDEX IF NOT EXISTS companies_owner  ON companies (owner_id) WHERE owner_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS companies_parent ON companies (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS companies_merged ON companies (merged_into) WHERE merged_into IS NOT NULL;

-- externalId -> record. The primary key makes an externalId name at most one record per kind:
-- the database, not a prior read, decides idempotent creates.
CREATE TABLE IF NOT EXISTS external_ids (
  kind        TEXT NOT NULL CHECK (kind IN ('contact', 'company')),
  external_id TEXT NOT NULL,
  record_id   TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  PRIMARY KEY (kind, external_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS external_ids_record ON external_ids (record_id);

-- Normalised match keys (API.md §5), computed at write time: one row per record, field and key.
-- Deleted records keep none, so they never match.
CREATE TABLE IF NOT EXISTS match_keys (
  kind      TEXT NOT NULL CHECK (kind IN ('contact', 'company')),
  field     TEXT NOT NULL,                  -- domain, domainAnyTld, name, linkedinUrl, email, ...
  key       TEXT NOT NULL,
  record_id TEXT NOT NULL,
  PRIMARY KEY (kind, field, key, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS match_keys_record ON match_keys (record_id);

-- The match keys more than one live record holds (possible duplicates start from these), kept by
-- triggers on match_keys: listing duplicates reads these few rows, not every key of a kind.
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

-- Contact <-> company links; at most one primary company per contact.
CREATE TABLE IF NOT EXISTS associations (
  contact_id TEXT NOT NULL,
  company_id TEXT NOT NULL,
  is_primary INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (contact_id, company_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS associations_company ON associations (company_id, contact_id);
CREATE UNIQUE INDEX IF NOT EXISTS associations_one_primary ON associations (contact_id) WHERE is_primary = 1;

CREATE TABLE IF NOT EXISTS users (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL DEFAULT '',
  email      TEXT NOT NULL,                 -- as sent
  email_key  TEXT NOT NULL UNIQUE,          -- normalised: the upsert key
  properties TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(properties)),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS tasks (
  id           TEXT PRIMARY KEY,
  subject      TEXT NOT NULL,
  description  TEXT,
  type         TEXT,
  priority     TEXT,
  status       TEXT,
  owner_id     TEXT,
  due_date     TEXT,
  contact_id   TEXT,
  company_id   TEXT,
  completed    INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
  completed_at TEXT,
  properties   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(properties)),
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  deleted_at   TEXT,
  -- The client's own id of the task (its externalId): a retried create makes no copy. A deleted
  -- task releases it.
  external_id  TEXT,
  -- A task created without any key: its ten-minute bucket and content fingerprint
  -- (`bucket:fingerprint`, domain/work/content.rs), so a retry makes no copy. A deleted task
  -- releases it.
  content_key  TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS tasks_external ON tasks (external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS tasks_content ON tasks (content_key) WHERE content_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_contact ON tasks (contact_id, created_at) WHERE contact_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_company ON tasks (company_id, created_at) WHERE company_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_list    ON tasks (deleted_at, completed, due_date, id);
CREATE INDEX IF NOT EXISTS tasks_owner   ON tasks (owner_id) WHERE owner_id IS NOT NULL;
-- A person's open tasks ("My work" and the counts in every page's header), by due date: each
-- group (overdue, today, upcoming, undated) and each count is one range of this index. It also
-- holds `completed` and `deleted_at` (always 0 and NULL in it) because SQLite does not count its
-- own WHERE as covered: without them every count would read each task's row.
CREATE INDEX IF NOT EXISTS tasks_owner_open ON tasks (owner_id, due_date, id, completed, deleted_at) WHERE deleted_at IS NULL AND completed = 0;

-- Activities are idempotent on (type, metadata.messageId): message_id is that value, copied out
-- so a unique index can hold it.
CREATE TABLE IF NOT EXISTS activities (
  id          TEXT PRIMARY KEY,
  type        TEXT NOT NULL,
  subject     TEXT,
  body        TEXT,
  direction   TEXT CHECK (direction IS NULL OR direction IN ('INBOUND', 'OUTBOUND')),
  owner_id    TEXT,
  occurred_at TEXT NOT NULL,
  contact_id  TEXT,
  company_id  TEXT,
  metadata    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
  message_id  TEXT,
  properties  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(properties)),
  created_at  TEXT NOT NULL,
  -- An activity logged without any key (no messageId, no externalId): as a task's content_key.
  content_key TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS activities_message ON activities (type, message_id) WHERE message_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS activities_content ON activities (content_key) WHERE content_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS activities_contact ON activities (contact_id, occurred_at, id) WHERE contact_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS activities_company ON activities (company_id, occurred_at, id) WHERE company_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS activities_recent  ON activities (occurred_at, id);
CREATE INDEX IF NOT EXISTS activities_owner   ON activities (owner_id) WHERE owner_id IS NOT NULL;

-- Every change of a stored value (API.md §10): old and new values as JSON text, written in the
-- same batch as the change itself.
CREATE TABLE IF NOT EXISTS history (
  id          INTEGER PRIMARY KEY,
  entity_type TEXT NOT NULL,                -- contact, company, task, activity, user, association
  entity_id   TEXT NOT NULL,
  field       TEXT NOT NULL,
  old_value   TEXT,
  new_value   TEXT,
  changed_at  TEXT NOT NULL,
  request_id  TEXT NOT NULL,
  sent_value  TEXT,                         -- the value as sent, when it was stored otherwise
  applied     INTEGER NOT NULL DEFAULT 1    -- 0: a value sent and not applied (kept out by CREATE_MERGE or FIELD_POLICY)
);
CREATE INDEX IF NOT EXISTS history_entity ON history (entity_id, id);

-- Who did a page's write (API.md §10): one row per request that wrote from a page, in the same
-- transaction as its changes; history reads it by request id, and a request with none is `api`.
CREATE TABLE IF NOT EXISTS request_actors (
  request_id TEXT PRIMARY KEY,
  actor      TEXT NOT NULL             -- the person's email, or `dashboard` (the shared password)
) WITHOUT ROWID;

-- Pages for people (API.md §9). The dashboard's counts are kept here by triggers, so it reads
-- five rows instead of counting 100,000 records on every view. A trigger fires whoever writes,
-- so the counts cannot drift from the tables. On a database created before this table, the
-- INSERT OR IGNORE below counts once (after the triggers exist, so no write is missed).
CREATE TABLE IF NOT EXISTS page_counts (
  name TEXT PRIMARY KEY,                  -- contacts, companies, tasks_open, tasks_done, activities
  n    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS page_counts_contacts_insert AFTER INSERT ON contacts WHEN NEW.deleted_at IS NULL
BEGIN UPDATE page_counts SET n = n + 1 WHERE name = 'contacts'; END;
CREATE TRIGGER IF NOT EXISTS page_counts_contacts_update AFTER UPDATE OF deleted_at ON contacts
BEGIN UPDATE page_counts SET n = n + (NEW.deleted_at IS NULL) - (OLD.deleted_at IS NULL) WHERE name = 'contacts'; END;
CREATE TRIGGER IF NOT EXISTS page_counts_contacts_delete AFTER DELETE ON contacts WHEN OLD.deleted_at IS NULL
BEGIN UPDATE page_counts SET n = n - 1 WHERE name = 'contacts'; END;
CREATE TRIGGER IF NOT EXISTS page_counts_companies_insert AFTER INSERT ON companies WHEN NEW.deleted_at IS NULL
BEGIN UPDATE page_counts SET n = n + 1 WHERE name = 'companies'; END;
CREATE TRIGGER IF NOT EXISTS page_counts_companies_update AFTER UPDATE OF deleted_at ON companies
BEGIN UPDATE page_counts SET n = n + (NEW.deleted_at IS NULL) - (OLD.deleted_at IS NULL) WHERE name = 'companies'; END;
CREATE TRIGGER IF NOT EXISTS page_counts_companies_delete AFTER DELETE ON companies WHEN OLD.deleted_at IS NULL
BEGIN UPDATE page_counts SET n = n - 1 WHERE name = 'companies'; END;
CREATE TRIGGER IF NOT EXISTS page_counts_tasks_insert AFTER INSERT ON tasks WHEN NEW.deleted_at IS NULL
BEGIN UPDATE page_counts SET n = n + 1 WHERE name = CASE NEW.completed WHEN 0 THEN 'tasks_open' ELSE 'tasks_done' END; END;
CREATE TRIGGER IF NOT EXISTS page_counts_tasks_update AFTER UPDATE OF completed, deleted_at ON tasks
BEGIN UPDATE page_counts SET n = n
  + CASE name WHEN 'tasks_open' THEN (NEW.deleted_at IS NULL AND NEW.completed = 0) - (OLD.deleted_at IS NULL AND OLD.completed = 0)
              ELSE (NEW.deleted_at IS NULL AND NEW.completed <> 0) - (OLD.deleted_at IS NULL AND OLD.completed <> 0) END
  WHERE name IN ('tasks_open', 'tasks_done'); END;
CREATE TRIGGER IF NOT EXISTS page_counts_tasks_delete AFTER DELETE ON tasks WHEN OLD.deleted_at IS NULL
BEGIN UPDATE page_counts SET n = n - 1 WHERE name = CASE OLD.completed WHEN 0 THEN 'tasks_open' ELSE 'tasks_done' END; END;
CREATE TRIGGER IF NOT EXISTS page_counts_activities_insert AFTER INSERT ON activities
BEGIN UPDATE page_counts SET n = n + 1 WHERE name = 'activities'; END;
CREATE TRIGGER IF NOT EXISTS page_counts_activities_delete AFTER DELETE ON activities
BEGIN UPDATE page_counts SET n = n - 1 WHERE name = 'activities'; END;
INSERT OR IGNORE INTO page_counts (name, n) SELECT 'contacts', count(*) FROM contacts WHERE deleted_at IS NULL;
INSERT OR IGNORE INTO page_counts (name, n) SELECT 'companies', count(*) FROM companies WHERE deleted_at IS NULL;
INSERT OR IGNORE INTO page_counts (name, n) SELECT 'tasks_open', count(*) FROM tasks WHERE deleted_at IS NULL AND completed = 0;
INSERT OR IGNORE INTO page_counts (name, n) SELECT 'tasks_done', count(*) FROM tasks WHERE deleted_at IS NULL AND completed <> 0;
INSERT OR IGNORE INTO page_counts (name, n) SELECT 'activities', count(*) FROM activities;

-- Dashboard search: the list order (display_name, id) with the folded search text beside it, so
-- a search walks one index in page order and never opens a row it does not show (measured on
-- 100,000 contacts: a search that matches nothing reads the whole index in about 20 ms; through
-- the list index and the table rows, 100 ms).
-- The lists in name order use them too; the former list indexes, their prefixes, are dropped
-- from stores created before (every write paid for them, no statement read them).
CREATE INDEX IF NOT EXISTS contacts_search  ON contacts (deleted_at, display_name, id, search_text);
CREATE INDEX IF NOT EXISTS companies_search ON companies (deleted_at, display_name, id, search_text);
DROP INDEX IF EXISTS contacts_list;
DROP INDEX IF EXISTS companies_list;

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
