//! Route modules; each exposes `config(cfg)` and `lib.rs` wires them.

pub mod auth;
pub mod email_first;
pub mod health;
pub mod home;
pub mod me;
