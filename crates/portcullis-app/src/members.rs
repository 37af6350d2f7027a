//! Members: listing, reading, changing role or status, deleting — and the one last-admin
//! rule every path that can take an admin's power away obeys (the admin API, the
//! dashboard and SCIM).

use chrono::{DateTime, Utc};
use portcullis_domain::policy;
use portcullis_domain::{Role, User, UserId, UserKind};
use portcullis_store::{Store, UserListQuery};
use serde_json::json;

use crate::{invitations, AppError, Caller};

/// One page of the account's human members and how many match in all.
pub fn list(
    store: &Store,
    caller: &Caller,
    search: Option<String>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<User>, i64), AppError> {
    caller.require_manager()?;
    Ok(store.list_users(
        caller.account.id,
        &UserListQuery {
            kind: Some(UserKind::Human),
            search,
            offset,
            limit,
        },
    )?)
}

/// One human member: admins may read anyone, members only themselves.
pub fn get(store: &Store, caller: &Caller, id: UserId) -> Result<User, AppError> {
    if caller.user().map(|u| u.id) != Some(id) {
        caller.require_manager()?;
    }
    store
        .user(caller.account.id, id)?
        .filter(|u| u.kind == UserKind::Human)
        .ok_or(AppError::NotFound)
}

/// The last-admin rule: refuses a change after which `target` is no longer an active
/// admin (`still_admin` false) when no other active human admin remains. Reads the
/// admins only when `target` is one, so changes to other members cost nothing more.
/// Call it inside the transaction that writes the change: it holds the account
/// ([`Store::lock_account`]) until that transaction ends, so two concurrent changes to
/// the last two admins are decided one after the other and cannot both pass.
pub fn keep_an_admin(store: &Store, target: &User, still_admin: bool) -> Result<(), AppError> {
    let was_admin = target.active && target.role == Role::Admin && target.kind == UserKind::Human;
    let admins = if was_admin && !still_admin {
        store.lock_account(target.account)?;
        store.active_admins(target.account, 2)?
    } else {
        Vec::new()
    };
    policy::may_change_member(target, &admins, still_admin)
        .map_err(|e| AppError::Conflict(e.to_string()))
}

/// A change to a member; `None` keeps a field as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberChange {
    /// A new role.
    pub role: Option<Role>,
    /// `false` deactivates (ending their sessions), `true` reactivates.
    pub active: Option<bool>,
}

/// Changes a member's role or status, refusing to remove the last admin; one transaction.
pub fn update(
    store: &Store,
    caller: &Caller,
    id: UserId,
    change: MemberChange,
    now: DateTime<Utc>,
) -> Result<User, AppError> {
    caller.require_manager()?;
    store.transaction(|store| {
        let target = store
            .user(caller.account.id, id)?
            .ok_or(AppError::NotFound)?;
        let mut next = target.clone();
        if let Some(role) = change.role {
            next.role = role;
        }
        if let Some(active) = change.active {
            next.active = active;
        }
        keep_an_admin(store, &target, next.active && next.role == Role::Admin)?;
        if next.role != target.role {
            next.updated_at = now;
            store.update_user(&User {
                active: target.active,
                ..next.clone()
            })?;
        }
        if next.active != target.active {
            store.set_user_active(caller.account.id, id, next.active, now)?;
            if !next.active {
                invitations::revoke_made_by(store, caller.account.id, id, now)?;
            }
        }
        let kind = match (target.active, next.active) {
            (true, false) => "member.deactivated",
            (false, true) => "member.reactivated",
            _ => "member.updated",
        };
        if next != target {
            crate::webhooks::emit_member(store, kind, &next, now)?;
        }
        crate::audit::record(
            store,
            &caller.event(
                "member.changed",
                Some(id.to_string()),
                json!({ "role": next.role.as_str(), "active": next.active }),
                now,
            ),
        )?;
        Ok(next)
    })
}

/// Deletes a member with their sessions and keys, refusing to remove the last admin.
pub fn delete(
    store: &Store,
    caller: &Caller,
    id: UserId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    caller.require_manager()?;
    store.transaction(|store| {
        let target = store
            .user(caller.account.id, id)?
            .ok_or(AppError::NotFound)?;
        keep_an_admin(store, &target, false)?;
        invitations::revoke_made_by(store, caller.account.id, id, now)?;
        let event = caller.event(
            "member.deleted",
            Some(id.to_string()),
            json!({ "email": target.email.as_str() }),
            now,
        );
        store.delete_user(caller.account.id, id, now, Some(&event))?;
        crate::webhooks::emit_member(store, "member.deleted", &target, now)
    })
}
