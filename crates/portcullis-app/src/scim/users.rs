//! The user operations, synchronous over the store so that both the HTTP handlers and
//! Bulk run them. A PUT or PATCH is worked out first and written after, only over the
//! member it was worked out from ([`prepare_patch`], [`commit`]); the HTTP handlers run
//! the two steps through [`Exec::read_then_write`] ([`patch_via`], [`replace_via`]); a
//! change overtaken there is worked out again and written in one step ([`Exec::write`]).
//! Every change is one store transaction that writes the change and its audit event
//! together (all or nothing).

use std::sync::Arc;

use portcullis_domain::{AuditEvent, EmailDomain, GroupId, UserId};
use portcullis_scim::etag::{self, Precondition};
use portcullis_scim::patch::{self, PatchLimits, PatchRequest};
use portcullis_scim::resource;
use portcullis_scim::schema::ResourceSchema;
use portcullis_store::{KnownKey, ScimUserRow, ScimUserShown, ScimUserWithGroups, Store};
use serde_json::{json, Value};

use super::mapping::{normalize_patch, user_body, user_from_input, user_resource};
use super::{check_domain, not_found, store_error, Ctx};
use crate::{audit, invitations, members, webhooks, AppError, Exec};

/// How often a PUT or PATCH without `If-Match` (of a member or a group) is worked out and
/// written, when another write won the race between its read and its write.
const CHANGE_ATTEMPTS: usize = 3;

/// `412` unless `if_match` (when sent) names `version`.
pub fn check_if_match(if_match: Option<&str>, version: i64) -> Result<(), AppError> {
    match etag::evaluate(if_match, None, Some(&version.to_string()), false) {
        Precondition::Proceed | Precondition::NotModified => Ok(()),
        Precondition::Failed => Err(AppError::PreconditionFailed(format!(
            "the resource is at version W/\"{version}\", not the one If-Match names"
        ))),
    }
}

/// A member's id as a path names it; 404 when it is not one.
fn member_id(id: &str) -> Result<UserId, AppError> {
    id.trim().parse().map_err(|_| not_found("user", id))
}

/// The member `id` of the caller's account (bots and other accounts' users are 404).
pub fn load(store: &Store, ctx: &Ctx, id: &str) -> Result<ScimUserRow, AppError> {
    store
        .scim_user(ctx.account, member_id(id)?)
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

/// The member `id` of the caller's account with their groups (id and display name, by
/// display name), read in one statement; 404 as [`load`].
pub fn load_with_groups(
    store: &Store,
    ctx: &Ctx,
    id: &str,
) -> Result<ScimUserWithGroups, AppError> {
    store
        .scim_user_with_groups(ctx.account, member_id(id)?)
        .map_err(store_error)?
        .ok_or_else(|| not_found("user", id))
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
        let stored = store
            .insert_scim_user(&row, Some(&event))
            .map_err(store_error)?;
        webhooks::emit_member_written(store, "member.created", &stored, ctx.now)
    })?;
    let resource = user_resource(&row, &[], &ctx.base);
    Ok((row, resource))
}

/// A change to a member, worked out before it is written: the member as read, as the
/// change leaves them, their groups as read with them, and the change's audit event and
/// webhook event type. Working it out reads and computes but writes nothing; [`commit`]
/// writes it only if the member is still as read.
pub struct Change {
    old: ScimUserRow,
    new: ScimUserRow,
    groups: Vec<(GroupId, String)>,
    event: AuditEvent,
    kind: &'static str,
}

impl Change {
    fn new(ctx: &Ctx, old: ScimUserRow, new: ScimUserRow, groups: Vec<(GroupId, String)>) -> Self {
        let (action, kind) = match (old.user.active, new.user.active) {
            (true, false) => ("scim.user.deactivated", "member.deactivated"),
            (false, true) => ("scim.user.reactivated", "member.reactivated"),
            _ => ("scim.user.updated", "member.updated"),
        };
        let detail = json!({"changed": changed(&user_body(&old), &user_body(&new))});
        let event = event(ctx, action, &new, detail);
        Change {
            old,
            new,
            groups,
            event,
            kind,
        }
    }
}

