-- Search (issue 21, API.md §4 and §9): one index of search terms for contacts, companies and
-- tasks, an ordinary table on a B-tree (not FTS5: `wrangler d1 export` refuses a database that
-- holds a virtual table, and export is the team's backup). A record's terms are computed by the
-- core (`domain::search`) into its own `search_text` column, space-separated; the triggers below
-- keep `search_terms` equal to the terms of every live record, whichever statement writes it.
-- The lists' orders get their indexes: name (without the search text the dashboard's window
-- search read), creation, last activity.
ALTER TABLE tasks ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS search_terms (
  kind      TEXT NOT NULL,                -- contact, company, task
  term      TEXT NOT NULL,
  record_id TEXT NOT NULL,
  PRIMARY KEY (kind, term, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS contacts_name ON contacts (deleted_at, display_name, id);
CREATE INDEX IF NOT EXISTS companies_name ON companies (deleted_at, display_name, id);
DROP INDEX IF EXISTS contacts_search;
DROP INDEX IF EXISTS companies_search;
CREATE INDEX IF NOT EXISTS contacts_created ON contacts (created_at, id);
CREATE INDEX IF NOT EXISTS companies_created ON companies (created_at, id);
CREATE INDEX IF NOT EXISTS contacts_activity ON contacts (last_activity_at, id);
CREATE INDEX IF NOT EXISTS companies_activity ON companies (last_activity_at, id);

-- The terms of the records stored before: the words of their former search text (names,
-- e-mail, domains, already folded), and what SQL can derive of the rest: an e-mail's local part
-- and domain, phone digits (with the country code and without), the title's and a task
-- subject's words (lower case; accents are folded when the record is next written), a LinkedIn
-- slug. The next write of a record replaces them with the core's.
UPDATE contacts SET search_text = (SELECT trim(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(contacts.search_text, ',', ' '), ';', ' '), ':', ' '), '(', ' '), ')', ' '), '!', ' '), '?', ' '), '/', ' '), '"', ' '), '\', ' ') || ' ' || coalesce(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(lower(contacts.fields->>'title'), ',', ' '), ';', ' '), ':', ' '), '(', ' '), ')', ' '), '!', ' '), '?', ' '), '/', ' '), '"', ' '), '\', ' '), '') || ' ' || CASE WHEN instr(x.e, '@') > 1 THEN replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(substr(x.e, 1, instr(x.e, '@') - 1), ',', ' '), ';', ' '), ':', ' '), '(', ' '), ')', ' '), '!', ' '), '?', ' '), '/', ' '), '"', ' '), '\', ' ') || ' ' || replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(substr(x.e, instr(x.e, '@') + 1), ',', ' '), ';', ' '), ':', ' '), '(', ' '), ')', ' '), '!', ' '), '?', ' '), '/', ' '), '"', ' '), '\', ' ') ELSE '' END || ' ' || CASE WHEN x.d <> '' AND x.d NOT GLOB '*[^0-9]*' THEN x.d || CASE WHEN x.p LIKE '+%' THEN ' ' || substr(x.d, CASE WHEN substr(x.d, 1, 1) IN ('1', '7') THEN 1 WHEN substr(x.d, 1, 2) IN ('20', '27', '30', '31', '32', '33', '34', '36', '39', '40', '41', '43', '44', '45', '46', '47', '48', '49', '51', '52', '53', '54', '55', '56', '57', '58', '60', '61', '62', '63', '64', '65', '66', '81', '82', '84', '86', '90', '91', '92', '93', '94', '95', '98') THEN 2 ELSE 3 END + 1) ELSE '' END ELSE '' END
    || ' ' || replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(substr(y.rest, 1, min(instr(y.rest || '/', '/'), instr(y.rest || '?', '?'), instr(y.rest || '#', '#')) - 1), ',', ' '), ';', ' '), ':', ' '), '(', ' '), ')', ' '), '!', ' '), '?', ' '), '/', ' '), '"', ' '), '\', ' ') || ' ' || replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(substr(y.rest, 1, min(instr(y.rest || '/', '/'), instr(y.rest || '?', '?'), instr(y.rest || '#', '#')) - 1), ',', ' '), ';', ' '), ':', ' '), '(', ' '), ')', ' '), '!', ' '), '?', ' '), '/', ' '), '"', ' '), '\', ' '), '-', ' ')) FROM
  (SELECT lower(trim(contacts.fields->>'email')) AS e, ltrim(contacts.fields->>'phone') AS p, replace(replace(replace(replace(replace(replace(replace(coalesce(trim(contacts.fields->>'phone'), ''), ' ', ''), '-', ''), '.', ''), '(', ''), ')', ''), '/', ''), '+', '') AS d, lower(coalesce(contacts.fields->>'linkedinUrl', '')) AS u) x,
  (SELECT CASE WHEN instr(x.u, 'linkedin.com/in/') > 0 THEN substr(x.u, instr(x.u, 'linkedin.com/in/') + 16) WHEN instr(x.u, 'linkedin.com/company/') > 0 THEN substr(x.u, instr(x.u, 'linkedin.com/company/') + 21) ELSE '' END AS rest FROM (SELECT lower(coalesce(contacts.fields->>'linkedinUrl', '')) AS u) x) y);
