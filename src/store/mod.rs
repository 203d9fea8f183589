//! Storage: every SQL statement of the project lives below this module.