/// A member as a change left them, with their groups: what the answer shows.
pub struct Written {
    /// The member, at their new version.
    pub row: ScimUserRow,
    /// Their groups (id and display name).
    pub groups: Vec<(GroupId, String)>,
}

impl Written {
    /// The member as a SCIM resource under `base`.
    pub fn resource(&self, base: &str) -> Value {
        user_resource(&self.row, &self.groups, base)
    }
}

/// Writes a [`Change`] with its audit event, if the member's version is still the one
/// read (else `PreconditionFailed`). A userName on another domain obeys the account's
/// domain rule. A deactivation, in the same transaction as the write, obeys the
/// last-admin rule and revokes the member's pending invitations.
///
/// A change to the member's groups, or to one of their names, moves the member's version
/// (`etags.rs`): when the write succeeds, the groups read with the member are still
/// theirs, and the answer shows them without reading them again.
pub fn commit(store: &Store, ctx: &Ctx, change: Change) -> Result<Written, AppError> {
    let Change {
        old,
        new,
        groups,
        event,
        kind,
    } = change;
    if ctx.provision_only_verified_domains
        && EmailDomain::of(&new.user.email) != EmailDomain::of(&old.user.email)
    {
        check_domain(store, ctx, &new.user.email)?;
    }
    let row = store.transaction(|store| {
        let deactivating = old.user.active && !new.user.active;
        if deactivating {
            members::keep_an_admin(store, &old.user, false)?;
        }
        let mut new = new;
        new.version = store
            .replace_scim_user(&new, &old, Some(&event))
            .map_err(store_error)?;
        if deactivating {
            invitations::revoke_made_by(store, ctx.account, old.user.id, ctx.now)?;
        }
        webhooks::emit_member_written(store, kind, &new.user, ctx.now)?;
        Ok::<_, AppError>(new)
    })?;
    Ok(Written { row, groups })
}

/// The member `id` with their groups ([`load_with_groups`]), after `If-Match`.
fn read_for_change(
    store: &Store,
    ctx: &Ctx,
    id: &str,
    if_match: Option<&str>,
) -> Result<ScimUserWithGroups, AppError> {
    let (old, groups) = load_with_groups(store, ctx, id)?;
    check_if_match(if_match, old.version)?;
    Ok((old, groups))
}

/// `PUT /Users/{id}` worked out: the member's attributes replaced by the body (Okta
/// echoes `id`, `meta` and `groups`; they are ignored).
pub fn prepare_replace(
    store: &Store,
    ctx: &Ctx,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Change, AppError> {
    let (old, groups) = read_for_change(store, ctx, id, if_match)?;
    let new = user_from_input(body, Some(&old), ctx)?;
    Ok(Change::new(ctx, old, new, groups))
}

/// A `PATCH /Users/{id}` body as operations, normalized for the user schema.
pub fn patch_request(body: &Value) -> Result<PatchRequest, AppError> {
    let mut request = PatchRequest::from_json(body).map_err(AppError::Scim)?;
    normalize_patch(&mut request, ResourceSchema::user());
    Ok(request)
}

/// `PATCH /Users/{id}` worked out: the operations applied to a copy of the member;
/// nothing is applied when any operation fails.
pub fn prepare_patch(
    store: &Store,
    ctx: &Ctx,
    id: &str,
    request: &PatchRequest,
    if_match: Option<&str>,
) -> Result<Change, AppError> {
    let schema = ResourceSchema::user();
    let (old, groups) = read_for_change(store, ctx, id, if_match)?;
    let current = user_resource(&old, &groups, &ctx.base);
    let mut patched =
        patch::apply(&current, request, schema, &PatchLimits::default()).map_err(AppError::Scim)?;
    resource::strip_server_attributes(&mut patched);
    let new = user_from_input(&patched, Some(&old), ctx)?;
    Ok(Change::new(ctx, old, new, groups))
}

/// Whether a change whose write found the member (or group) changed since it was read
/// should be worked out again: only without `If-Match` (which names the version the
/// caller saw), and at most [`CHANGE_ATTEMPTS`] times in all.
fn try_again<T>(result: &Result<T, AppError>, if_match: Option<&str>, attempt: usize) -> bool {
    matches!(result, Err(AppError::PreconditionFailed(_)))
        && if_match.is_none()
        && attempt < CHANGE_ATTEMPTS
}

/// Runs `once` (work a change out and write it), again while [`try_again`] says so; the
/// answer of its last run.
pub(super) fn retried<T>(
    if_match: Option<&str>,
    mut once: impl FnMut() -> Result<T, AppError>,
) -> Result<T, AppError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = once();
        if !try_again(&result, if_match, attempt) {
            return result;
        }
    }
}

