//! SCIM resources ↔ stored members and groups.
//!
//! A member's `userName` is their email, `displayName`, `active` and `externalId` are
//! columns; every other attribute the client sent (name, emails, the enterprise extension,
//! locale…) is kept in `scim_json` as [`portcullis_scim::resource::prepare`] cleaned it, and
//! returned as sent. Members SCIM never described (the bootstrap admin, invited members)
//! get a `name` and `emails` synthesised from their columns, so an IdP's connection test
//! (Okta's SPEC test step 1) finds the attributes it insists on.

use chrono::{DateTime, Utc};
use portcullis_domain::{Email, GroupId, User, UserId};
use portcullis_scim::render::{self, ServerAttribute};
use portcullis_scim::resource::{self, Meta};
use portcullis_scim::schema::{ResourceSchema, GROUP, USER};
use portcullis_scim::ScimError;
use portcullis_store::{ScimGroupRow, ScimUserRow, ScimUserShown};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::Ctx;
use crate::AppError;

/// The weak ETag of a stored version.
pub fn etag(version: i64) -> String {
    portcullis_scim::etag::weak_etag(&version.to_string())
}

fn meta(
    schema: &ResourceSchema,
    base: &str,
    id: &str,
    created: DateTime<Utc>,
    modified: DateTime<Utc>,
    version: i64,
) -> Meta {
    Meta::new(schema, base, id, created, modified, &version.to_string())
}

/// `name` and `emails` for a member SCIM never described: the display name's first word
/// is the given name and the rest the family name (the same word when there is one).
fn synthesize(user: &User) -> Value {
    let full = user.display_name.trim();
    let full = if full.is_empty() {
        user.email.as_str()
    } else {
        full
    };
    let (given, family) = match full.split_once(char::is_whitespace) {
        Some((g, f)) => (g, f.trim()),
        None => (full, full),
    };
    json!({
        "schemas": [USER],
        "name": {"formatted": full, "givenName": given, "familyName": family},
        "emails": [{"value": user.email.as_str(), "type": "work", "primary": true}],
    })
}

fn set_or_remove(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            map.insert(key.to_owned(), v);
        }
        None => {
            map.remove(key);
        }
    }
}

/// The stored part of a member as a SCIM resource, without `id`, `meta` and `groups` (what
/// PATCH applies to).
pub fn user_body(row: &ScimUserRow) -> Value {
    let mut v = row
        .scim_json
        .as_deref()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| synthesize(&row.user));
    if let Value::Object(m) = &mut v {
        m.entry("schemas").or_insert_with(|| json!([USER]));
        m.insert("userName".into(), json!(row.user.email.as_str()));
        let name = Some(row.user.display_name.clone()).filter(|n| !n.is_empty());
        set_or_remove(m, "displayName", name.map(Value::String));
        m.insert("active".into(), json!(row.user.active));
        set_or_remove(
            m,
            "externalId",
            row.user.external_id.clone().map(Value::String),
        );
    }
    v
}

/// A member's `groups`: each group they belong to, directly.
fn group_refs(groups: &[(GroupId, String)], base: &str) -> Vec<Value> {
    groups
        .iter()
        .map(|(gid, name)| {
            json!({"value": gid.to_string(), "display": name,
                   "$ref": format!("{base}/Groups/{gid}"), "type": "direct"})
        })
        .collect()
}

/// A member's `meta`; `id` is the member's id as text.
fn user_meta(row: &ScimUserRow, base: &str, id: &str) -> Meta {
    meta(
        ResourceSchema::user(),
        base,
        id,
        row.user.created_at,
        row.user.updated_at,
        row.version,
    )
}

/// A member as a full SCIM resource, with `id`, `meta` and the groups they belong to.
pub fn user_resource(row: &ScimUserRow, groups: &[(GroupId, String)], base: &str) -> Value {
    let id = row.user.id.to_string();
    let groups = group_refs(groups, base);
    let meta = user_meta(row, base, &id);
    resource::with_server_attributes(user_body(row), &id, &meta, Some(groups))
}

/// The top-level attributes of a member the server answers from the member's columns
/// (or works out), never from `scim_json`.
const COLUMN_ATTRIBUTES: [&str; 7] = [
    "id",
    "meta",
    "groups",
    "userName",
    "displayName",
    "active",
    "externalId",
];

