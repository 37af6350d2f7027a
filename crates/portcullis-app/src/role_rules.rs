//! Role rules: the IdP decides who is an admin. SCIM group changes apply `scim_group`
//! rules at once to the members they touch; each SSO sign-in applies `sso_claim` rules
//! to the member who signs in. The last-admin rule holds: a demotion that would leave the
//! account without an active admin is not made, and audited as kept. Every change is
//! audited naming the rule that caused it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use portcullis_domain::role_rule::{self, Claims, RoleVerdict};
use portcullis_domain::{
    AccountId, Actor, GroupId, Role, RoleRule, RoleRuleId, RoleSource, User, UserId, UserKind,
};
use portcullis_store::{conflict, Store, StoreError};
use serde_json::{json, Value};

use crate::{audit, members, webhooks, AppError, Caller};

/// The account's rules, oldest first.
pub fn list(store: &Store, caller: &Caller) -> Result<Vec<RoleRule>, AppError> {
    caller.require_manager()?;
    Ok(store.role_rules(caller.account.id)?)
}

/// What a new rule says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRule {
    /// `scim_group` or `sso_claim`.
    pub source: RoleSource,
    /// For `sso_claim`, the one claim to read (else the usual group and role claims).
    pub claim: Option<String>,
    /// The group name or claim value.
    pub value: String,
    /// The role it gives.
    pub role: Role,
}

/// A rule as the API and the audit log show it.
pub fn shown(rule: &RoleRule) -> Value {
    json!({"id": rule.id.to_string(), "source": rule.source.as_str(), "claim": rule.claim,
           "value": rule.value, "role": rule.role.as_str()})
}

/// Makes a rule (400 for an empty or overlong value, 409 for a rule with the same source,
/// claim and value). It applies from the next group change or sign-in on.
pub fn create(
    store: &Store,
    caller: &Caller,
    new: NewRule,
    now: DateTime<Utc>,
) -> Result<RoleRule, AppError> {
    caller.require_manager()?;
    let rule = RoleRule::new(
        RoleRuleId::from_uuid(uuid::Uuid::new_v4()),
        caller.account.id,
        new.source,
        new.claim.as_deref(),
        &new.value,
        new.role,
        now,
    )?;
    store.transaction(|store| {
        store.insert_role_rule(&rule).map_err(|e| match e {
            StoreError::Conflict { what } if what == conflict::ROLE_RULE => {
                AppError::Conflict(format!(
                    "the account already has a {} rule for {:?}",
                    rule.source, rule.value
                ))
            }
            other => other.into(),
        })?;
        let event = caller.event(
            "role_rule.created",
            Some(rule.id.to_string()),
            shown(&rule),
            now,
        );
        audit::record(store, &event)?;
        Ok(rule)
    })
}

/// Removes a rule (404 when the account has none with that id). Roles it gave stay until
/// the next change that re-applies the rules.
pub fn delete(
    store: &Store,
    caller: &Caller,
    id: RoleRuleId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    caller.require_manager()?;
    store.transaction(|store| {
        let rule = store
            .role_rules(caller.account.id)?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(AppError::NotFound)?;
        store.delete_role_rule(caller.account.id, id)?;
        let event = caller.event("role_rule.deleted", Some(id.to_string()), shown(&rule), now);
        audit::record(store, &event)
    })
}

/// Who and where a change came from, for the audit events of the roles it changes.
#[derive(Debug, Clone)]
pub struct Cause {
    /// The account.
    pub account: AccountId,
    /// Who made the change (the SCIM key; the server for a sign-in).
    pub actor: Actor,
    /// Their address.
    pub ip: Option<String>,
    /// What happened, for the audit detail (`scim_group` change, `sso` sign-in).
    pub detail: Value,
    /// When.
    pub now: DateTime<Utc>,
}

/// Gives `user` the role `verdict` says, obeying the last-admin rule: a demotion that
/// would leave no admin is not made (`member.role.kept`). Bots and inactive members keep
/// theirs. Returns the member as they now are.
fn apply(
    store: &Store,
    user: User,
    verdict: RoleVerdict<'_>,
    cause: &Cause,
) -> Result<User, AppError> {
    if verdict.role == user.role || user.kind != UserKind::Human {
        return Ok(user);
    }
    let detail = |extra: Value| {
        let mut d = json!({"from": user.role.as_str(), "to": verdict.role.as_str(),
                           "rule": shown(verdict.rule), "rule_matched": verdict.matched,
                           "cause": cause.detail});
        if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
            d.extend(extra.clone());
        }
        d
    };
    let event = |action: &str, extra: Value| {
        audit::event(
            cause.account,
            cause.actor,
            action,
            Some(user.id.to_string()),
            cause.ip.clone(),
            detail(extra),
            cause.now,
        )
    };
    match members::keep_an_admin(store, &user, verdict.role == Role::Admin) {
        Err(AppError::Conflict(why)) => {
            audit::record(
                store,
                &event(
                    "member.role.kept",
                    json!({"reason": "last_admin", "why": why}),
                ),
            )?;
            Ok(user)
        }
        Err(other) => Err(other),
        Ok(()) => {
            let changed = User {
                role: verdict.role,
                updated_at: cause.now,
                ..user.clone()
            };
            store.update_user(&changed)?;
            audit::record(store, &event("member.role.changed", Value::Null))?;
            webhooks::emit_member(store, "member.updated", &changed, cause.now)?;
            Ok(changed)
        }
    }
}

/// Applies the account's `sso_claim` rules to a member who signed in with `claims`; with
/// no such rule their role stays as the admins set it. Call it in the sign-in's
/// transaction.
pub fn apply_claims(
    store: &Store,
    user: User,
    claims: &Claims,
    cause: &Cause,
) -> Result<User, AppError> {
    let rules = store.role_rules(user.account)?;
    match role_rule::verdict(&rules, RoleSource::SsoClaim, |r| r.matches_claims(claims)) {
        Some(verdict) => apply(store, user, verdict, cause),
        None => Ok(user),
    }
}

/// The account's rules, when one of `names` (a changed group's names before and after)
/// is the group of a `scim_group` rule; `None` when the change can change no role.
pub fn naming_groups(
    store: &Store,
    account: AccountId,
    names: &[&str],
) -> Result<Option<Vec<RoleRule>>, AppError> {
    let rules = store.role_rules(account)?;
    let named = names
        .iter()
        .any(|n| rules.iter().any(|r| r.matches_group(n)));
    Ok(named.then_some(rules))
}

/// Applies the account's `scim_group` rules (as [`naming_groups`] found them) to the
/// members a group change touched; call it in the change's transaction, after the write.
/// Each member's role follows the groups they are in now.
pub fn apply_groups(
    store: &Store,
    rules: &[RoleRule],
    touched: &[UserId],
    cause: &Cause,
) -> Result<(), AppError> {
    let unique: Vec<UserId> = touched
        .iter()
        .copied()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if unique.is_empty() {
        return Ok(());
    }
    let groups: HashMap<UserId, Vec<(GroupId, String)>> =
        store.groups_of_users(cause.account, &unique)?;
    for id in unique {
        let Some(user) = store.user(cause.account, id)? else {
            continue;
        };
        let theirs = groups.get(&id).map(Vec::as_slice).unwrap_or_default();
        let verdict = role_rule::verdict(rules, RoleSource::ScimGroup, |r| {
            theirs.iter().any(|(_, name)| r.matches_group(name))
        });
        if let Some(verdict) = verdict {
            apply(store, user, verdict, cause)?;
        }
    }
    Ok(())
}