/// Works a change out and commits it on one store, again while [`try_again`] says so.
fn change(
    store: &Store,
    ctx: &Ctx,
    if_match: Option<&str>,
    prepare: impl Fn(&Store) -> Result<Change, AppError>,
) -> Result<Written, AppError> {
    retried(if_match, || {
        prepare(store).and_then(|change| commit(store, ctx, change))
    })
}

/// Works a change out and commits it through `exec` ([`Exec::read_then_write`]: where
/// writes queue for one writer, the reading and computing run before, off it), again
/// while [`try_again`] says so.
///
/// Once overtaken, the change is worked out again where it is written ([`Exec::write`]):
/// off the writer it would read what the last commit holds, and the writes queued or
/// being committed meanwhile (one to the same member in the batch that refused it, say)
/// would refuse it again, however often it tried; on SQLite's writer nothing can come
/// between its read and its write.
async fn change_via<P>(
    exec: &impl Exec,
    ctx: Ctx,
    if_match: Option<String>,
    prepare: P,
) -> Result<Written, AppError>
where
    P: Fn(&Store, &Ctx, Option<&str>) -> Result<Change, AppError> + Send + Sync + 'static,
{
    let (ctx, prepare) = (Arc::new(ctx), Arc::new(prepare));
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (read_ctx, write_ctx) = (Arc::clone(&ctx), Arc::clone(&ctx));
        let (prepare, read_if_match) = (Arc::clone(&prepare), if_match.clone());
        let read = move |store: &Store| prepare(store, &read_ctx, read_if_match.as_deref());
        let write = move |store: &Store, change| commit(store, &write_ctx, change);
        let result = if attempt == 1 {
            exec.read_then_write(read, write).await
        } else {
            exec.write(move |store| write(store, read(store)?)).await
        };
        if !try_again(&result, if_match.as_deref(), attempt) {
            return result;
        }
    }
}

/// [`replace`] through `exec` (the HTTP route).
pub async fn replace_via(
    exec: &impl Exec,
    ctx: Ctx,
    id: String,
    body: Value,
    if_match: Option<String>,
) -> Result<Written, AppError> {
    change_via(exec, ctx, if_match, move |store, ctx, if_match| {
        prepare_replace(store, ctx, &id, &body, if_match)
    })
    .await
}

/// [`patch`] through `exec` (the HTTP route).
pub async fn patch_via(
    exec: &impl Exec,
    ctx: Ctx,
    id: String,
    body: &Value,
    if_match: Option<String>,
) -> Result<Written, AppError> {
    let request = patch_request(body)?;
    change_via(exec, ctx, if_match, move |store, ctx, if_match| {
        prepare_patch(store, ctx, &id, &request, if_match)
    })
    .await
}

/// `PUT /Users/{id}` on one store (Bulk): replaces the member's attributes with the body.
/// `active: false` ends their sessions in the same transaction.
pub fn replace(
    store: &Store,
    ctx: &Ctx,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Written, AppError> {
    change(store, ctx, if_match, |store| {
        prepare_replace(store, ctx, id, body, if_match)
    })
}

/// `PATCH /Users/{id}` on one store (Bulk): applies the operations to a copy and writes
/// it only if the member did not change meanwhile.
pub fn patch(
    store: &Store,
    ctx: &Ctx,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Written, AppError> {
    let request = patch_request(body)?;
    change(store, ctx, if_match, |store| {
        prepare_patch(store, ctx, id, &request, if_match)
    })
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
