//! The group operations, synchronous over the store (for the handlers and Bulk). Members
//! must be users of the same account: an unknown one is 400 `invalidValue` and nothing is
//! applied (the store checks inside the write transaction).

use portcullis_domain::{AuditEvent, GroupId, UserId};
use portcullis_scim::patch::{self, PatchLimits, PatchRequest};
use portcullis_scim::resource;
use portcullis_scim::schema::ResourceSchema;
use portcullis_store::{MemberChange, ScimGroupRow, Store, StoreError};
use serde_json::{json, Value};

use super::mapping::{group_from_input, group_resource};
use super::users::{check_if_match, retried};
use super::{not_found, store_error, Ctx};
use crate::{audit, role_rules, webhooks, AppError};

/// The group `id` of the caller's account (other accounts' groups are 404).
pub fn load(store: &Store, ctx: &Ctx, id: &str) -> Result<ScimGroupRow, AppError> {
    let gid: GroupId = id.trim().parse().map_err(|_| not_found("group", id))?;
    store
        .scim_group(ctx.account, gid)
        .map_err(store_error)?
        .ok_or_else(|| not_found("group", id))
}

/// A group as a resource, with its members when `with_members`.
pub fn resource_of(
    store: &Store,
    ctx: &Ctx,
    row: &ScimGroupRow,
    with_members: bool,
) -> Result<Value, AppError> {
    if !with_members {
        return Ok(group_resource(row, None, &ctx.base));
    }
    let members = store
        .members_of_group(ctx.account, row.id)
        .map_err(store_error)?;
    Ok(group_resource(row, Some(&members), &ctx.base))
}

/// The audit event of a change to `row`, written by the store in the change's own
/// transaction.
fn event(ctx: &Ctx, action: &str, row: &ScimGroupRow, detail: Value) -> AuditEvent {
    audit::event(
        ctx.account,
        ctx.actor(),
        action,
        Some(row.id.to_string()),
        Some(ctx.ip.to_string()),
        json!({"displayName": row.display_name, "detail": detail}),
        ctx.now,
    )
}

fn ids(members: &[UserId]) -> Vec<String> {
    members.iter().map(ToString::to_string).collect()
}

/// A group as events show it.
fn group_data(row: &ScimGroupRow, members: &[UserId]) -> Value {
    json!({"id": row.id.to_string(), "display_name": row.display_name,
           "external_id": row.external_id, "members": ids(members)})
}

/// Why the roles a group change makes change (the group and the key).
fn cause(ctx: &Ctx, row: &ScimGroupRow) -> role_rules::Cause {
    role_rules::Cause {
        account: ctx.account,
        actor: ctx.actor(),
        ip: Some(ctx.ip.to_string()),
        detail: json!({"scim_group": row.id.to_string(), "displayName": row.display_name}),
        now: ctx.now,
    }
}

/// `POST /Groups`; its members take the role a rule gives the group, in the same
/// transaction.
pub fn create(store: &Store, ctx: &Ctx, body: &Value) -> Result<ScimGroupRow, AppError> {
    let (row, members) = group_from_input(body, None, ctx)?;
    let event = event(
        ctx,
        "scim.group.created",
        &row,
        json!({"members": ids(&members)}),
    );
    store.transaction(|store| {
        store
            .insert_scim_group(&row, &members, Some(&event))
            .map_err(store_error)?;
        if let Some(rules) = role_rules::naming_groups(store, ctx.account, &[&row.display_name])? {
            role_rules::apply_groups(store, &rules, &members, &cause(ctx, &row))?;
        }
        webhooks::emit(
            store,
            ctx.account,
            "group.created",
            &group_data(&row, &members),
            ctx.now,
        )?;
        Ok(row)
    })
}

