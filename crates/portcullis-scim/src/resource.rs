//! Resources as JSON: preparing a client's body for create or replace, reading the
//! attributes a server indexes, and adding the server's own `id` and `meta`.
//!
//! ```
//! use portcullis_scim::resource::{prepare, user_name, active};
//! use portcullis_scim::schema::ResourceSchema;
//! use serde_json::json;
//!
//! // Part of what Entra ID sends on create.
//! let body = json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
//!                 "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
//!     "userName": "a@example.com", "active": "True",
//!     "meta": {"resourceType": "User"}, "roles": [], "title": null,
//! });
//! let user = prepare(&body, ResourceSchema::user())?;
//! assert_eq!(user, json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!                         "userName": "a@example.com", "active": true}));
//! assert_eq!(user_name(&user), Some("a@example.com"));
//! assert_eq!(active(&user), Some(true));
//! # Ok::<(), portcullis_scim::ScimError>(())
//! ```

use chrono::{DateTime, SecondsFormat, Utc};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::{Map, Value};

use crate::coerce::{coerce, lenient_bool};
use crate::error::ScimError;
use crate::etag::weak_etag;
use crate::json::{field, get_ci, is_unassigned, set_ci, urn_key};
use crate::path::AttrPath;
use crate::schema::{Attribute, Mutability, ResourceSchema, Schema};

/// Cleans a client's body for create (POST) or replace (PUT):
/// - read-only attributes (`id`, `meta`, `groups`, `manager.displayName`…) are dropped, not
///   refused, as RFC 7644 §3.3 allows and Okta's PUT (which echoes them) needs;
/// - `password` is dropped: read it from the raw body with [`password`] if you support it;
/// - unassigned values (`null`, `""`, `[]`) are removed;
/// - values are coerced to their schema type (string booleans such as `"True"` accepted);
/// - attribute names take the schema's spelling; unknown top-level attributes and unknown
///   schema URNs (Entra ID's group schema) are dropped, unknown sub-attributes kept;
/// - extension objects are recognised even under Entra ID's misspelled URN, and keys
///   qualified with a schema URN are accepted;
/// - `schemas` is rebuilt from the core schema and the extensions present.
///
/// Errors: `invalidSyntax` if the body is not an object, `invalidValue` for a missing required
/// attribute (`userName`, `displayName` for groups), a value of the wrong type or more
/// than one primary element in a multi-valued attribute (RFC 7643 §2.4).
pub fn prepare(input: &Value, schema: &ResourceSchema) -> Result<Value, ScimError> {
    let Value::Object(body) = input else {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    };
    let mut out = Map::new();
    for (key, value) in body {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            if let Value::Object(inner) = value {
                for (k, v) in inner {
                    if let Some(attr) = ext.attribute(k) {
                        put_input(&mut out, Some(ext), attr, v)?;
                    }
                }
            }
            continue;
        }
        let Some(resolved) = AttrPath::parse(key)
            .ok()
            .filter(|p| p.sub.is_none())
            .and_then(|p| schema.resolve(&p))
        else {
            continue;
        };
        put_input(&mut out, resolved.extension, resolved.attr, value)?;
    }
    check_required(&out, schema)?;
    check_primaries(&out, schema, None)?;
    sync_schemas(&mut out, schema);
    Ok(Value::Object(out))
}

