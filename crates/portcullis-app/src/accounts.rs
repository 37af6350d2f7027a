//! Accounts: creating one with its first admin (the operator, and the first start of an
//! empty server), and changing its name, enforcement and provisioning.

use chrono::{DateTime, Utc};
use portcullis_domain::policy;
use portcullis_domain::{
    Account, AccountId, AccountSlug, Actor, Email, EnforcementPolicy, IpRestrictions,
    ProvisioningMode, User,
};
use portcullis_store::Store;
use serde_json::json;
use uuid::Uuid;

use crate::{audit, password, AppError, Caller};

/// What creating an account produced: the admin's one-time password is shown once (and
/// never by `Debug`).
pub struct CreatedAccount {
    /// The account.
    pub account: Account,
    /// Its first admin.
    pub admin: User,
    /// The admin's password, never stored in clear.
    pub password: String,
}

impl std::fmt::Debug for CreatedAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedAccount")
            .field("account", &self.account)
            .field("admin", &self.admin)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A new account at `slug` named `name`, with the defaults every account starts with
/// (mixed enforcement, invitations, no API IP restrictions); not yet stored.
pub fn new_account(slug: &str, name: &str, now: DateTime<Utc>) -> Result<Account, AppError> {
    let slug = AccountSlug::parse(slug)?;
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::BadRequest("the account needs a name".into()));
    }
    if name.chars().count() > 255 {
        return Err(AppError::BadRequest(
            "the account name is longer than 255 characters".into(),
        ));
    }
    Ok(Account {
        id: AccountId::from_uuid(Uuid::new_v4()),
        slug,
        name: name.to_owned(),
        enforcement: EnforcementPolicy::Mixed,
        provisioning: ProvisioningMode::Invite,
        api_ip_restrictions: IpRestrictions::none(),
        provision_only_verified_domains: false,
        created_at: now,
        suspended_at: None,
    })
}

/// Creates an account and its first admin with a random password, in one transaction
/// with its operator log entry (the command line's break-glass way; the operator API
/// invites the first admin instead, [`crate::operator::create`]).
pub fn create(
    store: &Store,
    slug: &str,
    name: &str,
    admin_email: &str,
    now: DateTime<Utc>,
) -> Result<CreatedAccount, AppError> {
    let account = new_account(slug, name, now)?;
    let email = Email::parse(admin_email)?;
    let password = password::random_password();
    let admin = User::bootstrap_admin(
        crate::ids::new_user_id(),
        account.id,
        email,
        password::hash(&password)?,
        now,
    );
    store.transaction(|store| {
        store.create_account(&account, Some(&admin))?;
        audit::record(
            store,
            &audit::event(
                account.id,
                Actor::System,
                "account.created",
                Some(admin.id.to_string()),
                None,
                serde_json::Value::Null,
                now,
            ),
        )?;
        crate::operator::log(
            store,
            &account,
            "account.created",
            json!({ "name": account.name, "admin_email": admin.email.as_str() }),
            now,
        )
    })?;
    Ok(CreatedAccount {
        account,
        admin,
        password,
    })
}