UPDATE companies SET search_text = (SELECT trim(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(companies.search_text, ',', ' '), ';', ' '), ':', ' '), '(', ' '), ')', ' '), '!', ' '), '?', ' '), '/', ' '), '"', ' '), '\', ' ') || ' ' || '' || ' ' || '' || ' ' || CASE WHEN x.d <> '' AND x.d NOT GLOB '*[^0-9]*' THEN x.d || CASE WHEN x.p LIKE '+%' THEN ' ' || substr(x.d, CASE WHEN substr(x.d, 1, 1) IN ('1', '7') THEN 1 WHEN substr(x.d, 1, 2) IN ('20', '27', '30', '31', '32', '33', '34', '36', '39', '40', '41', '43', '44', '45', '46', '47', '48', '49', '51', '52', '53', '54', '55', '56', '57', '58', '60', '61', '62', '63', '64', '65', '66', '81', '82', '84', '86', '90', '91', '92', '93', '94', '95', '98') THEN 2 ELSE 3 END + 1) ELSE '' END ELSE '' END
    || ' ' || replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(substr(y.rest, 1, min(instr(y.rest || '/', '/'), instr(y.rest || '?', '?'), instr(y.rest || '#', '#')) - 1), ',', ' '), ';', ' '), ':', ' '), '(', ' '), ')', ' '), '!', ' '), '?', ' '), '/', ' '), '"', ' '), '\', ' ') || ' ' || replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(substr(y.rest, 1, min(instr(y.rest || '/', '/'), instr(y.rest || '?', '?'), instr(y.rest || '#', '#')) - 1), ',', ' '), ';', ' '), ':', ' '), '(', ' '), ')', ' '), '!', ' '), '?', ' '), '/', ' '), '"', ' '), '\', ' '), '-', ' ')) FROM
  (SELECT lower(trim(companies.fields->>'email')) AS e, ltrim(companies.fields->>'phone') AS p, replace(replace(replace(replace(replace(replace(replace(coalesce(trim(companies.fields->>'phone'), ''), ' ', ''), '-', ''), '.', ''), '(', ''), ')', ''), '/', ''), '+', '') AS d, lower(coalesce(companies.fields->>'linkedinUrl', '')) AS u) x,
  (SELECT CASE WHEN instr(x.u, 'linkedin.com/in/') > 0 THEN substr(x.u, instr(x.u, 'linkedin.com/in/') + 16) WHEN instr(x.u, 'linkedin.com/company/') > 0 THEN substr(x.u, instr(x.u, 'linkedin.com/company/') + 21) ELSE '' END AS rest FROM (SELECT lower(coalesce(companies.fields->>'linkedinUrl', '')) AS u) x) y);
