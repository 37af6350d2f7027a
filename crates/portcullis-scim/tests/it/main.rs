//! Integration tests of the public API: one test binary, one module per feature.

mod filter;
