//! Authentication of API calls (the admin API and SCIM) by account API keys sent as
//! `Authorization: Bearer <key>`. The key decides the account; the domain decides whether
//! the key may be used (owner active, admin or bot, caller inside the IP restrictions).

use std::net::IpAddr;

use actix_web::http::header;
use actix_web::HttpRequest;
use chrono::{Duration, Utc};
use portcullis_domain::policy::{self, ApiKeyRefusal};
use portcullis_domain::{Account, ApiKey, SecretHash, User};
use portcullis_store::Store;

use crate::client_ip::client_ip;
use crate::error::AppError;
use crate::state::AppState;

/// A caller whose API key was accepted.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    /// The account the key acts in.
    pub account: Account,
    /// The key.
    pub key: ApiKey,
    /// The key's owner (an admin or a bot).
    pub owner: User,
    /// The caller's address.
    pub ip: IpAddr,
}

/// The bearer token of a request, if it carries one.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, token) = value.split_once(char::is_whitespace)?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// What a request presents to be authenticated: its key (as the hash the store keeps)
/// and its address. Taking them from the request needs no database.
#[derive(Debug, Clone)]
pub struct Credentials {
    hash: SecretHash,
    ip: IpAddr,
}

impl Credentials {
    /// The request's bearer key and client address: 401 without a key, 403 when the
    /// client address is unknown.
    pub fn of(state: &AppState, req: &HttpRequest) -> Result<Self, AppError> {
        let token = bearer_token(req).ok_or_else(|| {
            AppError::Unauthorized("send an API key as `Authorization: Bearer <key>`".into())
        })?;
        let ip = client_ip(req, &state.config.trusted_proxies)
            .ok_or_else(|| AppError::Forbidden("the client address is unknown".into()))?;
        Ok(Self {
            hash: SecretHash::of(token),
            ip,
        })
    }

    /// The caller as the store keeps them in memory ([`Store::cached_api_key`]), when the
    /// key was read before and the domain admits it on what was read, with the account's
    /// authentication epoch of that read. The answer holds only while that epoch is
    /// current: a read relying on it must check the epoch in its own statement. `None`
    /// decides nothing (a key not in memory, or one that what was read would refuse):
    /// [`Credentials::check`] then decides on what the database holds now.
    pub fn check_cached(&self, store: &Store) -> Option<(ApiCaller, i64)> {
        let (key, owner, account, epoch) = store.cached_api_key(&self.hash)?;
        // Constant time, as in `check`.
        if key.secret_hash != self.hash {
            return None;
        }
        policy::may_use_api_key(&account, &key, &owner, self.ip).ok()?;
        Some((
            ApiCaller {
                account,
                key,
                owner,
                ip: self.ip,
            },
            epoch,
        ))
    }

    /// Checks the key against the store: unknown, revoked and unusable keys are 401; a
    /// caller outside the account's API IP restrictions is 403. One statement, so it
    /// can run inside a read transaction with the request's own reads.
    pub fn check(&self, store: &Store) -> Result<ApiCaller, AppError> {
        // One statement: the key's account's epoch when the key is cached, else the key,
        // its owner, its account and the epoch in one join.
        let (key, owner, account) = store
            .api_key_for_auth(&self.hash)?
            .ok_or_else(|| AppError::Unauthorized("the API key is unknown or revoked".into()))?;
        // The hash lookup found the row; compare again in constant time so no timing of
        // the database's index comparison is all that stands between a guess and a key.
        if key.secret_hash != self.hash {
            return Err(AppError::Unauthorized(
                "the API key is unknown or revoked".into(),
            ));
        }
        match policy::may_use_api_key(&account, &key, &owner, self.ip) {
            Ok(()) => {}
            Err(refusal @ ApiKeyRefusal::IpNotAllowed(_)) => {
                return Err(AppError::Forbidden(refusal.to_string()))
            }
            Err(ApiKeyRefusal::Revoked) => {
                return Err(AppError::Unauthorized(
                    "the API key is unknown or revoked".into(),
                ))
            }
            Err(refusal) => return Err(AppError::Unauthorized(refusal.to_string())),
        }
        Ok(ApiCaller {
            account,
            key,
            owner,
            ip: self.ip,
        })
    }
}

/// Authenticates a request by its API key ([`Credentials::of`], then
/// [`Credentials::check`] as a statement of its own) and records the key's use.
pub async fn authenticate(state: &AppState, req: &HttpRequest) -> Result<ApiCaller, AppError> {
    let credentials = Credentials::of(state, req)?;
    let caller = state
        .read_statement(move |store| credentials.check(store))
        .await?;
    record_use(state, &caller).await;
    Ok(caller)
}

/// Records when an accepted key was last used, at most once a minute per key. Best
/// effort: a failure is logged and does not fail the call.
pub async fn record_use(state: &AppState, caller: &ApiCaller) {
    let now = Utc::now();
    if caller
        .key
        .last_used_at
        .is_some_and(|t| now - t <= Duration::seconds(60))
    {
        return;
    }
    let id = caller.key.id;
    // A write, so on SQLite it joins the writer's next batch rather than waiting for the
    // lock in SQLite's busy handler while SCIM writes keep the writer busy.
    let touch = state.write(move |store| Ok(store.touch_api_key(id, now)?));
    if let Err(e) = touch.await {
        tracing::warn!(error = %e, "could not record API key use");
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn bearer_tokens() {
        let check = |value: Option<&str>, expected: Option<&str>| {
            let mut req = TestRequest::default();
            if let Some(v) = value {
                req = req.insert_header((header::AUTHORIZATION, v));
            }
            let req = req.to_http_request();
            assert_eq!(bearer_token(&req), expected, "{value:?}");
        };
        check(None, None);
        check(Some("Bearer pcl_abc"), Some("pcl_abc"));
        check(Some("bearer   pcl_abc  "), Some("pcl_abc"));
        check(Some("Basic dXNlcjpwYXNz"), None);
        check(Some("Bearer"), None);
        check(Some("Bearer "), None);
        check(Some("non-token"), None);
    }
}
