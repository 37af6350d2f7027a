//! Who is calling SCIM: the API key decides the account (through the shared
//! [`crate::api_auth::authenticate`]), the domain decides whether the account answers SCIM,
//! and the per-key rate limit applies.

use std::time::Instant;

use actix_web::{web, HttpRequest};
use chrono::{DateTime, Utc};
use portcullis_domain::policy;
use portcullis_domain::{AccountId, Actor, ApiKeyId};

use super::error::ScimResult;
use super::rate_limit::RateLimiter;
use crate::api_auth;
use crate::error::AppError;
use crate::state::AppState;

/// What every SCIM operation needs to know about the call: the account it acts in, the key
/// (for the audit log), the caller's address, the base URL for `meta.location`, and now.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The key's account; every read and write is scoped to it.
    pub account: AccountId,
    /// The key that called.
    pub key: ApiKeyId,
    /// The caller's address.
    pub ip: String,
    /// `{public_url}/scim/v2`.
    pub base: String,
    /// The time of the request.
    pub now: DateTime<Utc>,
}

impl Ctx {
    /// The audit actor.
    pub fn actor(&self) -> Actor {
        Actor::ApiKey(self.key)
    }
}

/// Authenticates a SCIM call: 401 for missing, unknown, revoked and unusable keys, 403
/// outside the IP restrictions or when the account does not provision over SCIM, 429 over
/// the key's rate.
pub async fn scim_caller(
    state: &web::Data<AppState>,
    limiter: &web::Data<RateLimiter>,
    req: &HttpRequest,
) -> ScimResult<Ctx> {
    let caller = api_auth::authenticate(state, req).await?;
    policy::may_serve_scim(&caller.account).map_err(|r| AppError::Forbidden(r.to_string()))?;
    limiter
        .check(caller.key.id, state.config.scim_rate_limit, Instant::now())
        .map_err(AppError::TooManyRequests)?;
    Ok(Ctx {
        account: caller.account.id,
        key: caller.key.id,
        ip: caller.ip.to_string(),
        base: format!("{}{}", state.config.public_url, super::BASE_PATH),
        now: Utc::now(),
    })
}
