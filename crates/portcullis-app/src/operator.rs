//! What the operator who hosts Portcullis does to whole accounts, from the operator API
//! and the command line alike: create one with its first admin invited, find them,
//! suspend and resume them, and delete one with every row it owns. Each is written to
//! the operator log, which outlives the accounts it names.

use chrono::{DateTime, Utc};
use portcullis_domain::{Account, AccountSlug, Actor, Invitation, Role};
use portcullis_store::{AccountCounts, OperatorLogEntry, Store};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::accounts;
use crate::{audit, invitations, AppError, Caller};

/// The most accounts one page lists.
pub const PAGE: i64 = 50;

/// An account created by the operator, with its first admin's invitation.
pub struct NewAccount {
    /// The account.
    pub account: Account,
    /// The invitation of its first admin.
    pub invitation: Invitation,
    /// The invitation link's secret, shown once (never by `Debug`).
    pub token: String,
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount")
            .field("account", &self.account)
            .field("invitation", &self.invitation)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// An account with what the operator wants to know about it.
#[derive(Debug, Clone)]
pub struct Overview {
    /// The account.
    pub account: Account,
    /// Its members and IdPs.
    pub counts: AccountCounts,
}

/// Writes `action` on `account` to the operator log.
pub fn log(
    store: &Store,
    account: &Account,
    action: &str,
    detail: Value,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    Ok(store.record_operator_log(&OperatorLogEntry {
        id: Uuid::new_v4(),
        at: now,
        action: action.to_owned(),
        account: account.id,
        account_slug: account.slug.as_str().to_owned(),
        detail,
    })?)
}

/// Creates an account named `name` at `slug` with no member, and invites `admin_email`
/// as its first admin: no password exists until they accept. One transaction.
pub fn create(
    store: &Store,
    slug: &str,
    name: &str,
    admin_email: &str,
    now: DateTime<Utc>,
) -> Result<NewAccount, AppError> {
    let account = accounts::new_account(slug, name, now)?;
    store.transaction(|store| {
        store.create_account(&account, None)?;
        let caller = Caller::operator(account.clone());
        let (invitation, token) =
            invitations::create(store, &caller, admin_email, Role::Admin, now)?;
        audit::record(
            store,
            &audit::event(
                account.id,
                Actor::System,
                "account.created",
                None,
                None,
                json!({ "admin_email": invitation.email.as_str() }),
                now,
            ),
        )?;
        log(
            store,
            &account,
            "account.created",
            json!({ "name": account.name, "admin_email": invitation.email.as_str() }),
            now,
        )?;
        Ok(NewAccount {
            account: account.clone(),
            invitation,
            token,
        })
    })
}

/// A page of accounts in slug order after `cursor` (the last slug of the page before),
/// whose slug or name contains `search`; with the cursor of the next page when there is
/// one.
pub fn list(
    store: &Store,
    search: Option<&str>,
    cursor: Option<&str>,
) -> Result<(Vec<Account>, Option<String>), AppError> {
    let after = cursor.map(AccountSlug::parse).transpose()?;
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    let mut page = store.list_accounts(search, after.as_ref(), PAGE + 1)?;
    let next = if page.len() > PAGE as usize {
        page.truncate(PAGE as usize);
        page.last().map(|a| a.slug.as_str().to_owned())
    } else {
        None
    };
    Ok((page, next))
}

/// The account at `slug` (`NotFound` when there is none).
fn find(store: &Store, slug: &str) -> Result<Account, AppError> {
    let slug = AccountSlug::parse(slug).map_err(|_| AppError::NotFound)?;
    store.account_by_slug(&slug)?.ok_or(AppError::NotFound)
}

/// The account at `slug` with its member and IdP counts.
pub fn get(store: &Store, slug: &str) -> Result<Overview, AppError> {
    let account = find(store, slug)?;
    let counts = store.account_counts(account.id)?;
    Ok(Overview { account, counts })
}

/// Suspends the account: from now on every sign-in, SCIM call and API key of it is
/// refused, and its sessions end. Suspending a suspended account changes nothing.
pub fn suspend(store: &Store, slug: &str, now: DateTime<Utc>) -> Result<Overview, AppError> {
    set_suspended(store, slug, Some(now), now)
}

/// Resumes a suspended account: its members and keys work again (sessions ended by the
/// suspension stay ended).
pub fn resume(store: &Store, slug: &str, now: DateTime<Utc>) -> Result<Overview, AppError> {
    set_suspended(store, slug, None, now)
}

fn set_suspended(
    store: &Store,
    slug: &str,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Overview, AppError> {
    store.transaction(|store| {
        let account = find(store, slug)?;
        store.lock_account(account.id)?;
        if account.is_suspended() == at.is_some() {
            return get(store, slug);
        }
        store.set_account_suspended(account.id, at)?;
        let action = if at.is_some() {
            "account.suspended"
        } else {
            "account.resumed"
        };
        audit::record(
            store,
            &audit::event(
                account.id,
                Actor::System,
                action,
                None,
                None,
                Value::Null,
                now,
            ),
        )?;
        log(store, &account, action, Value::Null, now)?;
        get(store, slug)
    })
}

/// Deletes the account and every row it owns, in one transaction with its operator log
/// entry (which names it by id and slug, and stays).
pub fn delete(store: &Store, slug: &str, now: DateTime<Utc>) -> Result<(), AppError> {
    store.transaction(|store| {
        let account = find(store, slug)?;
        let counts = store.account_counts(account.id)?;
        store.delete_account(account.id)?;
        log(
            store,
            &account,
            "account.deleted",
            json!({ "name": account.name, "members": counts.members, "idps": counts.idps }),
            now,
        )
    })
}
