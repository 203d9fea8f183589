//! Contacts and companies: one model for both kinds (API.md §4, §5, §10).
//!
//! The two kinds differ only in their field tables, names and messages, which [`RecordKind`]
//! answers; everything else is one code path:
//! - [`parse_new`] / [`parse_update`] check one record of a request (core fields by type, custom
//!   fields kept as sent) and report a problem as a per-record [`ItemError`](crate::domain::error::ItemError);
//! - [`apply_update`] applies an update to a stored record under `FIELD_POLICY`, listing the real
//!   changes for the history;
//! - [`match_keys`] / [`KeySet`] give the normalised keys the matcher compares;
//! - [`display_name`], [`search_text`], [`sync_back`] and [`to_wire`] derive what people and Enginy
//!   see.
//!
//! Each module documents the decisions it makes where the contract leaves room.

mod apply;
mod keys;
mod kind;
mod parse;
mod row;
mod view;

pub use apply::{apply_to, apply_update, is_empty, Applied, Change, Kept, StoredRecord};
pub use keys::{key_fields, match_keys, KeySet};
pub use kind::{
    FieldSpec, FieldType, RecordKind, EXTERNAL_ID, MAX_EXTERNAL_ID_CHARS, MAX_JSON_BYTES, MAX_JSON_DEPTH,
    MAX_LIST_ITEMS, MAX_LONG_TEXT_CHARS, MAX_NUMBER_CHARS, MAX_REFERENCE_CHARS, MAX_TEXT_CHARS,
};
pub use parse::{
    check_custom, each_data_field, parse_external_id, parse_new, LAST_ACTIVITY, DataField, parse_update, NewRecord, RecordUpdate, MAX_FIELD_NAME_CHARS, MAX_RECORD_BYTES,
    PROPERTIES,
};
pub use row::{LoadedRecord, RecordRow};
pub use view::{display_name, listing_fields, search_fold, search_text, sync_back, to_wire};