UPDATE tasks SET search_text = trim(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(lower(subject), ',', ' '), ';', ' '), ':', ' '), '(', ' '), ')', ' '), '!', ' '), '?', ' '), '/', ' '), '"', ' '), '\', ' '));

CREATE TRIGGER IF NOT EXISTS search_contacts_insert AFTER INSERT ON contacts WHEN NEW.deleted_at IS NULL AND NEW.search_text <> ''
BEGIN INSERT OR IGNORE INTO search_terms (kind, term, record_id) SELECT 'contact', value, NEW.id FROM json_each(iif(json_valid('["' || replace(NEW.search_text, ' ', '","') || '"]'), '["' || replace(NEW.search_text, ' ', '","') || '"]', '[]')) WHERE value <> ''; END;
CREATE TRIGGER IF NOT EXISTS search_contacts_update AFTER UPDATE OF search_text, deleted_at ON contacts
WHEN OLD.search_text IS NOT NEW.search_text OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
BEGIN
DELETE FROM search_terms WHERE kind = 'contact' AND record_id = OLD.id AND OLD.deleted_at IS NULL AND term IN (SELECT value FROM json_each(iif(json_valid('["' || replace(OLD.search_text, ' ', '","') || '"]'), '["' || replace(OLD.search_text, ' ', '","') || '"]', '[]')))
  AND (NEW.deleted_at IS NOT NULL OR term NOT IN (SELECT value FROM json_each(iif(json_valid('["' || replace(NEW.search_text, ' ', '","') || '"]'), '["' || replace(NEW.search_text, ' ', '","') || '"]', '[]'))));
INSERT OR IGNORE INTO search_terms (kind, term, record_id) SELECT 'contact', value, NEW.id FROM json_each(iif(json_valid('["' || replace(NEW.search_text, ' ', '","') || '"]'), '["' || replace(NEW.search_text, ' ', '","') || '"]', '[]')) WHERE NEW.deleted_at IS NULL AND value <> '';
END;
CREATE TRIGGER IF NOT EXISTS search_contacts_delete AFTER DELETE ON contacts WHEN OLD.deleted_at IS NULL
BEGIN DELETE FROM search_terms WHERE kind = 'contact' AND record_id = OLD.id AND term IN (SELECT value FROM json_each(iif(json_valid('["' || replace(OLD.search_text, ' ', '","') || '"]'), '["' || replace(OLD.search_text, ' ', '","') || '"]', '[]'))); END;
CREATE TRIGGER IF NOT EXISTS search_companies_insert AFTER INSERT ON companies WHEN NEW.deleted_at IS NULL AND NEW.search_text <> ''
BEGIN INSERT OR IGNORE INTO search_terms (kind, term, record_id) SELECT 'company', value, NEW.id FROM json_each(iif(json_valid('["' || replace(NEW.search_text, ' ', '","') || '"]'), '["' || replace(NEW.search_text, ' ', '","') || '"]', '[]')) WHERE value <> ''; END;
CREATE TRIGGER IF NOT EXISTS search_companies_update AFTER UPDATE OF search_text, deleted_at ON companies
WHEN OLD.search_text IS NOT NEW.search_text OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
BEGIN
DELETE FROM search_terms WHERE kind = 'company' AND record_id = OLD.id AND OLD.deleted_at IS NULL AND term IN (SELECT value FROM json_each(iif(json_valid('["' || replace(OLD.search_text, ' ', '","') || '"]'), '["' || replace(OLD.search_text, ' ', '","') || '"]', '[]')))
  AND (NEW.deleted_at IS NOT NULL OR term NOT IN (SELECT value FROM json_each(iif(json_valid('["' || replace(NEW.search_text, ' ', '","') || '"]'), '["' || replace(NEW.search_text, ' ', '","') || '"]', '[]'))));
