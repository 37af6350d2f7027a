//! Writing a stored resource as a response without parsing it into a [`Value`] tree.
//!
//! A server that keeps each resource's client-sent attributes as JSON text answers most
//! reads with that text plus a few attributes of its own (`id`, `meta`, `userName`…) and
//! no `attributes`/`excludedAttributes`. [`render`] writes that answer from the stored
//! text, copying each stored attribute's JSON as it is, and gives the same JSON as
//! parsing the text, setting the server's attributes and projecting the result with
//! [`crate::projection::project_owned`] without a selection — which allocates every value
//! of the resource twice. When the stored text holds anything whose default projection
//! is not a plain copy or a plain omission, [`render`] declines and the caller takes
//! that longer way.
//!
//! ```
//! use portcullis_scim::render::{render, ServerAttribute};
//! use portcullis_scim::schema::ResourceSchema;
//! use serde_json::json;
//!
//! let stored = r#"{"name":{"givenName":"B"},"userName":"old@x"}"#;
//! let id = json!("42");
//! let user_name = json!("b@x");
//! let text = render(stored, ResourceSchema::user(), &[
//!     ServerAttribute::set("id", &id),
//!     ServerAttribute::set("userName", &user_name),
//! ]).unwrap();
//! assert_eq!(text, r#"{"id":"42","name":{"givenName":"B"},"userName":"b@x"}"#);
//! ```

use std::collections::BTreeMap;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::json::is_unassigned;
use crate::schema::{Attribute, ResourceSchema, Returned, Schema};

/// A top-level attribute the server sets on a stored resource before answering.
#[derive(Debug, Clone, Copy)]
pub struct ServerAttribute<'a> {
    /// The attribute's name, spelled as the answer spells it.
    pub name: &'a str,
    /// Its value; `None` removes a stored value of that name.
    pub value: Option<&'a Value>,
    /// Whether a stored value of that name wins over `value` (a default, such as
    /// `schemas`).
    pub default_only: bool,
}

impl<'a> ServerAttribute<'a> {
    /// `name` is `value`, whatever was stored.
    pub fn set(name: &'a str, value: &'a Value) -> Self {
        Self {
            name,
            value: Some(value),
            default_only: false,
        }
    }

    /// `name` is `value` when given, else absent, whatever was stored.
    pub fn set_or_remove(name: &'a str, value: Option<&'a Value>) -> Self {
        Self {
            name,
            value,
            default_only: false,
        }
    }

    /// `name` is `value` unless a value was stored.
    pub fn default(name: &'a str, value: &'a Value) -> Self {
        Self {
            name,
            value: Some(value),
            default_only: true,
        }
    }
}

/// One attribute of the answer: stored text copied as it is, or a server value.
enum Shown<'a> {
    Stored(&'a RawValue),
    Server(&'a Value),
}

impl Serialize for Shown<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Shown::Stored(raw) => raw.serialize(serializer),
            Shown::Server(value) => value.serialize(serializer),
        }
    }
}

