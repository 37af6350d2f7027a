//! The SCIM use cases: creating, replacing, patching and deleting members and groups
//! (each one store transaction with its audit event), listing and searching them in the
//! database, Bulk, and the mapping between SCIM resources and stored members. The wire
//! rules (filters, PATCH, projection) are `portcullis-scim`'s; the HTTP routes are the
//! server's.

pub mod bulk;
pub mod filter;
pub mod groups;
pub mod mapping;
pub mod search;
pub mod users;

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use portcullis_domain::policy;
use portcullis_domain::{AccountId, Actor, ApiKeyId, Scope};
use portcullis_scim::ScimError;
use portcullis_store::StoreError;

use crate::auth::ApiCaller;
use crate::AppError;

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
    /// Whether the account provisions only members with an email on its verified
    /// domains (checked on create and on a new userName).
    pub provision_only_verified_domains: bool,
}

impl Ctx {
    /// The audit actor.
    pub fn actor(&self) -> Actor {
        Actor::ApiKey(self.key)
    }
}

/// What SCIM asks of an authenticated caller beyond its key: the `scim` scope and an
/// account that provisions over SCIM (else `Forbidden`). `base` is the SCIM base URL.
pub fn admit(caller: &ApiCaller, base: &str, now: DateTime<Utc>) -> Result<Ctx, AppError> {
    crate::auth::check_scope(caller, Scope::Scim)?;
    policy::may_serve_scim(&caller.account).map_err(|r| AppError::Forbidden(r.to_string()))?;
    Ok(Ctx {
        account: caller.account.id,
        key: caller.key.id,
        ip: caller.ip,
        base: base.to_owned(),
        now,
        provision_only_verified_domains: caller.account.provision_only_verified_domains,
    })
}

/// What a store failure means to a SCIM client.
pub fn store_error(e: StoreError) -> AppError {
    match e {
        StoreError::UnknownMember(id) => AppError::Scim(ScimError::invalid_value(format!(
            "member {id} is not a user of this account; nothing was changed"
        ))),
        StoreError::InvalidFilter(why) => AppError::Scim(ScimError::invalid_filter(why)),
        StoreError::Conflict { what } => {
            let what = match what {
                portcullis_store::conflict::EMAIL => "userName",
                portcullis_store::conflict::GROUP_NAME => "displayName",
                other => other,
            };
            AppError::Scim(ScimError::uniqueness(format!(
                "{what} is already taken in this account"
            )))
        }
        other => other.into(),
    }
}

/// The account's domain rule on a new member or userName: 400 `invalidValue` naming the
/// domain when it is not one of the account's verified domains. Free when the account
/// does not hold to the rule.
pub fn check_domain(
    store: &portcullis_store::Store,
    ctx: &Ctx,
    email: &portcullis_domain::Email,
) -> Result<(), AppError> {
    if !ctx.provision_only_verified_domains
        || crate::domains::on_verified_domain(store, ctx.account, email)?
    {
        return Ok(());
    }
    let refusal = crate::domains::not_verified(email);
    Err(AppError::Scim(ScimError::invalid_value(
        refusal.to_string(),
    )))
}

/// 404 with a detail naming the id.
pub fn not_found(kind: &str, id: &str) -> AppError {
    AppError::Scim(ScimError::not_found(format!("there is no {kind} {id:?}")))
}