INSERT OR IGNORE INTO search_terms (kind, term, record_id) SELECT 'company', value, NEW.id FROM json_each(iif(json_valid('["' || replace(NEW.search_text, ' ', '","') || '"]'), '["' || replace(NEW.search_text, ' ', '","') || '"]', '[]')) WHERE NEW.deleted_at IS NULL AND value <> '';
END;
CREATE TRIGGER IF NOT EXISTS search_companies_delete AFTER DELETE ON companies WHEN OLD.deleted_at IS NULL
BEGIN DELETE FROM search_terms WHERE kind = 'company' AND record_id = OLD.id AND term IN (SELECT value FROM json_each(iif(json_valid('["' || replace(OLD.search_text, ' ', '","') || '"]'), '["' || replace(OLD.search_text, ' ', '","') || '"]', '[]'))); END;
CREATE TRIGGER IF NOT EXISTS search_tasks_insert AFTER INSERT ON tasks WHEN NEW.deleted_at IS NULL AND NEW.search_text <> ''
BEGIN INSERT OR IGNORE INTO search_terms (kind, term, record_id) SELECT 'task', value, NEW.id FROM json_each(iif(json_valid('["' || replace(NEW.search_text, ' ', '","') || '"]'), '["' || replace(NEW.search_text, ' ', '","') || '"]', '[]')) WHERE value <> ''; END;
CREATE TRIGGER IF NOT EXISTS search_tasks_update AFTER UPDATE OF search_text, deleted_at ON tasks
WHEN OLD.search_text IS NOT NEW.search_text OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
BEGIN
DELETE FROM search_terms WHERE kind = 'task' AND record_id = OLD.id AND OLD.deleted_at IS NULL AND term IN (SELECT value FROM json_each(iif(json_valid('["' || replace(OLD.search_text, ' ', '","') || '"]'), '["' || replace(OLD.search_text, ' ', '","') || '"]', '[]')))
  AND (NEW.deleted_at IS NOT NULL OR term NOT IN (SELECT value FROM json_each(iif(json_valid('["' || replace(NEW.search_text, ' ', '","') || '"]'), '["' || replace(NEW.search_text, ' ', '","') || '"]', '[]'))));
INSERT OR IGNORE INTO search_terms (kind, term, record_id) SELECT 'task', value, NEW.id FROM json_each(iif(json_valid('["' || replace(NEW.search_text, ' ', '","') || '"]'), '["' || replace(NEW.search_text, ' ', '","') || '"]', '[]')) WHERE NEW.deleted_at IS NULL AND value <> '';
END;
CREATE TRIGGER IF NOT EXISTS search_tasks_delete AFTER DELETE ON tasks WHEN OLD.deleted_at IS NULL
BEGIN DELETE FROM search_terms WHERE kind = 'task' AND record_id = OLD.id AND term IN (SELECT value FROM json_each(iif(json_valid('["' || replace(OLD.search_text, ' ', '","') || '"]'), '["' || replace(OLD.search_text, ' ', '","') || '"]', '[]'))); END;

INSERT OR IGNORE INTO search_terms (kind, term, record_id)
  SELECT 'contact', j.value, r.id FROM contacts r, json_each(iif(json_valid('["' || replace(r.search_text, ' ', '","') || '"]'), '["' || replace(r.search_text, ' ', '","') || '"]', '[]')) j WHERE r.deleted_at IS NULL AND j.value <> '';
INSERT OR IGNORE INTO search_terms (kind, term, record_id)
  SELECT 'company', j.value, r.id FROM companies r, json_each(iif(json_valid('["' || replace(r.search_text, ' ', '","') || '"]'), '["' || replace(r.search_text, ' ', '","') || '"]', '[]')) j WHERE r.deleted_at IS NULL AND j.value <> '';
INSERT OR IGNORE INTO search_terms (kind, term, record_id)
  SELECT 'task', j.value, r.id FROM tasks r, json_each(iif(json_valid('["' || replace(r.search_text, ' ', '","') || '"]'), '["' || replace(r.search_text, ' ', '","') || '"]', '[]')) j WHERE r.deleted_at IS NULL AND j.value <> '';
