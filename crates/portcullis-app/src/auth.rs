//! API-key authentication (the admin API and SCIM): the key decides the account, and the
//! domain decides whether it may be used (owner active, admin or bot, caller inside the
//! account's API IP restrictions).

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use portcullis_domain::policy::{self, ApiKeyRefusal};
use portcullis_domain::{Account, Actor, ApiKey, AuditEvent, Scope, SecretHash, User};
use portcullis_store::{KnownKey, Store};
use serde_json::json;

use crate::{audit, AppError, Caller, Via};

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

impl ApiCaller {
    /// The caller as the account's use cases take it.
    pub fn into_caller(self) -> Caller {
        Caller {
            account: self.account,
            via: Via::ApiKey {
                key: self.key.id,
                owner: self.owner,
                scopes: self.key.scopes,
            },
            ip: Some(self.ip),
        }
    }
}

/// What a request presents to be authenticated: its key (as the hash the store keeps)
/// and its address.
#[derive(Debug, Clone)]
pub struct Credentials {
    hash: SecretHash,
    ip: IpAddr,
}

fn unknown_key() -> AppError {
    AppError::Unauthorized("the API key is unknown or revoked".into())
}

impl Credentials {
    /// The credentials of a bearer `token` sent from `ip`.
    pub fn new(token: &str, ip: IpAddr) -> Self {
        Self {
            hash: SecretHash::of(token),
            ip,
        }
    }

    /// The caller as the store keeps them in memory ([`Store::cached_api_key`]), when the
    /// key was read before and the domain admits it on what was read, with the key kept
    /// in memory: reads through it answer only while what was read is current. `None`
    /// decides nothing (a key not in memory, or one that what was read would refuse):
    /// [`Credentials::check`] then decides on what the database holds now.
    pub fn check_cached<'a>(&self, store: &'a Store) -> Option<(ApiCaller, KnownKey<'a>)> {
        let known = store.cached_api_key(&self.hash)?;
        // Constant time, as in `check`.
        if known.key.secret_hash != self.hash {
            return None;
        }
        policy::may_use_api_key(&known.account, &known.key, &known.owner, self.ip).ok()?;
        let caller = ApiCaller {
            account: known.account.clone(),
            key: known.key.clone(),
            owner: known.owner.clone(),
            ip: self.ip,
        };
        Some((caller, known))
    }

    /// Checks the key against the store: unknown, revoked and unusable keys are
    /// `Unauthorized`; a caller outside the account's API IP restrictions, or a key of a
    /// suspended account, is `Forbidden`.
    /// One statement, so it can run inside a read transaction with the request's reads.
    pub fn check(&self, store: &Store) -> Result<ApiCaller, AppError> {
        let (key, owner, account) = store
            .api_key_for_auth(&self.hash)?
            .ok_or_else(unknown_key)?;
        // The hash lookup found the row; compare again in constant time so no timing of
        // the database's index comparison is all that stands between a guess and a key.
        if key.secret_hash != self.hash {
            return Err(unknown_key());
        }
        match policy::may_use_api_key(&account, &key, &owner, self.ip) {
            Ok(()) => {}
            Err(refusal @ (ApiKeyRefusal::IpNotAllowed(_) | ApiKeyRefusal::AccountSuspended)) => {
                return Err(AppError::Forbidden(refusal.to_string()))
            }
            Err(ApiKeyRefusal::Revoked) => return Err(unknown_key()),
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

/// Refuses a key used outside its scopes (`Forbidden`): a `scim` key on the admin API,
/// an `admin` key on SCIM.
pub fn check_scope(caller: &ApiCaller, scope: Scope) -> Result<(), AppError> {
    if caller.key.scopes.allows(scope) {
        return Ok(());
    }
    let has: Vec<&str> = caller
        .key
        .scopes
        .list()
        .iter()
        .map(|s| s.as_str())
        .collect();
    Err(AppError::Forbidden(format!(
        "this API key may call the {} API only; this call needs a key with the {scope} scope",
        has.join(" and ")
    )))
}

/// The audit event of a key refused for its scopes at `route` (method and path).
pub fn scope_refused(
    caller: &ApiCaller,
    scope: Scope,
    route: &str,
    now: DateTime<Utc>,
) -> AuditEvent {
    audit::event(
        caller.account.id,
        Actor::ApiKey(caller.key.id),
        "api_key.refused",
        Some(caller.key.id.to_string()),
        Some(caller.ip.to_string()),
        json!({
            "route": route,
            "needs": scope.as_str(),
            "scopes": caller.key.scopes.to_stored(),
            "prefix": caller.key.prefix,
        }),
        now,
    )
}

/// Whether an accepted key's use should be recorded at `now`: at most once a minute.
pub fn use_is_stale(caller: &ApiCaller, now: DateTime<Utc>) -> bool {
    caller
        .key
        .last_used_at
        .is_none_or(|t| now - t > Duration::seconds(60))
}

/// Records when an accepted key was last used.
pub fn record_use(store: &Store, caller: &ApiCaller, now: DateTime<Utc>) -> Result<(), AppError> {
    Ok(store.touch_api_key(caller.key.id, now)?)
}
