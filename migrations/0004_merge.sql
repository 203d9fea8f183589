-- Merging duplicates (issue 14): a merged record is a tombstone that names the record it was
-- merged into, so a crmId Enginy holds keeps answering (on the survivor) and the change feed can
-- tell a client to repoint it. Chains are kept one step long: a merge repoints the records
-- already merged into the ones it merges.
ALTER TABLE contacts ADD COLUMN merged_into TEXT;
ALTER TABLE companies ADD COLUMN merged_into TEXT;
CREATE INDEX IF NOT EXISTS contacts_merged  ON contacts (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX IF NOT EXISTS companies_merged ON companies (merged_into) WHERE merged_into IS NOT NULL;