/// The JSON text of the stored resource `stored` (a JSON object) with the `server`
/// attributes set, as the default projection of `schema` returns it: attributes
/// `returned: never` or `request` left out, unassigned values left out (except
/// `returned: always` ones), everything else as stored.
///
/// The keys come out in the order a [`serde_json::Map`] keeps, so the text is the very
/// text the [`Value`] way writes for a stored text that serde_json wrote. `None` — take
/// the [`Value`] way — when `stored` is not an object of unescaped keys, spells a server
/// attribute in another case, holds an attribute whose sub-attributes the default
/// projection would filter, or holds an extension object with anything but attributes
/// of that extension, each assigned and returned by default.
pub fn render(
    stored: &str,
    schema: &ResourceSchema,
    server: &[ServerAttribute<'_>],
) -> Option<String> {
    let stored: BTreeMap<&str, &RawValue> = serde_json::from_str(stored).ok()?;
    let mut out: BTreeMap<&str, Shown<'_>> = BTreeMap::new();
    for (&key, &raw) in &stored {
        if let Some(s) = server.iter().find(|s| s.name.eq_ignore_ascii_case(key)) {
            if s.name != key {
                return None;
            }
            if !s.default_only {
                continue;
            }
        }
        if stored_shown(schema, key, raw)? {
            out.insert(key, Shown::Stored(raw));
        }
    }
    for s in server {
        let Some(value) = s.value else { continue };
        if s.default_only && stored.contains_key(s.name) {
            continue;
        }
        if server_shown(schema, s.name, value)? {
            out.insert(s.name, Shown::Server(value));
        }
    }
    serde_json::to_string(&out).ok()
}

/// Whether the default projection keeps a stored top-level attribute whole (`true`) or
/// leaves it out (`false`); `None` when it would change it.
fn stored_shown(schema: &ResourceSchema, key: &str, raw: &RawValue) -> Option<bool> {
    if key.eq_ignore_ascii_case("schemas") {
        return Some(true);
    }
    if let Some(ext) = schema.extension(key) {
        return extension_shown(ext, raw);
    }
    match schema.core_attribute(key) {
        Some(attr) => shown(attr, || assigned(raw)),
        // Attributes no schema describes are returned as they are.
        None => Some(true),
    }
}

/// [`stored_shown`] for a value of the server's.
fn server_shown(schema: &ResourceSchema, key: &str, value: &Value) -> Option<bool> {
    if key.eq_ignore_ascii_case("schemas") {
        return Some(true);
    }
    if schema.extension(key).is_some() {
        return None;
    }
    match schema.core_attribute(key) {
        Some(attr) => shown(attr, || Some(!is_unassigned(value))),
        None => Some(true),
    }
}

/// The default projection of one attribute's value: `returned: always` kept as it is,
/// `never` and `request` left out, `default` kept when assigned — unless some of its
/// sub-attributes are hidden by default (`None`: it would be rewritten).
fn shown(attr: &Attribute, assigned: impl FnOnce() -> Option<bool>) -> Option<bool> {
    match attr.returned {
        Returned::Always => Some(true),
        Returned::Never | Returned::Request => Some(false),
        Returned::Default => {
            let hides_subs = attr
                .sub_attributes
                .iter()
                .any(|s| matches!(s.returned, Returned::Never | Returned::Request));
            if hides_subs {
                None
            } else {
                assigned()
            }
        }
    }
}

/// An extension object is copied whole when every member is an attribute of the
/// extension that the default projection keeps whole; left out when empty.
fn extension_shown(ext: &Schema, raw: &RawValue) -> Option<bool> {
    let inner: BTreeMap<&str, &RawValue> = serde_json::from_str(raw.get()).ok()?;
    if inner.is_empty() {
        return Some(false);
    }
    for (key, value) in inner {
        let attr = ext.attribute(key)?;
        if !shown(attr, || assigned(value))? {
            return None;
        }
    }
    Some(true)
}

/// Whether a stored value is assigned (RFC 7643 §2.5: not null, not an empty string,
/// not made only of such values), read without building it.
fn assigned(raw: &RawValue) -> Option<bool> {
    serde_json::from_str::<Assigned>(raw.get())
        .ok()
        .map(|a| a.0)
}

/// Deserialises any JSON value into whether it holds an assigned value.
struct Assigned(bool);

impl<'de> de::Deserialize<'de> for Assigned {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AssignedVisitor)
    }
}

struct AssignedVisitor;

