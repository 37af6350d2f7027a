//! Who is calling SCIM: the API key decides the account (through the shared
//! [`crate::api_auth::authenticate`]), the domain decides whether the account answers SCIM,
//! and the per-key rate limit applies.

use std::net::IpAddr;
use std::time::Instant;

use actix_web::{web, HttpRequest};
use chrono::{DateTime, Utc};
use portcullis_domain::policy;
use portcullis_domain::{AccountId, Actor, ApiKeyId};
use portcullis_store::Store;

use super::error::ScimResult;
use super::rate_limit::RateLimiter;
use crate::api_auth::{self, ApiCaller, Credentials};
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
    pub ip: IpAddr,
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
    Ok(admit(state, limiter, &caller)?)
}

/// What SCIM asks of an authenticated caller beyond its key: an account that provisions
/// over SCIM (else 403) and a key within its rate (else 429).
fn admit(state: &AppState, limiter: &RateLimiter, caller: &ApiCaller) -> Result<Ctx, AppError> {
    let ctx = admission(state, caller)?;
    within_rate(state, limiter, caller)?;
    Ok(ctx)
}

/// The account's part of [`admit`]: 403 unless it provisions over SCIM.
fn admission(state: &AppState, caller: &ApiCaller) -> Result<Ctx, AppError> {
    policy::may_serve_scim(&caller.account).map_err(|r| AppError::Forbidden(r.to_string()))?;
    Ok(Ctx {
        account: caller.account.id,
        key: caller.key.id,
        ip: caller.ip,
        base: [state.config.public_url.as_str(), super::BASE_PATH].concat(),
        now: Utc::now(),
    })
}

/// The key's part of [`admit`]: 429 over its rate. Counts the call.
fn within_rate(
    state: &AppState,
    limiter: &RateLimiter,
    caller: &ApiCaller,
) -> Result<(), AppError> {
    limiter
        .check(caller.key.id, state.config.scim_rate_limit, Instant::now())
        .map_err(AppError::TooManyRequests)
}

/// A SCIM call that only reads and sends no body: its key is checked in the same read
/// transaction as the reads it makes, so the check and the reads cost one visit to the
/// database (on SQLite one wal-index lock, on PostgreSQL one trip to the blocking pool).
///
/// Extracting it only takes the key and address from the request (401 without a key);
/// the store is first touched by [`ReadCtx::read`], which authenticates, applies the
/// same refusals as [`Ctx`] and only then runs the handler's reads.
pub struct ReadCtx {
    state: web::Data<AppState>,
    limiter: web::Data<RateLimiter>,
    credentials: Credentials,
}

impl ReadCtx {
    /// Takes the credentials of a request (401 without a key, 403 without an address).
    pub fn of(
        state: web::Data<AppState>,
        limiter: web::Data<RateLimiter>,
        req: &HttpRequest,
    ) -> ScimResult<Self> {
        let credentials = Credentials::of(&state, req)?;
        Ok(Self {
            state,
            limiter,
            credentials,
        })
    }

    /// Authenticates the caller and runs `f` — short reads, as for [`AppState::read`] —
    /// in the same snapshot; `f` runs only for an admitted caller. Records the key's use
    /// afterwards, as [`scim_caller`] does.
    pub async fn read<T, F>(self, f: F) -> ScimResult<T>
    where
        F: FnOnce(&Store, &Ctx) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(true, f).await
    }

    /// [`ReadCtx::read`] for a read that may rely on a key kept in memory: when the key is
    /// in memory ([`Credentials::check_cached`]) and admitted on what was read, `current`
    /// runs with the caller's context and the account's authentication epoch of that
    /// read. It must check that epoch in its own first statement (as
    /// [`Store::scim_user_shown`] does) and answer `None` whenever that statement finds
    /// nothing to answer with, a moved epoch included. Then, and for every other key,
    /// `read` runs as [`ReadCtx::read`] runs it, after the full check. Either way the call
    /// is counted against the key's rate once, after the key is known good.
    ///
    /// So a read of a known key costs one statement where [`ReadCtx::read`] costs the
    /// epoch's own, the read's, and on SQLite a transaction around them.
    pub async fn read_current<T, C, F>(self, current: C, read: F) -> ScimResult<T>
    where
        C: FnOnce(&Store, &Ctx, i64) -> Result<Option<T>, AppError> + Send + 'static,
        F: FnOnce(&Store, &Ctx) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (state, limiter, credentials) = (
            self.state.clone(),
            self.limiter.clone(),
            self.credentials.clone(),
        );
        let fast = self
            .state
            .read_statement(move |store| -> Result<Option<(ApiCaller, T)>, AppError> {
                let Some((caller, epoch)) = credentials.check_cached(store) else {
                    return Ok(None);
                };
                let Ok(ctx) = admission(&state, &caller) else {
                    return Ok(None);
                };
                let Some(value) = current(store, &ctx, epoch)? else {
                    return Ok(None);
                };
                // Counted only once the key is known good, as after the full check.
                within_rate(&state, &limiter, &caller)?;
                Ok(Some((caller, value)))
            })
            .await?;
        match fast {
            Some((caller, value)) => {
                api_auth::record_use(&self.state, &caller).await;
                Ok(value)
            }
            None => self.run(true, read).await,
        }
    }

    /// [`ReadCtx::read`] for reads whose cost grows with the data (scans, sorted pages):
    /// the check and `f` run together on the blocking pool, as [`AppState::blocking`], on
    /// one pooled connection ([`Store::on_one_connection`]).
    pub async fn scan<T, F>(self, f: F) -> ScimResult<T>
    where
        F: FnOnce(&Store, &Ctx) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(false, f).await
    }

    /// Checks the caller and runs `f`: as a short read or on the blocking pool.
    async fn run<T, F>(self, short: bool, f: F) -> ScimResult<T>
    where
        F: FnOnce(&Store, &Ctx) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let Self {
            state,
            limiter,
            credentials,
        } = self;
        let admitting = state.clone();
        let work = move |store: &Store| {
            let caller = credentials.check(store)?;
            let ctx = admit(&admitting, &limiter, &caller)?;
            Ok::<_, AppError>((caller, f(store, &ctx)?))
        };
        let (caller, value) = if short {
            state.read(work).await?
        } else {
            state
                .blocking(move |store| store.on_one_connection(work))
                .await?
        };
        api_auth::record_use(&state, &caller).await;
        Ok(value)
    }
}
