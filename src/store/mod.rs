//! Storage: every SQL statement of the project lives below this module. The statements are pure
//! constants (`sql`); the code that runs them against D1 (`d1`) only exists in the Worker.

pub mod args;
pub mod sql;
pub mod sql_work;
pub mod sql_pages;
pub mod sql_work_page;
pub mod sql_merge;
pub mod sql_import;

#[cfg(target_arch = "wasm32")]
pub mod d1;
#[cfg(target_arch = "wasm32")]
pub mod d1_work;
#[cfg(target_arch = "wasm32")]
pub mod d1_merge;
#[cfg(target_arch = "wasm32")]
pub mod d1_import;
#[cfg(target_arch = "wasm32")]
pub mod d1_pages;
#[cfg(target_arch = "wasm32")]
pub mod d1_work_page;
#[cfg(target_arch = "wasm32")]
pub mod kv;
#[cfg(target_arch = "wasm32")]
pub mod isolate;
