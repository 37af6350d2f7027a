//! Switching SCIM provisioning on from the dashboard: a dedicated `scim`-scoped API key for
//! the IdP (owned by a new bot, or by an admin or bot chosen), and the account's
//! provisioning mode — all in one transaction, so a refusal leaves no stray key or bot
//! behind.

use chrono::{DateTime, Utc};
use portcullis_domain::{ApiKey, ApiKeySecret, ProvisioningMode, Scope, Scopes, User, UserId};
use portcullis_store::Store;

use crate::accounts::{self, AccountChange};
use crate::{api_keys, bots, AppError, Caller};

/// Who owns the IdP's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOwner {
    /// A new bot with this name (recommended: bots outlive any person).
    NewBot(String),
    /// An existing admin or bot.
    Existing(UserId),
}

/// Makes the IdP's key and switches the account to SCIM provisioning; returns the key
/// with its owner and its secret, shown once.
pub fn switch_on_scim(
    store: &Store,
    caller: &Caller,
    description: &str,
    owner: KeyOwner,
    now: DateTime<Utc>,
) -> Result<(ApiKey, User, ApiKeySecret), AppError> {
    caller.require_manager()?;
    store.transaction(|store| {
        let owner = match owner {
            KeyOwner::NewBot(name) => bots::create(store, caller, &name, now)?.id,
            KeyOwner::Existing(id) => id,
        };
        let made = api_keys::create(
            store,
            caller,
            description,
            Some(owner),
            Scopes::only(Scope::Scim),
            now,
        )?;
        // Refused (no IdP yet): the transaction is rolled back, key and bot with it.
        let change = AccountChange {
            provisioning: Some(ProvisioningMode::Scim),
            ..AccountChange::default()
        };
        accounts::update(store, caller, change, now)?;
        Ok(made)
    })
}
