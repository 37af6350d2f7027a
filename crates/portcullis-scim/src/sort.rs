//! Sorting resources by an attribute (RFC 7644 §3.4.2.3), comparing as the schema says.

use std::cmp::Ordering;

use chrono::DateTime;
use serde_json::Value;

use crate::json::{attribute_value, field, is_unassigned, raw_value};
use crate::path::AttrPath;
use crate::query::SortOrder;
use crate::schema::{AttrType, Attribute, ResourceSchema};

/// The value a resource sorts by: for multi-valued attributes the primary element's (or
/// else the first element's) value.
fn sort_key<'a>(
    resource: &'a Value,
    path: &AttrPath,
    schema: &ResourceSchema,
) -> Option<&'a Value> {
    let top = match schema.resolve(path) {
        Some(r) => attribute_value(resource, &r)?,
        None => raw_value(resource, schema, path.urn.as_deref(), &path.name)?,
    };
    let element = match top {
        Value::Array(items) => items
            .iter()
            .find(|i| field(i, "primary") == Some(&Value::Bool(true)))
            .or_else(|| items.first())?,
        other => other,
    };
    match (&path.sub, element) {
        (Some(sub), v) => field(v, sub),
        (None, v @ Value::Object(_)) => field(v, "value"),
        (None, v) => Some(v),
    }
    .filter(|v| !is_unassigned(v))
}

fn compare_values(a: &Value, b: &Value, def: Option<&Attribute>) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            if def.is_some_and(|d| d.ty == AttrType::DateTime) {
                if let (Ok(x), Ok(y)) = (
                    DateTime::parse_from_rfc3339(x),
                    DateTime::parse_from_rfc3339(y),
                ) {
                    return x.cmp(&y);
                }
            }
            if def.is_some_and(|d| d.case_exact) {
                x.cmp(y)
            } else {
                x.to_lowercase().cmp(&y.to_lowercase())
            }
        }
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// Sorts resources in place, stably, by `sort_by`. Resources without a value (unassigned:
/// absent, `null` or `""`) sort last in ascending order and first in descending order (the
/// reverse of ascending; RFC 7644 §3.4.2.3).
pub fn sort(
    resources: &mut [Value],
    sort_by: &AttrPath,
    order: SortOrder,
    schema: &ResourceSchema,
) {
    let def = schema.resolve(sort_by).map(|r| {
        r.sub
            .or_else(|| r.attr.sub_attribute("value"))
            .unwrap_or(r.attr)
    });
    resources.sort_by(|a, b| {
        let ord = match (sort_key(a, sort_by, schema), sort_key(b, sort_by, schema)) {
            (Some(x), Some(y)) => compare_values(x, y, def),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        match order {
            SortOrder::Ascending => ord,
            SortOrder::Descending => ord.reverse(),
        }
    });
}