impl<'de> Visitor<'de> for AssignedVisitor {
    type Value = Assigned;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Assigned, E> {
        Ok(Assigned(true))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Assigned, E> {
        Ok(Assigned(true))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Assigned, E> {
        Ok(Assigned(true))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Assigned, E> {
        Ok(Assigned(true))
    }
    fn visit_str<E>(self, s: &str) -> Result<Assigned, E> {
        Ok(Assigned(!s.is_empty()))
    }
    fn visit_unit<E>(self) -> Result<Assigned, E> {
        Ok(Assigned(false))
    }
    fn visit_none<E>(self) -> Result<Assigned, E> {
        Ok(Assigned(false))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Assigned, A::Error> {
        let mut any = false;
        while let Some(Assigned(a)) = seq.next_element()? {
            any |= a;
        }
        Ok(Assigned(any))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Assigned, A::Error> {
        let mut any = false;
        while let Some((IgnoredAny, Assigned(a))) = map.next_entry()? {
            any |= a;
        }
        Ok(Assigned(any))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map};

    use super::*;
    use crate::projection::project_owned;
    use crate::schema::{ENTERPRISE_USER, USER};

    /// What the `Value` way answers: parse, set the server's attributes, project.
    fn the_long_way(stored: &str, server: &[ServerAttribute<'_>]) -> Option<String> {
        let Value::Object(mut map) = serde_json::from_str::<Value>(stored).ok()? else {
            return None;
        };
        for s in server {
            match (s.value, s.default_only) {
                (Some(v), true) => {
                    map.entry(s.name).or_insert_with(|| v.clone());
                }
                (Some(v), false) => {
                    map.insert(s.name.to_owned(), v.clone());
                }
                (None, _) => {
                    map.remove(s.name);
                }
            }
        }
        let shown = project_owned(Value::Object(map), ResourceSchema::user(), &[], &[]);
        Some(serde_json::to_string(&shown).unwrap())
    }

    fn server_values() -> Map<String, Value> {
        json!({
            "schemas": [USER],
            "id": "2eb86726-2008-4194-857b-d33a81c67212",
            "userName": "b@example.com",
            "displayName": "Barbara Jensen",
            "active": false,
            "externalId": "",
            "meta": {"resourceType": "User", "created": "2026-11-24T03:46:30.423Z",
                     "lastModified": "2026-11-24T03:46:30.423Z",
                     "location": "https://h/scim/v2/Users/2eb8", "version": "W/\"3\""},
            "groups": [{"value": "g1", "display": "Ops", "$ref": "https://h/scim/v2/Groups/g1",
                        "type": "direct"}],
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn server<'a>(
        values: &'a Map<String, Value>,
        without: Option<&'a str>,
    ) -> Vec<ServerAttribute<'a>> {
        values
            .iter()
            .map(|(k, v)| match k.as_str() {
                "schemas" => ServerAttribute::default(k, v),
                _ if Some(k.as_str()) == without => ServerAttribute::set_or_remove(k, None),
                _ => ServerAttribute::set(k, v),
            })
            .collect()
    }

    /// Stored texts as serde_json writes them (keys sorted, no spaces), which `render`
    /// must answer exactly as the long way does.
    fn rendered_stored() -> Vec<Value> {
        vec![
            json!({}),
            json!({"name": {"givenName": "Barbara", "familyName": "Jensen"},
                   "emails": [{"value": "b@example.com", "type": "work", "primary": true}]}),
            json!({"schemas": [USER, ENTERPRISE_USER], "userName": "stale@example.com",
                   "displayName": "Old", "active": true, "id": "forged", "meta": {"version": "x"},
                   ENTERPRISE_USER: {"employeeNumber": "701984", "department": "Tour",
                                     "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}}),
            // Unknown attributes are returned as they are; unassigned ones too.
            json!({"x-custom": {"deep": [1, 2.5, null]}, "nothing": null}),
            // The password is never returned; empty values of default attributes are not.
            json!({"password": "t1meMa$heen", "title": "", "nickName": null, "locale": "da-DK",
                   "phoneNumbers": [], "addresses": [{"formatted": ""}],
                   "emails": [{"value": "b@example.com"}, null]}),
            // An escaped character inside a value is copied as it is.
            json!({"nickName": "Bab\"s \u{e9}\u{1F600}\n", "timezone": "Europe/Copenhagen"}),
        ]
    }

    #[test]
    fn writes_what_the_long_way_writes() {
        let values = server_values();
        for without in [None, Some("displayName"), Some("groups")] {
            let server = server(&values, without);
            for stored in rendered_stored() {
                let text = serde_json::to_string(&stored).unwrap();
                let fast = render(&text, ResourceSchema::user(), &server);
                assert_eq!(
                    fast,
                    the_long_way(&text, &server),
                    "{text} without {without:?}"
                );
                assert!(fast.is_some(), "{text} should take the short way");
            }
        }
    }

    #[test]
    fn declines_what_it_would_get_wrong() {
        let values = server_values();
        let server = server(&values, None);
        let declined = [
            // Not an object.
            "[1]",
            "\"text\"",
            // A key with an escape in it.
            r#"{"nick\u004eame":"B"}"#,
            // A server attribute spelled in another case: the long way replaces it.
            r#"{"USERNAME":"b@example.com"}"#,
            r#"{"Schemas":["x"]}"#,
            // An extension the projection would filter: unknown, unassigned, not an object.
            r#"{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"unknown":"1"}}"#,
            r#"{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":""}}"#,
            r#"{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":"x"}"#,
        ];
        for stored in declined {
            assert_eq!(
                render(stored, ResourceSchema::user(), &server),
                None,
                "{stored}"
            );
        }
    }

    #[test]
    fn an_empty_extension_is_left_out_as_the_long_way_leaves_it() {
        let values = server_values();
        let server = server(&values, None);
        let stored = format!(r#"{{"{ENTERPRISE_USER}":{{}}}}"#);
        let fast = render(&stored, ResourceSchema::user(), &server).unwrap();
        assert!(!fast.contains("enterprise"), "{fast}");
        assert_eq!(Some(fast), the_long_way(&stored, &server));
    }

    #[test]
    fn unassigned_values_are_found_at_any_depth() {
        let raw = |s: &str| RawValue::from_string(s.to_owned()).unwrap();
        for (text, expected) in [
            ("null", false),
            ("\"\"", false),
            ("[]", false),
            ("{}", false),
            ("[null,\"\",{\"a\":[]}]", false),
            ("0", true),
            ("false", true),
            ("\" \"", true),
            ("[null,{\"a\":[\"x\"]}]", true),
            ("\"\\u0000\"", true),
        ] {
            assert_eq!(assigned(&raw(text)), Some(expected), "{text}");
        }
    }
}
