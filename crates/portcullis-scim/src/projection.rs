//! Choosing what to return (RFC 7644 §3.4.2.5, RFC 7643 §7 `returned`).
//!
//! ```
//! use portcullis_scim::path::AttrPath;
//! use portcullis_scim::projection::project;
//! use portcullis_scim::schema::ResourceSchema;
//! use serde_json::json;
//!
//! let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1",
//!                   "userName": "b", "password": "secret",
//!                   "name": {"givenName": "B", "familyName": "J"},
//!                   "emails": [{"value": "b@x", "type": "work"}]});
//! let attrs = [AttrPath::parse("name.givenName").unwrap(), AttrPath::parse("emails.value").unwrap()];
//! let out = project(&user, ResourceSchema::user(), &attrs, &[]);
//! assert_eq!(out, json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1",
//!                        "name": {"givenName": "B"}, "emails": [{"value": "b@x"}]}));
//! // Without a selection everything but the password comes back.
//! let out = project(&user, ResourceSchema::user(), &[], &[]);
//! assert!(out.get("password").is_none() && out.get("emails").is_some());
//! ```

use serde_json::{Map, Value};

use crate::path::AttrPath;
use crate::schema::{same_urn, Attribute, ResourceSchema, Returned};

/// One `attributes` or `excludedAttributes` entry, resolved.
struct Selector {
    /// The extension URN, or `None` for the core schema.
    ext: Option<String>,
    /// The attribute, or `None` when the whole extension is named.
    attr: Option<String>,
    sub: Option<String>,
}

fn selectors(paths: &[AttrPath], schema: &ResourceSchema) -> Vec<Selector> {
    paths
        .iter()
        .filter_map(|p| {
            if let Some(ext) = schema.whole_extension(p) {
                return Some(Selector {
                    ext: Some(ext.id.clone()),
                    attr: None,
                    sub: None,
                });
            }
            let r = schema.resolve(p)?;
            Some(Selector {
                ext: r.extension.map(|e| e.id.clone()),
                attr: Some(r.attr.name.clone()),
                sub: r.sub.map(|s| s.name.clone()),
            })
        })
        .collect()
}

/// What the selectors say about one attribute.
enum Pick {
    None,
    Whole,
    Subs(Vec<String>),
}

fn pick(selectors: &[Selector], ext: Option<&str>, attr: &str) -> Pick {
    let mut subs = Vec::new();
    for s in selectors {
        let same_ext = match (&s.ext, ext) {
            (None, None) => true,
            (Some(a), Some(b)) => same_urn(a, b),
            _ => false,
        };
        if !same_ext {
            continue;
        }
        match (&s.attr, &s.sub) {
            (None, _) => return Pick::Whole,
            (Some(a), None) if a.eq_ignore_ascii_case(attr) => return Pick::Whole,
            (Some(a), Some(sub)) if a.eq_ignore_ascii_case(attr) => subs.push(sub.clone()),
            _ => {}
        }
    }
    if subs.is_empty() {
        Pick::None
    } else {
        Pick::Subs(subs)
    }
}

/// Keeps (`keep = true`) or drops the named sub-attributes of a complex value.
fn filter_subs(value: Value, subs: &[String], keep: bool) -> Value {
    let one = |v: Value| match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| subs.iter().any(|s| s.eq_ignore_ascii_case(k)) == keep)
                .collect(),
        ),
        other => other,
    };
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(one).collect()),
        other => one(other),
    }
}

/// Drops sub-attributes that are never returned, or returned only on request and not asked.
fn returned_subs(value: Value, attr: &Attribute, asked: &Pick) -> Value {
    let hidden: Vec<String> = attr
        .sub_attributes
        .iter()
        .filter(|s| match s.returned {
            Returned::Never => true,
            Returned::Request => !matches!(asked, Pick::Subs(subs) if subs.iter().any(|x| x.eq_ignore_ascii_case(&s.name))),
            _ => false,
        })
        .map(|s| s.name.clone())
        .collect();
    if hidden.is_empty() {
        value
    } else {
        filter_subs(value, &hidden, false)
    }
}

fn decide(
    attr: &Attribute,
    ext: Option<&str>,
    value: Value,
    wanted: &[Selector],
    excluded: &[Selector],
) -> Option<Value> {
    match attr.returned {
        Returned::Never => return None,
        Returned::Always => return Some(value),
        _ => {}
    }
    let asked = pick(wanted, ext, &attr.name);
    let mut out = match (&asked, wanted.is_empty()) {
        (Pick::Whole, _) => value,
        (Pick::Subs(subs), _) => filter_subs(value, subs, true),
        (Pick::None, true) if attr.returned == Returned::Default => value,
        (Pick::None, _) => return None,
    };
    match pick(excluded, ext, &attr.name) {
        Pick::Whole => return None,
        Pick::Subs(subs) => out = filter_subs(out, &subs, false),
        Pick::None => {}
    }
    let out = returned_subs(out, attr, &asked);
    (!crate::json::is_unassigned(&out)).then_some(out)
}

/// Projects a stored resource for a response: `id` and `schemas` always, `password` never,
/// `returned: request` attributes only when named in `attributes`; when `attributes` is not
/// empty only the named attributes (plus the always-returned ones); minus
/// `excludedAttributes`. Paths may name sub-attributes (`name.givenName`, `emails.value`),
/// carry a schema URN, or name a whole extension by its URN. Attributes the schema does not
/// know are returned only when no `attributes` are asked for.
pub fn project(
    resource: &Value,
    schema: &ResourceSchema,
    attributes: &[AttrPath],
    excluded_attributes: &[AttrPath],
) -> Value {
    project_owned(resource.clone(), schema, attributes, excluded_attributes)
}

/// [`project`] of a resource the caller no longer needs: its values are moved into the
/// projection rather than copied (a response built for one request).
pub fn project_owned(
    resource: Value,
    schema: &ResourceSchema,
    attributes: &[AttrPath],
    excluded_attributes: &[AttrPath],
) -> Value {
    let Value::Object(map) = resource else {
        return resource;
    };
    let wanted = selectors(attributes, schema);
    let excluded = selectors(excluded_attributes, schema);
    let mut out = Map::new();
    for (key, value) in map {
        if key.eq_ignore_ascii_case("schemas") {
            out.insert(key, value);
        } else if let Some(ext) = schema.extension(&key) {
            let Value::Object(inner) = value else {
                continue;
            };
            let projected: Map<String, Value> = inner
                .into_iter()
                .filter_map(|(k, v)| {
                    let attr = ext.attribute(&k)?;
                    let v = decide(attr, Some(&ext.id), v, &wanted, &excluded)?;
                    Some((k, v))
                })
                .collect();
            if !projected.is_empty() {
                out.insert(key, Value::Object(projected));
            }
        } else if let Some(attr) = schema.core_attribute(&key) {
            if let Some(v) = decide(attr, None, value, &wanted, &excluded) {
                out.insert(key, v);
            }
        } else if wanted.is_empty()
            && !excluded_attributes
                .iter()
                .any(|p| p.urn.is_none() && p.sub.is_none() && p.name.eq_ignore_ascii_case(&key))
        {
            out.insert(key, value);
        }
    }
    Value::Object(out)
}
