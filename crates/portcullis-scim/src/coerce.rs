//! Turning a client's JSON value for an attribute into the stored form the schema asks for.
//!
//! Unassigned values (null, `""`, `[]`, objects with nothing assigned) become `None`: RFC
//! 7643 §2.5 treats them as "no value", and Entra ID sends `""` and `null` to clear.
//! Leniencies, each because an IdP needs it:
//! - booleans sent as strings, `"True"`/`"false"` in any case (Entra ID);
//! - a single-valued attribute sent as a one-element array (Entra ID's `manager`);
//! - a complex attribute with a `value` sub-attribute sent as a bare string (a manager id);
//! - numbers and booleans for string attributes are kept as their text;
//! - numeric strings for integer and decimal attributes.
//!
//! Read-only sub-attributes in input are dropped, unknown sub-attributes kept, and attribute
//! names take the schema's spelling.

use chrono::DateTime;
use serde_json::{Map, Number, Value};

use crate::error::ScimError;
use crate::json::{is_unassigned, set_ci};
use crate::schema::{AttrType, Attribute};

/// Coerces a whole attribute value (an array for multi-valued attributes).
pub(crate) fn coerce(value: &Value, attr: &Attribute) -> Result<Option<Value>, ScimError> {
    if attr.multi_valued {
        let items: &[Value] = match value {
            Value::Array(items) => items,
            other => std::slice::from_ref(other),
        };
        let mut out: Vec<Value> = Vec::with_capacity(items.len());
        for item in items {
            if let Some(v) = coerce_single(item, attr)? {
                if !out.iter().any(|o| same_element(o, &v, attr)) {
                    out.push(v);
                }
            }
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    match value {
        Value::Array(items) if items.is_empty() => Ok(None),
        Value::Array(items) if items.len() == 1 => coerce_single(&items[0], attr),
        Value::Array(_) => Err(ScimError::invalid_value(format!(
            "`{}` takes a single value, not an array",
            attr.name
        ))),
        other => coerce_single(other, attr),
    }
}

/// Whether two elements of a multi-valued attribute are the same element: equal, or, for
/// attributes identified by `value` (members, groups), with the same `value`.
pub(crate) fn same_element(a: &Value, b: &Value, attr: &Attribute) -> bool {
    if a == b {
        return true;
    }
    if attr.keyed_by_value() {
        let key = |v: &Value| v.get("value").cloned();
        return key(a).is_some() && key(a) == key(b);
    }
    false
}

fn invalid(attr: &Attribute, value: &Value, expected: &str) -> ScimError {
    ScimError::invalid_value(format!("`{}` must be {expected}, not {value}", attr.name))
}

/// Parses a boolean leniently: JSON booleans and `"true"`/`"false"` in any case.
pub(crate) fn lenient_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Coerces one value (one element of a multi-valued attribute).
pub(crate) fn coerce_single(value: &Value, attr: &Attribute) -> Result<Option<Value>, ScimError> {
    if is_unassigned(value) {
        return Ok(None);
    }
    let v = match attr.ty {
        AttrType::Complex => match value {
            Value::Object(map) => return coerce_object(map, attr),
            Value::String(_) | Value::Number(_) if attr.sub_attribute("value").is_some() => {
                // A bare id for a complex attribute such as `manager`.
                let mut map = Map::new();
                map.insert("value".to_owned(), Value::String(text(value)));
                Value::Object(map)
            }
            other => return Err(invalid(attr, other, "an object")),
        },
        AttrType::Boolean => {
            Value::Bool(lenient_bool(value).ok_or_else(|| invalid(attr, value, "a boolean"))?)
        }
        AttrType::String | AttrType::Reference | AttrType::Binary => match value {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => Value::String(text(value)),
            other => return Err(invalid(attr, other, "a string")),
        },
        AttrType::Integer => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => value.clone(),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| invalid(attr, value, "an integer"))?,
            other => return Err(invalid(attr, other, "an integer")),
        },
        AttrType::Decimal => match value {
            Value::Number(_) => value.clone(),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| invalid(attr, value, "a number"))?,
            other => return Err(invalid(attr, other, "a number")),
        },
        AttrType::DateTime => match value {
            Value::String(s) if DateTime::parse_from_rfc3339(s).is_ok() => value.clone(),
            other => return Err(invalid(attr, other, "an RFC 3339 dateTime")),
        },
    };
    Ok(Some(v))
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn coerce_object(map: &Map<String, Value>, attr: &Attribute) -> Result<Option<Value>, ScimError> {
    let mut out = Map::new();
    for (key, v) in map {
        match attr.sub_attribute(key) {
            Some(sub) if sub.is_read_only() => {}
            Some(sub) => {
                if let Some(v) = coerce_single(v, sub)? {
                    set_ci(&mut out, &sub.name, v);
                }
            }
            None if !is_unassigned(v) => {
                out.insert(key.clone(), v.clone());
            }
            None => {}
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ResourceSchema;
    use serde_json::json;

    fn check(attr: &str, input: Value, expected: Result<Option<Value>, ()>) {
        let schema = ResourceSchema::user();
        let path = crate::path::AttrPath::parse(attr).unwrap();
        let r = schema.resolve(&path).unwrap();
        let got = coerce(&input, r.target()).map_err(|_| ());
        assert_eq!(got, expected, "{attr} {input}");
    }

    #[test]
    fn coerces_by_type() {
        check("active", json!("False"), Ok(Some(json!(false))));
        check("active", json!("TRUE"), Ok(Some(json!(true))));
        check("active", json!(true), Ok(Some(json!(true))));
        check("active", json!("yes"), Err(()));
        check("active", json!(null), Ok(None));
        check("active", json!(""), Ok(None));
        check("title", json!(""), Ok(None));
        check("title", json!(12), Ok(Some(json!("12"))));
        check("title", json!({"a": 1}), Err(()));
        check(
            "meta.created",
            json!("2020-01-01T00:00:00Z"),
            Ok(Some(json!("2020-01-01T00:00:00Z"))),
        );
        check("meta.created", json!("yesterday"), Err(()));
        check("roles", json!([]), Ok(None));
        check(
            "emails",
            json!({"value": "a@b"}),
            Ok(Some(json!([{"value": "a@b"}]))),
        );
        check(
            "emails",
            json!([{"VALUE": "a@b", "primary": "True", "type": null}, null]),
            Ok(Some(json!([{"value": "a@b", "primary": true}]))),
        );
        check(
            "name",
            json!({"givenName": "", "familyName": null}),
            Ok(None),
        );
        check("name", json!("x"), Err(()));
        check("manager", json!("42"), Ok(Some(json!({"value": "42"}))));
        check(
            "manager",
            json!([{"value": "42", "$ref": null}]),
            Ok(Some(json!({"value": "42"}))),
        );
        check("manager", json!([]), Ok(None));
        check("manager", json!([{"value": "1"}, {"value": "2"}]), Err(()));
        check(
            "manager",
            json!({"value": "42", "displayName": "Boss"}),
            Ok(Some(json!({"value": "42"}))),
        );
        check("groups", json!([{"value": "g", "display": "x"}]), Ok(None));
    }
}