/// The `scim_view` stored with a member's `scim_json`: that text as the default
/// projection shows it, without the [`COLUMN_ATTRIBUTES`] and with `schemas` (the stored
/// one, else the core schema's), written by [`portcullis_scim::render`]. `None` where
/// `render` declines; readers then take the longer way.
pub fn user_view(stored: &str) -> Option<String> {
    let schemas = json!([USER]);
    let mut server = vec![ServerAttribute::default("schemas", &schemas)];
    server.extend(
        COLUMN_ATTRIBUTES
            .iter()
            .map(|name| ServerAttribute::set_or_remove(name, None)),
    );
    render::render(stored, ResourceSchema::user(), &server)
}

/// The attributes of a member answered from columns, in the order [`user_text`] writes
/// them before the stored view.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ColumnAttributes<'a> {
    id: &'a str,
    user_name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    display_name: &'a str,
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    groups: Vec<Value>,
    meta: &'a Meta,
}

/// [`user_resource`] as the JSON text of an answer without `attributes` or
/// `excludedAttributes`. With a stored `scim_view` ([`user_view`]) it is that view with
/// the column attributes written in front of it, nothing parsed; without one it is written
/// from the stored `scim_json` as it is ([`portcullis_scim::render`]) rather than through
/// a parsed [`Value`]. `None` for a member SCIM never described and for a stored text
/// `render` declines; the caller then projects [`user_resource`].
pub fn user_text(row: &ScimUserRow, groups: &[(GroupId, String)], base: &str) -> Option<String> {
    if let Some(text) = row
        .scim_view
        .as_deref()
        .and_then(|view| row_with_columns(view, row, groups, base))
    {
        return Some(text);
    }
    let stored = row.scim_json.as_deref()?;
    let id = row.user.id.to_string();
    let groups = group_refs(groups, base);
    let meta = user_meta(row, base, &id).to_json();
    let schemas = json!([USER]);
    let user_name = json!(row.user.email.as_str());
    let display_name = Some(&row.user.display_name)
        .filter(|n| !n.is_empty())
        .map(|n| json!(n));
    let active = json!(row.user.active);
    let external_id = row.user.external_id.as_deref().map(|e| json!(e));
    let id = Value::String(id);
    let groups = Some(groups).filter(|g| !g.is_empty()).map(Value::Array);
    render::render(
        stored,
        ResourceSchema::user(),
        &[
            ServerAttribute::default("schemas", &schemas),
            ServerAttribute::set("userName", &user_name),
            ServerAttribute::set_or_remove("displayName", display_name.as_ref()),
            ServerAttribute::set("active", &active),
            ServerAttribute::set_or_remove("externalId", external_id.as_ref()),
            ServerAttribute::set("id", &id),
            ServerAttribute::set("meta", &meta),
            ServerAttribute::set_or_remove("groups", groups.as_ref()),
        ],
    )
}

/// [`user_text`] of a member read as [`ScimUserShown`] (with their groups): their stored
/// view with the column attributes written in front of it. `None` when the view is not an object's
/// text; the caller then reads the whole row.
pub fn shown_text(member: &ScimUserShown, base: &str) -> Option<String> {
    with_columns(
        &member.view,
        &MemberColumns {
            id: member.id,
            user_name: &member.user_name,
            display_name: &member.display_name,
            active: member.active,
            external_id: member.external_id.as_deref(),
            created: member.created_at,
            updated: member.updated_at,
            version: member.version,
            groups: &member.groups,
        },
        base,
    )
}

/// The column attributes of `row` followed by the members of its stored view.
fn row_with_columns(
    view: &str,
    row: &ScimUserRow,
    groups: &[(GroupId, String)],
    base: &str,
) -> Option<String> {
    with_columns(
        view,
        &MemberColumns {
            id: row.user.id,
            user_name: row.user.email.as_str(),
            display_name: &row.user.display_name,
            active: row.user.active,
            external_id: row.user.external_id.as_deref(),
            created: row.user.created_at,
            updated: row.user.updated_at,
            version: row.version,
            groups,
        },
        base,
    )
}

