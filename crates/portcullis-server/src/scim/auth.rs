//! Who is calling SCIM: the API key decides the account (`portcullis_app::auth`), the
//! account must provision over SCIM (`portcullis_app::scim::admit`), and the per-key rate
//! limit applies. Two extractors:
//!
//! - [`Caller`] for writes and requests with a body: authenticated before the handler
//!   runs, as a statement of its own.
//! - [`ReadCtx`] for reads without a body: only the key and address are taken from the
//!   request; the key is then checked in the same visit to the database as the reads
//!   (on SQLite one read transaction on the worker itself, on PostgreSQL one trip to the
//!   blocking pool), and a bad query is reported only to a caller whose key is good.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use actix_web::{web, FromRequest, HttpRequest};
use chrono::Utc;
use portcullis_app::auth::{self, ApiCaller, Credentials};
use portcullis_app::scim::{self, Ctx};
use portcullis_domain::Scope;
use portcullis_store::{KnownKey, Store};

use super::error::{ScimFailure, ScimResult};
use crate::api_auth;
use crate::error::AppError;
use crate::state::AppState;

/// An authenticated SCIM caller, admitted and within its rate, with the key that called.
pub struct Caller(pub Ctx, pub ApiCaller);

/// The SCIM base URL, `{public_url}/scim/v2`.
fn base(state: &AppState) -> String {
    [state.config.public_url.as_str(), super::BASE_PATH].concat()
}

/// What SCIM asks of an authenticated caller beyond its key: an account that provisions
/// over SCIM (else 403) and a key within its rate (else 429, counting the call).
fn admit(state: &AppState, caller: &ApiCaller) -> Result<Ctx, AppError> {
    let ctx = scim::admit(caller, &base(state), Utc::now())?;
    within_rate(state, caller, 1)?;
    Ok(ctx)
}

/// The key's part of [`admit`]: 429 when the key lacks `n` tokens (one per request, one
/// per Bulk operation), taking none. Takes them otherwise.
pub(super) fn within_rate(state: &AppState, caller: &ApiCaller, n: u32) -> Result<(), AppError> {
    state
        .scim_limiter
        .take(
            caller.key.id,
            state.config.scim_rate_limit,
            n,
            Instant::now(),
        )
        .map_err(AppError::TooManyRequests)
}

/// The state of a SCIM route.
fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal("the SCIM routes lack their state".into()))
}

impl FromRequest for Caller {
    type Error = ScimFailure;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    /// 401 for missing, unknown, revoked and unusable keys, 403 outside the IP
    /// restrictions or when the account does not provision over SCIM, 429 over the key's
    /// rate.
    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            let caller = api_auth::authenticate(&state, &req).await?;
            api_auth::require_scope(&state, &req, &caller, Scope::Scim).await?;
            Ok(Self(admit(&state, &caller)?, caller))
        })
    }
}

/// A SCIM call that only reads and sends no body: its key is checked in the same visit to
/// the database as the reads it makes.
pub struct ReadCtx {
    state: web::Data<AppState>,
    credentials: Credentials,
    route: String,
}

/// What the full check of a [`ReadCtx`] found: an admitted caller with the value of the
/// reads, or a good key without the `scim` scope (whose refusal is then audited).
enum Checked<T> {
    Admitted(ApiCaller, T),
    OutOfScope(ApiCaller, AppError),
}

impl FromRequest for ReadCtx {
    type Error = ScimFailure;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    /// Takes the credentials of a request (401 without a key, 403 without an address).
    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready((|| {
            let state = state_of(req)?;
            let credentials = api_auth::credentials(&state, req)?;
            Ok(Self {
                state,
                credentials,
                route: api_auth::route(req),
            })
        })())
    }
}

impl ReadCtx {
    /// Authenticates the caller and runs `f` — short reads: index lookups, not scans —
    /// in the same snapshot ([`AppState::lookup`]); `f` runs only for an admitted caller.
    /// Records the key's use afterwards, as [`Caller`] does.
    pub async fn read<T, F>(self, f: F) -> ScimResult<T>
    where
        F: FnOnce(&Store, &Ctx) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(true, f).await
    }

    /// [`ReadCtx::read`] for a read that may rely on a key kept in memory: when the key
    /// is in memory and admitted on what was read, `known` runs with it
    /// ([`KnownKey`], whose reads answer only while what was read is current) as one
    /// statement without a transaction. When it answers `None`, and for every other key,
    /// `read` runs as [`ReadCtx::read`] runs it, after the full check. Either way the
    /// call is counted against the key's rate once, after the key is known good.
    pub async fn read_known<T, K, F>(self, known: K, read: F) -> ScimResult<T>
    where
        K: FnOnce(&KnownKey<'_>, &Ctx) -> Result<Option<T>, AppError> + Send + 'static,
        F: FnOnce(&Store, &Ctx) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (state, credentials) = (self.state.clone(), self.credentials.clone());
        // A key without the `scim` scope is refused by the full check, which audits it.
        let fast = self
            .state
            .lookup_statement(move |store| -> Result<Option<(ApiCaller, T)>, AppError> {
                let Some((caller, key)) = credentials.check_cached(store) else {
                    return Ok(None);
                };
                let Ok(ctx) = scim::admit(&caller, &base(&state), Utc::now()) else {
                    return Ok(None);
                };
                let Some(value) = known(&key, &ctx)? else {
                    return Ok(None);
                };
                // Counted only once the key is known good, as after the full check.
                within_rate(&state, &caller, 1)?;
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
    /// the check and `f` run together on the blocking pool ([`AppState::read`]).
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
            credentials,
            route,
        } = self;
        let admitting = state.clone();
        let work = move |store: &Store| {
            let caller = credentials.check(store)?;
            if let Err(refusal) = auth::check_scope(&caller, Scope::Scim) {
                return Ok(Checked::OutOfScope(caller, refusal));
            }
            let ctx = admit(&admitting, &caller)?;
            let value = f(store, &ctx)?;
            Ok::<_, AppError>(Checked::Admitted(caller, value))
        };
        let checked = if short {
            state.lookup(work).await?
        } else {
            state.read(work).await?
        };
        match checked {
            Checked::Admitted(caller, value) => {
                api_auth::record_use(&state, &caller).await;
                Ok(value)
            }
            Checked::OutOfScope(caller, refusal) => {
                api_auth::record_scope_refusal(&state, &caller, Scope::Scim, &route).await;
                Err(refusal.into())
            }
        }
    }
}
