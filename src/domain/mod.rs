//! The pure core. Nothing in here may depend on the Workers runtime.

pub mod access;
pub mod association;
pub mod auth;
pub mod backoff;
pub mod base64;
pub mod cache;
pub mod cache_mode;
pub mod chunk;
pub mod config;
pub mod cost;
pub mod error;
pub mod export;
pub mod feed;
pub mod hash;
pub mod idempotency;
pub mod import;
pub mod ids;
pub mod list;
pub mod log;
pub mod matching;
pub mod merge;
pub mod normalize;
pub mod pages;
pub mod plan;
pub mod record;
pub mod refs;
pub mod request;
pub mod routes;
pub mod search;
pub mod sync;
pub mod time;
pub mod unmerge;
pub mod work;

#[cfg(test)]
mod fidelity_tests;
