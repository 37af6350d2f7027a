//! API keys: the secrets IdPs (SCIM) and scripts (the admin API) call with. A key is
//! shown once and stored as a hash.

use chrono::{DateTime, Utc};
use portcullis_domain::policy;
use portcullis_domain::{ApiKey, ApiKeyId, ApiKeySecret, Scopes, User, UserId};
use portcullis_store::Store;
use rand::RngCore;
use serde_json::json;
use uuid::Uuid;

use crate::{audit, AppError, Caller};

/// A key with its owner's email (`(deleted)` when the owner is gone).
#[derive(Debug, Clone)]
pub struct KeyWithOwner {
    /// The key (never its secret).
    pub key: ApiKey,
    /// Its owner's email.
    pub owner: String,
}

/// The account's keys with their owners.
pub fn list(store: &Store, caller: &Caller) -> Result<Vec<KeyWithOwner>, AppError> {
    caller.require_manager()?;
    let account = caller.account.id;
    store.read_snapshot(|store| {
        store
            .list_api_keys(account)?
            .into_iter()
            .map(|key| {
                let owner = store
                    .user(account, key.owner)?
                    .map_or_else(|| "(deleted)".to_owned(), |u| u.email.to_string());
                Ok(KeyWithOwner { key, owner })
            })
            .collect()
    })
}

/// Longest key description, in characters.
pub const MAX_DESCRIPTION: usize = 255;

/// Creates a key for `owner` (an admin or bot of the account; the caller when `None`)
/// that may call the APIs of `scopes`, and returns it with its owner and its secret,
/// which is shown only this once.
pub fn create(
    store: &Store,
    caller: &Caller,
    description: &str,
    owner: Option<UserId>,
    scopes: Scopes,
    now: DateTime<Utc>,
) -> Result<(ApiKey, User, ApiKeySecret), AppError> {
    caller.require_manager()?;
    let description = description.trim().to_owned();
    if description.is_empty() || description.chars().count() > MAX_DESCRIPTION {
        return Err(AppError::BadRequest(format!(
            "an API key needs a description of 1 to {MAX_DESCRIPTION} characters"
        )));
    }
    let owner_id = owner
        .or_else(|| caller.user().map(|u| u.id))
        .ok_or_else(|| AppError::BadRequest("name the key's owner".into()))?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = ApiKeySecret::from_random(bytes);
    let (key, owner) = store.transaction(|store| {
        let owner = store.user(caller.account.id, owner_id)?.ok_or_else(|| {
            AppError::BadRequest("the owner is not a member or bot of this account".into())
        })?;
        policy::may_own_api_key(&owner).map_err(|e| AppError::BadRequest(e.to_string()))?;
        let key = ApiKey {
            id: ApiKeyId::from_uuid(Uuid::new_v4()),
            account: caller.account.id,
            owner: owner.id,
            description,
            prefix: secret.display_prefix(),
            secret_hash: secret.hash(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
            scopes,
            legacy_full_access: false,
        };
        store.insert_api_key(&key)?;
        audit::record(
            store,
            &caller.event(
                "api_key.created",
                Some(key.id.to_string()),
                json!({
                    "owner": owner.email.as_str(),
                    "description": key.description,
                    "prefix": key.prefix,
                    "scopes": key.scopes.to_stored(),
                }),
                now,
            ),
        )?;
        Ok::<_, AppError>((key, owner))
    })?;
    Ok((key, owner, secret))
}

/// Revokes a key of the account.
pub fn revoke(
    store: &Store,
    caller: &Caller,
    id: ApiKeyId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    caller.require_manager()?;
    store.transaction(|store| {
        if !store.revoke_api_key(caller.account.id, id, now)? {
            return Err(AppError::NotFound);
        }
        audit::record(
            store,
            &caller.event("api_key.revoked", Some(id.to_string()), json!({}), now),
        )
    })
}

/// Who may own a new key: the account's active admins and bots.
pub fn possible_owners(store: &Store, caller: &Caller) -> Result<Vec<User>, AppError> {
    caller.require_manager()?;
    let (users, _) = store.list_users(
        caller.account.id,
        &portcullis_store::UserListQuery {
            kind: None,
            search: None,
            offset: 0,
            limit: 1000,
        },
    )?;
    Ok(users
        .into_iter()
        .filter(|u| policy::may_own_api_key(u).is_ok())
        .collect())
}