/// What a member's answer takes from their columns, however they were read.
struct MemberColumns<'a> {
    id: UserId,
    user_name: &'a str,
    display_name: &'a str,
    active: bool,
    external_id: Option<&'a str>,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    version: i64,
    groups: &'a [(GroupId, String)],
}

/// The column attributes of `member` followed by the members of `view` (a JSON object's
/// text), as one object. `None` when `view` is not an object's text.
fn with_columns(view: &str, member: &MemberColumns<'_>, base: &str) -> Option<String> {
    let members = view.strip_prefix('{')?.strip_suffix('}')?.trim();
    let id = member.id.to_string();
    let meta = meta(
        ResourceSchema::user(),
        base,
        &id,
        member.created,
        member.updated,
        member.version,
    );
    let columns = ColumnAttributes {
        id: &id,
        user_name: member.user_name,
        display_name: member.display_name,
        active: member.active,
        external_id: member.external_id,
        groups: group_refs(member.groups, base),
        meta: &meta,
    };
    let mut text = serde_json::to_string(&columns).ok()?;
    if !members.is_empty() {
        // `columns` always ends with the closing brace of its object.
        text.pop();
        text.push(',');
        text.push_str(members);
        text.push('}');
    }
    Some(text)
}

/// A client's body (create or replace) as a member row. `existing` is the stored member
/// for a replace; without it a new SCIM member is made. `userName` must be an email
/// (`invalidValue` otherwise).
pub fn user_from_input(
    input: &Value,
    existing: Option<&ScimUserRow>,
    ctx: &Ctx,
) -> Result<ScimUserRow, AppError> {
    let mut prepared = resource::prepare(input, ResourceSchema::user()).map_err(AppError::Scim)?;
    resource::strip_server_attributes(&mut prepared);
    let user_name = resource::user_name(&prepared).unwrap_or_default();
    let email = Email::parse(user_name).map_err(|_| {
        AppError::Scim(ScimError::invalid_value(format!(
            "userName must be the member's email address, not {user_name:?}"
        )))
    })?;
    let display_name = resource::display_name(&prepared)
        .unwrap_or_default()
        .trim()
        .to_owned();
    let active = resource::active(&prepared).unwrap_or(true);
    let external_id = resource::external_id(&prepared).map(str::to_owned);
    let scim_json = prepared.to_string();
    let scim_view = user_view(&scim_json);
    let scim_json = Some(scim_json);
    Ok(match existing {
        Some(old) => {
            let mut user = old.user.clone();
            user.email = email;
            user.display_name = display_name;
            user.active = active;
            user.external_id = external_id;
            user.updated_at = ctx.now;
            ScimUserRow {
                user,
                scim_json,
                scim_view,
                version: old.version,
            }
        }
        None => ScimUserRow {
            user: User::from_scim(
                crate::ids::new_user_id(),
                ctx.account,
                email,
                display_name,
                active,
                external_id,
                ctx.now,
            ),
            scim_json,
            scim_view,
            version: 1,
        },
    })
}

/// A group's stored attributes (without members) as a SCIM body.
pub fn group_body(row: &ScimGroupRow) -> Value {
    let mut v = row
        .scim_json
        .as_deref()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"schemas": [GROUP]}));
    if let Value::Object(m) = &mut v {
        m.insert("displayName".into(), json!(row.display_name));
        set_or_remove(m, "externalId", row.external_id.clone().map(Value::String));
        m.remove("members");
    }
    v
}

/// A group as a full SCIM resource; `members` are left out when `None` (not asked for).
pub fn group_resource(
    row: &ScimGroupRow,
    members: Option<&[(UserId, String)]>,
    base: &str,
) -> Value {
    let id = row.id.to_string();
    let mut body = group_body(row);
    if let (Some(members), Value::Object(m)) = (members, &mut body) {
        if !members.is_empty() {
            let list: Vec<Value> = members
                .iter()
                .map(|(uid, name)| {
                    json!({"value": uid.to_string(), "display": name,
                           "$ref": format!("{base}/Users/{uid}"), "type": "User"})
                })
                .collect();
            m.insert("members".into(), Value::Array(list));
        }
    }
    let meta = meta(
        ResourceSchema::group(),
        base,
        &id,
        row.created_at,
        row.updated_at,
        row.version,
    );
    resource::with_server_attributes(body, &id, &meta, None)
}

