//! The pure core. Nothing in here may depend on the Workers runtime.

pub mod normalize;
