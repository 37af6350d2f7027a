//! The user operations, synchronous over the store so that both the HTTP handlers (on the
//! blocking pool) and Bulk run them. Every change is one store transaction that writes
//! the change and its audit event together (all or nothing).

use portcullis_domain::{AuditEvent, EmailDomain, GroupId, UserId};
use portcullis_scim::etag::{self, Precondition};
use portcullis_scim::patch::{self, PatchLimits, PatchRequest};
use portcullis_scim::resource;
use portcullis_scim::schema::ResourceSchema;
use portcullis_store::{KnownKey, ScimUserRow, ScimUserShown, Store, StoreError};
use serde_json::{json, Value};

use super::mapping::{normalize_patch, user_body, user_from_input, user_resource};
use super::{check_domain, not_found, store_error, Ctx};
use crate::{audit, invitations, members, webhooks, AppError};

/// How often a PATCH without `If-Match` re-reads and retries when another write won the
/// race between its read and its write.
const PATCH_ATTEMPTS: usize = 3;

/// `412` unless `if_match` (when sent) names `version`.
pub fn check_if_match(if_match: Option<&str>, version: i64) -> Result<(), AppError> {
    match etag::evaluate(if_match, None, Some(&version.to_string()), false) {
        Precondition::Proceed | Precondition::NotModified => Ok(()),
        Precondition::Failed => Err(AppError::PreconditionFailed(format!(
            "the resource is at version W/\"{version}\", not the one If-Match names"
        ))),
    }
}

/// The member `id` of the caller's account (bots and other accounts' users are 404).
pub fn load(store: &Store, ctx: &Ctx, id: &str) -> Result<ScimUserRow, AppError> {
    let uid: UserId = id.trim().parse().map_err(|_| not_found("user", id))?;
    store
        .scim_user(ctx.account, uid)
        .map_err(store_error)?
        .ok_or_else(|| not_found("user", id))
}

/// The member `id` of the caller's account as [`ScimUserShown`], read by a key kept in
/// memory ([`KnownKey::scim_user_shown`]); `None` also for members without a stored view,
/// which [`load`] reads whole, and for ids [`load`] refuses.
pub fn load_shown(
    known: &KnownKey<'_>,
    ctx: &Ctx,
    id: &str,
) -> Result<Option<ScimUserShown>, AppError> {
    let Ok(uid) = id.trim().parse::<UserId>() else {
        return Ok(None);
    };
    known.scim_user_shown(ctx.account, uid).map_err(store_error)
}

/// The groups a member belongs to (id and display name).
pub fn groups_of(
    store: &Store,
    ctx: &Ctx,
    row: &ScimUserRow,
) -> Result<Vec<(GroupId, String)>, AppError> {
    store
        .groups_of_user(ctx.account, row.user.id)
        .map_err(store_error)
}

/// A member with their groups as a resource.
pub fn resource_of(store: &Store, ctx: &Ctx, row: &ScimUserRow) -> Result<Value, AppError> {
    Ok(user_resource(row, &groups_of(store, ctx, row)?, &ctx.base))
}

