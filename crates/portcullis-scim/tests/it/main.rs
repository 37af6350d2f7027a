//! Integration tests of the public API: one test binary, one module per feature.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic: that is how they fail.

mod discovery;
mod filter;
mod patch;
mod query;
mod resource;
mod robustness;