/// Writes `new` over `old` with `members`, and, when a role rule names the group (before
/// or after), gives the members who joined or left (all of them, when it was renamed) the
/// role their groups now give; one transaction.
fn write(
    store: &Store,
    ctx: &Ctx,
    old: &ScimGroupRow,
    new: ScimGroupRow,
    members: &[UserId],
) -> Result<ScimGroupRow, AppError> {
    store.transaction(|store| {
        let names = [old.display_name.as_str(), new.display_name.as_str()];
        let rules = role_rules::naming_groups(store, ctx.account, &names)?;
        let (new, mut touched) = write_row(store, ctx, old, new, members).map_err(store_error)?;
        if let Some(rules) = rules {
            if old.display_name != new.display_name {
                touched.extend_from_slice(members);
            }
            role_rules::apply_groups(store, &rules, &touched, &cause(ctx, &new))?;
        }
        webhooks::emit(
            store,
            ctx.account,
            "group.updated",
            &group_data(&new, members),
            ctx.now,
        )?;
        Ok(new)
    })
}

/// The write itself; returns the group and the members who joined or left (with every
/// member before, when it was renamed).
fn write_row(
    store: &Store,
    ctx: &Ctx,
    old: &ScimGroupRow,
    mut new: ScimGroupRow,
    members: &[UserId],
) -> Result<(ScimGroupRow, Vec<UserId>), StoreError> {
    let before: Vec<UserId> = store
        .members_of_group(ctx.account, old.id)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let added: Vec<UserId> = members
        .iter()
        .filter(|m| !before.contains(m))
        .copied()
        .collect();
    let removed: Vec<UserId> = before
        .iter()
        .filter(|m| !members.contains(m))
        .copied()
        .collect();
    let event = event(
        ctx,
        "scim.group.updated",
        &new,
        json!({"renamed": old.display_name != new.display_name,
               "membersAdded": ids(&added), "membersRemoved": ids(&removed)}),
    );
    new.version = store.replace_scim_group(
        &new,
        MemberChange::Set(members),
        Some(old.version),
        Some(&event),
    )?;
    let touched = if old.display_name != new.display_name {
        before
    } else {
        added.into_iter().chain(removed).collect()
    };
    Ok((new, touched))
}

/// `PUT /Groups/{id}`: the body's members become the group's members.
pub fn replace(
    store: &Store,
    ctx: &Ctx,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<ScimGroupRow, AppError> {
    let old = load(store, ctx, id)?;
    check_if_match(if_match, old.version)?;
    let (new, members) = group_from_input(body, Some(&old), ctx)?;
    write(store, ctx, &old, new, &members)
}

/// `PATCH /Groups/{id}`: applied to a copy (members included) and written only if the
/// group did not change meanwhile; all or nothing.
pub fn patch(
    store: &Store,
    ctx: &Ctx,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<ScimGroupRow, AppError> {
    let request = PatchRequest::from_json(body).map_err(AppError::Scim)?;
    let schema = ResourceSchema::group();
    retried(if_match, || {
        let old = load(store, ctx, id)?;
        check_if_match(if_match, old.version)?;
        let current = resource_of(store, ctx, &old, true)?;
        let mut patched = patch::apply(&current, &request, schema, &PatchLimits::default())
            .map_err(AppError::Scim)?;
        resource::strip_server_attributes(&mut patched);
        let (new, members) = group_from_input(&patched, Some(&old), ctx)?;
        write(store, ctx, &old, new, &members)
    })
}

/// `DELETE /Groups/{id}`; when a role rule names the group, its members take the role
/// their other groups give, in the same transaction.
pub fn delete(store: &Store, ctx: &Ctx, id: &str, if_match: Option<&str>) -> Result<(), AppError> {
    let old = load(store, ctx, id)?;
    check_if_match(if_match, old.version)?;
    let event = event(ctx, "scim.group.deleted", &old, Value::Null);
    store.transaction(|store| {
        let rules = role_rules::naming_groups(store, ctx.account, &[&old.display_name])?;
        let members: Vec<UserId> = match rules {
            Some(_) => store
                .members_of_group(ctx.account, old.id)?
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
            None => Vec::new(),
        };
        if !store
            .delete_scim_group(ctx.account, old.id, ctx.now, Some(&event))
            .map_err(store_error)?
        {
            return Err(not_found("group", id));
        }
        if let Some(rules) = rules {
            role_rules::apply_groups(store, &rules, &members, &cause(ctx, &old))?;
        }
        webhooks::emit(
            store,
            ctx.account,
            "group.deleted",
            &group_data(&old, &[]),
            ctx.now,
        )
    })
}