/// A client's group body as a row and its member ids (`invalidValue` for a member that is
/// not a user id; whether the user exists in the account the store decides).
pub fn group_from_input(
    input: &Value,
    existing: Option<&ScimGroupRow>,
    ctx: &Ctx,
) -> Result<(ScimGroupRow, Vec<UserId>), AppError> {
    let mut prepared = resource::prepare(input, ResourceSchema::group()).map_err(AppError::Scim)?;
    resource::strip_server_attributes(&mut prepared);
    let members = member_ids(&prepared)?;
    let display_name = resource::display_name(&prepared)
        .unwrap_or_default()
        .trim()
        .to_owned();
    if display_name.is_empty() {
        return Err(AppError::Scim(ScimError::invalid_value(
            "a group needs a displayName",
        )));
    }
    let external_id = resource::external_id(&prepared).map(str::to_owned);
    if let Value::Object(m) = &mut prepared {
        m.remove("members");
    }
    let scim_json = Some(prepared.to_string());
    let row = match existing {
        Some(old) => ScimGroupRow {
            display_name,
            external_id,
            scim_json,
            updated_at: ctx.now,
            ..old.clone()
        },
        None => ScimGroupRow {
            id: GroupId::from_uuid(Uuid::new_v4()),
            account: ctx.account,
            display_name,
            external_id,
            scim_json,
            version: 1,
            created_at: ctx.now,
            updated_at: ctx.now,
        },
    };
    Ok((row, members))
}