/// On an empty database, creates the account `default` with the admin `admin@localhost`.
pub fn bootstrap_if_empty(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Option<CreatedAccount>, AppError> {
    if store.count_accounts()? > 0 {
        return Ok(None);
    }
    match create(store, "default", "Default", "admin@localhost", now) {
        Ok(created) => Ok(Some(created)),
        // Another replica bootstrapped at the same moment.
        Err(AppError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The account with this slug, or a clear refusal naming it.
pub fn by_slug(store: &Store, slug: &str) -> Result<Account, AppError> {
    let slug = AccountSlug::parse(slug)?;
    store
        .account_by_slug(&slug)?
        .ok_or_else(|| AppError::BadRequest(format!("there is no account {slug}")))
}

/// A change to an account's settings; `None` keeps a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountChange {
    /// A new display name (1 to 255 characters).
    pub name: Option<String>,
    /// A new enforcement policy (enforcing needs an enabled IdP and, from a session, an
    /// SSO sign-in).
    pub enforcement: Option<EnforcementPolicy>,
    /// A new provisioning mode (just-in-time and SCIM need an enabled IdP).
    pub provisioning: Option<ProvisioningMode>,
    /// Whether new members must have an email on one of the account's verified domains.
    pub provision_only_verified_domains: Option<bool>,
}

/// Applies `change` once the domain accepted every part of it, in one transaction: all
/// of it or nothing. Each setting that changed leaves its audit event. Switching to SSO
/// enforced ends every password session of the account.
pub fn update(
    store: &Store,
    caller: &Caller,
    change: AccountChange,
    now: DateTime<Utc>,
) -> Result<Account, AppError> {
    caller.require_manager()?;
    store.transaction(|store| {
        let id = caller.account.id;
        let current = store.account(id)?.ok_or(AppError::NotFound)?;
        let idps = store.list_idps(id)?;
        let mut next = current.clone();
        let mut changes = Vec::new();
        if let Some(name) = change
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| *n != current.name)
        {
            if name.is_empty() || name.chars().count() > 255 {
                return Err(AppError::BadRequest(
                    "the account name must have 1 to 255 characters".into(),
                ));
            }
            next.name = name.to_owned();
            changes.push("account.name.changed");
        }
        if let Some(wanted) = change.enforcement.filter(|w| *w != current.enforcement) {
            policy::may_set_enforcement(&current, &idps, wanted, caller.requester())
                .map_err(|e| AppError::Conflict(e.to_string()))?;
            next.enforcement = wanted;
            changes.push("account.enforcement.changed");
        }
        if let Some(wanted) = change.provisioning.filter(|w| *w != current.provisioning) {
            policy::may_set_provisioning(&current, &idps, wanted)
                .map_err(|e| AppError::Conflict(e.to_string()))?;
            next.provisioning = wanted;
            changes.push("account.provisioning.changed");
        }
        if let Some(wanted) = change
            .provision_only_verified_domains
            .filter(|w| *w != current.provision_only_verified_domains)
        {
            next.provision_only_verified_domains = wanted;
            changes.push("account.provision_only_verified_domains.changed");
        }
        store.update_account(&next)?;
        if next.enforcement == EnforcementPolicy::Enforced
            && current.enforcement != EnforcementPolicy::Enforced
        {
            // Passwords stop working: so do the sessions they opened. Sessions that
            // signed in through an IdP stay.
            store.revoke_password_sessions(next.id, now)?;
        }
        let detail = json!({
            "name": next.name,
            "enforcement": next.enforcement.as_str(),
            "provisioning": next.provisioning.as_str(),
            "provision_only_verified_domains": next.provision_only_verified_domains,
        });
        if !changes.is_empty() {
            crate::webhooks::emit(
                store,
                next.id,
                "settings.changed",
                &crate::webhooks::account_data(&next),
                now,
            )?;
        }
        for action in changes {
            audit::record(store, &caller.event(action, None, detail.clone(), now))?;
        }
        Ok(next)
    })
}

/// Replaces the account's API IP restrictions with `ranges` (an invalid range is refused
/// naming it). A change made with an API key must keep that key's address allowed.
pub fn set_ip_restrictions(
    store: &Store,
    caller: &Caller,
    ranges: &[String],
    now: DateTime<Utc>,
) -> Result<Account, AppError> {
    caller.require_manager()?;
    let parsed = IpRestrictions::parse(ranges)?;
    let key_caller = match caller.via {
        crate::Via::ApiKey { .. } => caller.ip,
        _ => None,
    };
    policy::may_set_ip_restrictions(&parsed, key_caller)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    store.transaction(|store| {
        let mut account = store
            .account(caller.account.id)?
            .ok_or(AppError::NotFound)?;
        account.api_ip_restrictions = parsed;
        store.update_account(&account)?;
        crate::webhooks::emit(
            store,
            account.id,
            "settings.changed",
            &crate::webhooks::account_data(&account),
            now,
        )?;
        let ranges: Vec<String> = account
            .api_ip_restrictions
            .ranges()
            .iter()
            .map(ToString::to_string)
            .collect();
        audit::record(
            store,
            &caller.event(
                "account.ip_restrictions.changed",
                None,
                json!({ "ranges": ranges }),
                now,
            ),
        )?;
        Ok(account)
    })
}
