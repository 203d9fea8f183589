//! The pure core. Nothing in here may depend on the Workers runtime.

pub mod association;
pub mod auth;
pub mod backoff;
pub mod base64;
pub mod cache;
pub mod chunk;
pub mod config;
pub mod error;
pub mod feed;
pub mod hash;
pub mod idempotency;
pub mod ids;
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
pub mod sync;
pub mod time;
pub mod unmerge;
pub mod work;