/// The member ids of a group body, deduplicated in order.
pub fn member_ids(body: &Value) -> Result<Vec<UserId>, AppError> {
    let mut out: Vec<UserId> = Vec::new();
    for m in resource::members(body) {
        let id: UserId = m.value.trim().parse().map_err(|_| {
            AppError::Scim(ScimError::invalid_value(format!(
                "member {:?} is not a user of this account; nothing was changed",
                m.value
            )))
        })?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Leniency: a PATCH value for a whole extension (`path` is the extension's URN) may carry
/// the `schemas` key a client's model serialises with it (scim2-tester does); it names no
/// attribute, so it is dropped before the operations are applied.
pub fn normalize_patch(
    request: &mut portcullis_scim::patch::PatchRequest,
    schema: &ResourceSchema,
) {
    for op in &mut request.operations {
        let whole_extension = op
            .path
            .as_deref()
            .is_some_and(|p| schema.extension(p.trim()).is_some());
        if let (true, Some(Value::Object(m))) = (whole_extension, op.value.as_mut()) {
            m.retain(|k, _| !k.eq_ignore_ascii_case("schemas"));
        }
    }
}

#[cfg(test)]
mod tests {
    use portcullis_domain::{AccountId, ApiKeyId};
    use portcullis_scim::projection::project_owned;

    use super::*;

    const BASE: &str = "https://portcullis.example/scim/v2";

    fn ctx() -> Ctx {
        Ctx {
            account: AccountId::from_uuid(Uuid::new_v4()),
            key: ApiKeyId::from_uuid(Uuid::new_v4()),
            ip: "192.0.2.1".parse().unwrap(),
            base: BASE.into(),
            provision_only_verified_domains: false,
            now: Utc::now(),
        }
    }

    /// What an answer without `attributes` was before `user_text`: the projected resource.
    fn projected(row: &ScimUserRow, groups: &[(GroupId, String)]) -> String {
        let resource = user_resource(row, groups, BASE);
        serde_json::to_string(&project_owned(resource, ResourceSchema::user(), &[], &[])).unwrap()
    }

    #[test]
    fn stored_members_are_written_as_their_projected_resource() {
        // What Okta and Entra ID create with (../shared/IDP-BEHAVIOUR.md), the least, and
        // column attributes that are empty rather than absent.
        let bodies = [
            json!({"schemas": [USER], "userName": "isaac.brock@example.com",
                   "name": {"givenName": "Isaac", "familyName": "Brock"},
                   "emails": [{"primary": true, "value": "isaac.brock@example.com", "type": "work"}],
                   "displayName": "Isaac Brock", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
                   "groups": [], "password": "1mz050nq", "active": true}),
            json!({"schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                   "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                   "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@contoso.com",
                   "active": "True", "displayName": "BobIsAmazing",
                   "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
                   "meta": {"resourceType": "User"},
                   "name": {"formatted": "Ryan Leenay", "familyName": "Leenay", "givenName": "Ryan"},
                   "title": "Manager",
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                       "department": "Tour Operations", "employeeNumber": "701984",
                       "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}}),
            json!({"userName": "least@example.com"}),
            json!({"userName": "empty@example.com", "displayName": "", "externalId": "",
                   "nickName": "\"quoted\" \u{e9}", "addresses": [], "title": null}),
        ];
        let groups = [
            (GroupId::from_uuid(Uuid::new_v4()), "Engineering".to_owned()),
            (GroupId::from_uuid(Uuid::new_v4()), "On \"call\"".to_owned()),
        ];
        for body in bodies {
            let row = user_from_input(&body, None, &ctx()).unwrap();
            let view: Value = serde_json::from_str(row.scim_view.as_deref().unwrap()).unwrap();
            for name in COLUMN_ATTRIBUTES {
                assert!(view.get(name).is_none(), "{name} in the view of {body}");
            }
            let mut rendered = row.clone();
            rendered.scim_view = None;
            for groups in [&groups[..0], &groups[..]] {
                // From the view: the projected resource, its keys in another order.
                let text = user_text(&row, groups, BASE).unwrap();
                let expected = projected(&row, groups);
                assert_eq!(
                    serde_json::from_str::<Value>(&text).unwrap(),
                    serde_json::from_str::<Value>(&expected).unwrap(),
                    "{body}"
                );
                // Read as `ScimUserShown`: the same text.
                let shown = ScimUserShown {
                    id: row.user.id,
                    user_name: row.user.email.as_str().to_owned(),
                    display_name: row.user.display_name.clone(),
                    active: row.user.active,
                    external_id: row.user.external_id.clone(),
                    view: row.scim_view.clone().unwrap(),
                    version: row.version,
                    created_at: row.user.created_at,
                    updated_at: row.user.updated_at,
                    groups: groups.to_vec(),
                };
                assert_eq!(shown_text(&shown, BASE), Some(text.clone()), "{body}");
                // From `scim_json` alone: the projected resource byte for byte.
                assert_eq!(user_text(&rendered, groups, BASE), Some(expected), "{body}");
            }
        }
    }

    #[test]
    fn the_view_follows_the_columns_and_its_own_stored_text() {
        let mut row = user_from_input(
            &json!({"userName": "a@example.com", "title": "Engineer"}),
            None,
            &ctx(),
        )
        .unwrap();
        // Columns changed outside SCIM (a dashboard rename, a deactivation) show at once.
        row.user.display_name = "Renamed".into();
        row.user.active = false;
        let shown: Value = serde_json::from_str(&user_text(&row, &[], BASE).unwrap()).unwrap();
        assert_eq!(
            (&shown["displayName"], &shown["active"], &shown["title"]),
            (&json!("Renamed"), &json!(false), &json!("Engineer"))
        );
        // A view that is not an object's text is not trusted: `scim_json` is rendered.
        row.scim_view = Some("[1]".into());
        let shown: Value = serde_json::from_str(&user_text(&row, &[], BASE).unwrap()).unwrap();
        assert_eq!(shown["title"], "Engineer");
        // A view with nothing of its own still makes one object.
        row.scim_view = Some("{}".into());
        let shown: Value = serde_json::from_str(&user_text(&row, &[], BASE).unwrap()).unwrap();
        assert_eq!(shown["userName"], "a@example.com");
        assert!(shown.get("title").is_none());
    }

    #[test]
    fn members_scim_never_described_take_the_long_way() {
        let mut row = user_from_input(&json!({"userName": "a@example.com"}), None, &ctx()).unwrap();
        row.scim_json = None;
        row.scim_view = None;
        assert_eq!(user_text(&row, &[], BASE), None);
        // A stored text that `render` declines (a server attribute in another case) has
        // no view either.
        let stored = r#"{"USERNAME":"old@example.com"}"#;
        assert_eq!(user_view(stored), None);
        row.scim_json = Some(stored.into());
        assert_eq!(user_text(&row, &[], BASE), None);
    }
}