fn put_input(
    out: &mut Map<String, Value>,
    ext: Option<&Schema>,
    attr: &Attribute,
    value: &Value,
) -> Result<(), ScimError> {
    if matches!(
        attr.mutability,
        Mutability::ReadOnly | Mutability::WriteOnly
    ) {
        return Ok(());
    }
    let Some(v) = coerce(value, attr)? else {
        return Ok(());
    };
    let container = match ext {
        None => out,
        Some(ext) => {
            let slot = out
                .entry(ext.id.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            match slot {
                Value::Object(m) => m,
                _ => return Ok(()),
            }
        }
    };
    set_ci(container, &attr.name, v);
    Ok(())
}

/// The `password` a client sent, if any (it is write-only, and [`prepare`] drops it).
pub fn password(input: &Value) -> Option<&str> {
    field(input, "password")?.as_str()
}

/// Checks that every required attribute is assigned (`invalidValue` otherwise).
pub(crate) fn check_required(
    map: &Map<String, Value>,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let core = schema.core.attributes.iter().map(|a| (a, Some(map)));
    let ext = schema.extensions.iter().flat_map(|e| {
        let obj = urn_key(map, &e.id)
            .and_then(|k| map.get(k))
            .and_then(Value::as_object);
        e.attributes.iter().map(move |a| (a, obj))
    });
    for (attr, container) in core.chain(ext) {
        let present = container
            .and_then(|c| get_ci(c, &attr.name))
            .is_some_and(|v| !is_unassigned(v));
        if attr.required && !present {
            return Err(ScimError::invalid_value(format!(
                "`{}` is required",
                attr.name
            )));
        }
    }
    Ok(())
}

/// How many elements of a multi-valued value are marked primary.
pub(crate) fn primaries(value: &Value) -> usize {
    value.as_array().map_or(0, |items| {
        items
            .iter()
            .filter(|i| field(i, "primary") == Some(&Value::Bool(true)))
            .count()
    })
}

/// RFC 7643 §2.4: at most one element of a multi-valued attribute is primary
/// (`invalidValue` otherwise), for every such attribute of the core schema and the
/// extensions. With `before` (the resource a PATCH started from), only attributes whose
/// value the request changed are checked, so a change elsewhere is not refused for what
/// was stored before the rule.
pub(crate) fn check_primaries(
    map: &Map<String, Value>,
    schema: &ResourceSchema,
    before: Option<&Map<String, Value>>,
) -> Result<(), ScimError> {
    fn object<'m>(
        m: &'m Map<String, Value>,
        ext: Option<&Schema>,
    ) -> Option<&'m Map<String, Value>> {
        match ext {
            None => Some(m),
            Some(e) => urn_key(m, &e.id)
                .and_then(|k| m.get(k))
                .and_then(Value::as_object),
        }
    }
    let schemas =
        std::iter::once((None, &schema.core)).chain(schema.extensions.iter().map(|e| (Some(e), e)));
    for (ext, s) in schemas {
        let Some(now) = object(map, ext) else {
            continue;
        };
        let then = before.and_then(|b| object(b, ext));
        for attr in s
            .attributes
            .iter()
            .filter(|a| a.multi_valued && a.sub_attribute("primary").is_some())
        {
            let Some(value) = get_ci(now, &attr.name) else {
                continue;
            };
            let unchanged =
                before.is_some() && then.and_then(|t| get_ci(t, &attr.name)) == Some(value);
            if !unchanged && primaries(value) > 1 {
                return Err(ScimError::invalid_value(format!(
                    "at most one element of `{}` may be primary (RFC 7643 §2.4)",
                    attr.name
                )));
            }
        }
    }
    Ok(())
}

/// Rewrites `schemas` as the core schema followed by the extensions the resource carries,
/// and drops extension objects that are empty.
pub(crate) fn sync_schemas(map: &mut Map<String, Value>, schema: &ResourceSchema) {
    let mut schemas = vec![Value::String(schema.core.id.clone())];
    for ext in &schema.extensions {
        if let Some(key) = urn_key(map, &ext.id).cloned() {
            let value = map.remove(&key).unwrap_or(Value::Null);
            if !is_unassigned(&value) {
                map.insert(ext.id.clone(), value);
                schemas.push(Value::String(ext.id.clone()));
            }
        }
    }
    map.insert("schemas".to_owned(), Value::Array(schemas));
}

/// Checks a replace (PUT) against the stored resource: an immutable attribute that is set
/// may not change (`mutability`).
pub fn check_replace(
    existing: &Value,
    replacement: &Value,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let all = schema.core.attributes.iter().map(|a| (None, a)).chain(
        schema
            .extensions
            .iter()
            .flat_map(|e| e.attributes.iter().map(move |a| (Some(e), a))),
    );
    for (ext, attr) in all {
        if attr.mutability != Mutability::Immutable {
            continue;
        }
        let get = |r: &Value| -> Option<Value> {
            let c = match ext {
                None => r,
                Some(e) => r.as_object().and_then(|m| m.get(urn_key(m, &e.id)?))?,
            };
            field(c, &attr.name).filter(|v| !is_unassigned(v)).cloned()
        };
        if let Some(old) = get(existing) {
            if get(replacement) != Some(old) {
                return Err(ScimError::mutability(format!(
                    "`{}` is immutable and already set",
                    attr.name
                )));
            }
        }
    }
    Ok(())
}

/// The server-maintained part of a resource (RFC 7643 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// The resource type name, e.g. `User`.
    pub resource_type: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it last changed.
    pub last_modified: DateTime<Utc>,
    /// Its URL, e.g. `https://host/scim/v2/Users/42`.
    pub location: String,
    /// Its version; rendered as a weak ETag.
    pub version: String,
}

