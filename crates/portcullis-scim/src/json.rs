//! Small helpers over `serde_json` objects: case-insensitive keys (SCIM attribute names are
//! case-insensitive) and "is this value unassigned" (RFC 7643 §2.5).

use serde_json::{Map, Value};

use crate::schema::{same_urn, Resolved, ResourceSchema};

/// The key of `map` equal to `name` ignoring ASCII case.
pub(crate) fn key_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a String> {
    if map.contains_key(name) {
        return map.get_key_value(name).map(|(k, _)| k);
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(name))
}

/// `map[name]`, ignoring ASCII case.
pub(crate) fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    key_ci(map, name).and_then(|k| map.get(k))
}

/// `value[name]` if `value` is an object, ignoring ASCII case.
pub(crate) fn field<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    value.as_object().and_then(|m| get_ci(m, name))
}

/// Removes `map[name]` ignoring ASCII case, returning it.
pub(crate) fn remove_ci(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let key = key_ci(map, name)?.clone();
    map.remove(&key)
}

/// Sets `map[name]`, replacing any key equal to it ignoring ASCII case, so the canonical
/// spelling `name` wins.
pub(crate) fn set_ci(map: &mut Map<String, Value>, name: &str, value: Value) {
    remove_ci(map, name);
    map.insert(name.to_owned(), value);
}

/// The key of the extension object with URN `urn` (see [`same_urn`]).
pub(crate) fn urn_key<'a>(map: &'a Map<String, Value>, urn: &str) -> Option<&'a String> {
    map.keys().find(|k| same_urn(k, urn))
}

/// Whether a value is unassigned: null, an empty string, an empty array or an object with
/// no assigned members.
pub(crate) fn is_unassigned(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.iter().all(is_unassigned),
        Value::Object(o) => o.values().all(is_unassigned),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// The object holding a resolved attribute: the resource itself, or its extension object.
pub(crate) fn container<'a>(resource: &'a Value, resolved: &Resolved<'_>) -> Option<&'a Value> {
    match resolved.extension {
        None => Some(resource),
        Some(ext) => {
            let map = resource.as_object()?;
            map.get(urn_key(map, &ext.id)?)
        }
    }
}

/// The value of a resolved top-level attribute in `resource`.
pub(crate) fn attribute_value<'a>(
    resource: &'a Value,
    resolved: &Resolved<'_>,
) -> Option<&'a Value> {
    field(container(resource, resolved)?, &resolved.attr.name)
}

/// Looks up a path the schema does not know, by name alone (so filters on unknown
/// attributes can still be evaluated against what is stored).
pub(crate) fn raw_value<'a>(
    resource: &'a Value,
    schema: &ResourceSchema,
    urn: Option<&str>,
    name: &str,
) -> Option<&'a Value> {
    let map = resource.as_object()?;
    match urn {
        Some(u) if !schema.is_core(u) => field(map.get(urn_key(map, u)?)?, name),
        _ => get_ci(map, name),
    }
}
