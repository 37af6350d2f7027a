//! The Portcullis use cases: one function per action, called by every entry point that
//! offers it — the admin API, the dashboard, SCIM, the SSO legs, invitations and the
//! operator commands — so a rule written here holds on every path.
//!
//! Use cases are synchronous functions over the store ([`portcullis_store::Store`]) that
//! take the current time, the caller ([`Caller`], or what a SCIM or SSO call presents)
//! and validated input, ask the domain, and return a result or an [`AppError`]. The few
//! that must reach the network first (IdP metadata, OpenID discovery, DNS) are `async` and do
//! their store work through the server's [`Exec`]. This crate never depends on actix-web,
//! HTTP types or HTML (`cargo xtask check-deps` fails otherwise): statuses and rendering
//! are the server's.

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod audit_text;
pub mod auth;
pub mod bots;
pub mod caller;
pub mod domains;
pub mod error;
pub mod exec;
pub mod housekeeping;
pub mod idps;
pub mod ids;
pub mod invitations;
pub mod login;
pub mod members;
pub mod operator;
pub mod password;
pub mod providers;
pub mod provisioning;
pub mod rate_limit;
pub mod role_rules;
pub mod scim;
pub mod sessions;
pub mod setup_links;
pub mod sign_in_attempts;
pub mod sso;
pub mod webhooks;

pub use caller::{Caller, Via};
pub use error::AppError;
pub use exec::Exec;