impl Meta {
    /// The meta of resource `id` of `schema`'s type under `base_url` (e.g.
    /// `https://host/scim/v2`, with or without a trailing slash).
    pub fn new(
        schema: &ResourceSchema,
        base_url: &str,
        id: &str,
        created: DateTime<Utc>,
        last_modified: DateTime<Utc>,
        version: &str,
    ) -> Self {
        Meta {
            resource_type: schema.resource_type.name.clone(),
            created,
            last_modified,
            location: format!(
                "{}{}/{id}",
                base_url.trim_end_matches('/'),
                schema.resource_type.endpoint
            ),
            version: version.to_owned(),
        }
    }

    /// The `meta` object.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "resourceType": self.resource_type,
            "created": meta_time(&self.created),
            "lastModified": meta_time(&self.last_modified),
            "location": self.location,
            "version": weak_etag(&self.version),
        })
    }
}

/// A time in `meta`: RFC 3339 in UTC, to the millisecond.
fn meta_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The `meta` object as [`Meta::to_json`] has it, written without building a [`Value`].
impl Serialize for Meta {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_struct("Meta", 5)?;
        m.serialize_field("resourceType", &self.resource_type)?;
        m.serialize_field("created", &meta_time(&self.created))?;
        m.serialize_field("lastModified", &meta_time(&self.last_modified))?;
        m.serialize_field("location", &self.location)?;
        m.serialize_field("version", &weak_etag(&self.version))?;
        m.end()
    }
}

/// Sets the server's `id` and `meta` on a prepared resource (and `groups`, for users, when
/// given), replacing whatever was there.
pub fn with_server_attributes(
    mut resource: Value,
    id: &str,
    meta: &Meta,
    groups: Option<Vec<Value>>,
) -> Value {
    if let Value::Object(m) = &mut resource {
        set_ci(m, "id", Value::String(id.to_owned()));
        set_ci(m, "meta", meta.to_json());
        if let Some(groups) = groups {
            if groups.is_empty() {
                crate::json::remove_ci(m, "groups");
            } else {
                set_ci(m, "groups", Value::Array(groups));
            }
        }
    }
    resource
}

/// Removes the server-maintained attributes (`id`, `meta`, `groups`), e.g. before storing a
/// patched resource whose `id` and `meta` live in their own columns.
pub fn strip_server_attributes(resource: &mut Value) {
    if let Value::Object(m) = resource {
        for name in ["id", "meta", "groups"] {
            crate::json::remove_ci(m, name);
        }
    }
}

fn str_field<'a>(resource: &'a Value, name: &str) -> Option<&'a str> {
    field(resource, name)?.as_str()
}

/// `id`.
pub fn id(resource: &Value) -> Option<&str> {
    str_field(resource, "id")
}
/// `userName`.
pub fn user_name(resource: &Value) -> Option<&str> {
    str_field(resource, "userName")
}
/// `externalId`.
pub fn external_id(resource: &Value) -> Option<&str> {
    str_field(resource, "externalId")
}
/// `displayName`.
pub fn display_name(resource: &Value) -> Option<&str> {
    str_field(resource, "displayName")
}
/// `active`, read leniently (`"False"` is false).
pub fn active(resource: &Value) -> Option<bool> {
    field(resource, "active").and_then(lenient_bool)
}

/// One element of a multi-valued attribute such as `emails` or `members`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiValue<'a> {
    /// `value`.
    pub value: &'a str,
    /// `type`.
    pub kind: Option<&'a str>,
    /// `display`.
    pub display: Option<&'a str>,
    /// `primary`.
    pub primary: bool,
}

fn multi<'a>(resource: &'a Value, name: &str) -> Vec<MultiValue<'a>> {
    let Some(Value::Array(items)) = field(resource, name) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            Some(MultiValue {
                value: str_field(item, "value")?,
                kind: str_field(item, "type"),
                display: str_field(item, "display"),
                primary: field(item, "primary").and_then(lenient_bool) == Some(true),
            })
        })
        .collect()
}

/// `emails`.
pub fn emails(resource: &Value) -> Vec<MultiValue<'_>> {
    multi(resource, "emails")
}
/// The email of type `work`, else the primary one, else the first.
pub fn work_email(resource: &Value) -> Option<&str> {
    let all = emails(resource);
    all.iter()
        .find(|e| e.kind.is_some_and(|k| k.eq_ignore_ascii_case("work")))
        .or_else(|| all.iter().find(|e| e.primary))
        .or_else(|| all.first())
        .map(|e| e.value)
}
/// `members` of a group.
pub fn members(resource: &Value) -> Vec<MultiValue<'_>> {
    multi(resource, "members")
}
/// The Enterprise User extension's `manager.value`.
pub fn manager_id(resource: &Value) -> Option<&str> {
    let m = resource.as_object()?;
    let ext = m.get(urn_key(m, crate::schema::ENTERPRISE_USER)?)?;
    str_field(field(ext, "manager")?, "value")
}
