//! Every SQL statement the Worker runs, as constants. A native test applies `schema.sql` to SQLite
//! and prepares each one, so a typo fails in seconds rather than in the end-to-end suite.

/// The health check: reaches the database and proves the schema has been applied.
pub const HEALTH_CHECK: &str = "SELECT value FROM meta WHERE key = 'schema_version'";

/// Every statement, for the preparation test.
pub const ALL: &[(&str, &str)] = &[("HEALTH_CHECK", HEALTH_CHECK)];