/// Top-level attributes whose value differs between two bodies (for the audit log).
fn changed(old: &Value, new: &Value) -> Vec<String> {
    let (Some(a), Some(b)) = (old.as_object(), new.as_object()) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| *k != "schemas" && a.get(*k) != b.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The audit event of a change to `row`, written by the store in the change's own
/// transaction (a change is never made without its event, nor recorded without it).
fn event(ctx: &Ctx, action: &str, row: &ScimUserRow, detail: Value) -> AuditEvent {
    audit::event(
        ctx.account,
        ctx.actor(),
        action,
        Some(row.user.id.to_string()),
        Some(ctx.ip.to_string()),
        json!({"userName": row.user.email.as_str(), "detail": detail}),
        ctx.now,
    )
}

/// `POST /Users`: creates a SCIM member. A taken userName is 409 `uniqueness` (the
/// database decides, also for two concurrent creates).
pub fn create(store: &Store, ctx: &Ctx, body: &Value) -> Result<(ScimUserRow, Value), AppError> {
    let row = user_from_input(body, None, ctx)?;
    check_domain(store, ctx, &row.user.email)?;
    let event = event(
        ctx,
        "scim.user.created",
        &row,
        json!({"active": row.user.active}),
    );
    store.transaction(|store| {
        store
            .insert_scim_user(&row, Some(&event))
            .map_err(store_error)?;
        webhooks::emit_member(store, "member.created", &row.user, ctx.now)
    })?;
    let resource = user_resource(&row, &[], &ctx.base);
    Ok((row, resource))
}

/// Writes `new` over `old` with its audit event. A userName on another domain obeys the
/// account's domain rule. A deactivation, in the same transaction as the write, obeys the
/// last-admin rule and revokes the member's pending invitations.
fn write(
    store: &Store,
    ctx: &Ctx,
    old: &ScimUserRow,
    new: ScimUserRow,
) -> Result<ScimUserRow, AppError> {
    if ctx.provision_only_verified_domains
        && EmailDomain::of(&new.user.email) != EmailDomain::of(&old.user.email)
    {
        check_domain(store, ctx, &new.user.email)?;
    }
    let kind = match (old.user.active, new.user.active) {
        (true, false) => "member.deactivated",
        (false, true) => "member.reactivated",
        _ => "member.updated",
    };
    store.transaction(|store| {
        let deactivating = old.user.active && !new.user.active;
        if deactivating {
            members::keep_an_admin(store, &old.user, false)?;
        }
        let new = write_row(store, ctx, old, new).map_err(store_error)?;
        if deactivating {
            invitations::revoke_made_by(store, ctx.account, old.user.id, ctx.now)?;
        }
        webhooks::emit_member(store, kind, &new.user, ctx.now)?;
        Ok(new)
    })
}

fn write_row(
    store: &Store,
    ctx: &Ctx,
    old: &ScimUserRow,
    mut new: ScimUserRow,
) -> Result<ScimUserRow, StoreError> {
    let action = match (old.user.active, new.user.active) {
        (true, false) => "scim.user.deactivated",
        (false, true) => "scim.user.reactivated",
        _ => "scim.user.updated",
    };
    let event = event(
        ctx,
        action,
        &new,
        json!({"changed": changed(&user_body(old), &user_body(&new))}),
    );
    new.version = store.replace_scim_user(&new, old, Some(&event))?;
    Ok(new)
}

/// `PUT /Users/{id}`: replaces the member's attributes with the body (Okta echoes `id`,
/// `meta` and `groups`; they are ignored). `active: false` ends their sessions in the
/// same transaction.
pub fn replace(
    store: &Store,
    ctx: &Ctx,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<(ScimUserRow, Value), AppError> {
    let old = load(store, ctx, id)?;
    check_if_match(if_match, old.version)?;
    let new = user_from_input(body, Some(&old), ctx)?;
    let new = write(store, ctx, &old, new)?;
    let resource = resource_of(store, ctx, &new)?;
    Ok((new, resource))
}

/// `PATCH /Users/{id}`: applies the operations to a copy and writes it only if the
/// member did not change meanwhile; nothing is applied when any operation fails.
pub fn patch(
    store: &Store,
    ctx: &Ctx,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<(ScimUserRow, Value), AppError> {
    let mut request = PatchRequest::from_json(body).map_err(AppError::Scim)?;
    let schema = ResourceSchema::user();
    normalize_patch(&mut request, schema);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let old = load(store, ctx, id)?;
        check_if_match(if_match, old.version)?;
        // A change to the member's groups, or to one of their names, moves the member's
        // version (`etags.rs`), and the write below is refused when the version moved:
        // when it succeeds, these are still the member's groups, and the answer shows
        // them without reading them again.
        let groups = groups_of(store, ctx, &old)?;
        let current = user_resource(&old, &groups, &ctx.base);
        let mut patched = patch::apply(&current, &request, schema, &PatchLimits::default())
            .map_err(AppError::Scim)?;
        resource::strip_server_attributes(&mut patched);
        let new = user_from_input(&patched, Some(&old), ctx)?;
        match write(store, ctx, &old, new) {
            Ok(new) => {
                let resource = user_resource(&new, &groups, &ctx.base);
                return Ok((new, resource));
            }
            Err(AppError::PreconditionFailed(_))
                if if_match.is_none() && attempt < PATCH_ATTEMPTS => {}
            Err(e) => return Err(e),
        }
    }
}

/// `DELETE /Users/{id}`: removes the member from the account with their sessions, keys
/// and memberships; later reads are 404.
pub fn delete(store: &Store, ctx: &Ctx, id: &str, if_match: Option<&str>) -> Result<(), AppError> {
    let old = load(store, ctx, id)?;
    check_if_match(if_match, old.version)?;
    let event = event(ctx, "scim.user.deleted", &old, Value::Null);
    store.transaction(|store| {
        members::keep_an_admin(store, &old.user, false)?;
        invitations::revoke_made_by(store, ctx.account, old.user.id, ctx.now)?;
        if !store
            .delete_user(ctx.account, old.user.id, ctx.now, Some(&event))
            .map_err(store_error)?
        {
            return Err(not_found("user", id));
        }
        webhooks::emit_member(store, "member.deleted", &old.user, ctx.now)
    })
}
