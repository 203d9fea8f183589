//! edge-crm: the CRM that Enginy's "Custom CRM" integration talks to.
//!
//! * [`domain`] is the pure core: types, validation, normalisation, matching, configuration.
//!   It has no platform dependency and is unit-tested natively with `cargo test`.
//! * [`store`] owns every SQL statement (the constants are pure; the D1 glue is wasm-only).
//! * `http` is the Worker's request pipeline and route handlers (wasm-only).

pub mod domain;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod http;
