-- History keeps what was sent. A value stored otherwise than it came (a domain sent as a page URL
-- and stored as its bare host, a number sent as text, a list sent as one comma-separated string)
-- keeps the value as sent beside the change: on a field's row, the field's value as sent; on a
-- record's `(created)` row, an object of the fields that were stored otherwise. NULL when the
-- stored value is what was sent.
ALTER TABLE history ADD COLUMN sent_value TEXT;
