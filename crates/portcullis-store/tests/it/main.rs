//! The store's one integration-test binary. Every test runs on SQLite (a fresh temporary
//! file each) and, when `PORTCULLIS_TEST_POSTGRES_URL` is set, on PostgreSQL (a fresh
//! schema each, dropped afterwards), through [`backend_tests!`].

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod support;

mod accounts;
mod audit;
mod batch;
mod bookmarks;
mod deliveries;
mod domains;
mod enterprise_saml;
mod groups;
mod operator;
mod pool;
mod scim;
mod snapshot;
mod sso;
mod upgrades;
mod users;
