//! The admin JSON API under `/api/v1`: everything an account admin configures, scoped to
//! the caller's account (another account's ids answer 404). Callers authenticate with an
//! API key or a dashboard session ([`auth::Manager`]); session writes need the CSRF header.
//!
//! Each resource module holds its wire types (DTOs) and its handlers, which call the use
//! cases of `portcullis-app` (the same ones the dashboard calls) and render.

pub mod account;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod bots;
pub mod domains;
pub mod idps;
pub mod invitations;
pub mod ip_restrictions;
pub mod members;
pub mod openapi;
pub mod role_rules;
pub mod setup_links;
pub mod sign_in_attempts;
pub mod webhooks;

use actix_web::web;
use serde::Deserialize;
use utoipa::IntoParams;

/// Wires every admin API route.
pub fn config(cfg: &mut web::ServiceConfig) {
    account::config(cfg);
    members::config(cfg);
    bots::config(cfg);
    domains::config(cfg);
    role_rules::config(cfg);
    setup_links::config(cfg);
    webhooks::config(cfg);
    sign_in_attempts::config(cfg);
    idps::config(cfg);
    api_keys::config(cfg);
    ip_restrictions::config(cfg);
    audit::config(cfg);
    invitations::config(cfg);
    openapi::config(cfg);
}

/// Paging parameters shared by list endpoints.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Rows to skip (default 0).
    pub offset: Option<i64>,
    /// Most rows to return (default 50, at most 200).
    pub limit: Option<i64>,
}

impl Paging {
    /// The offset and limit, clamped to what the server allows.
    pub fn clamp(&self) -> (i64, i64) {
        (
            self.offset.unwrap_or(0).max(0),
            self.limit.unwrap_or(50).clamp(1, 200),
        )
    }
}
