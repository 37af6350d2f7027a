//! Deciding whether a resource matches a filter, with the schema deciding how values compare:
//! `caseExact`, dateTime as instants, numbers as numbers, booleans as booleans.
//!
//! Semantics worth knowing:
//! - An attribute expression matches when *some* value of the (possibly multi-valued)
//!   attribute satisfies it; `ne` is the negation of `eq`, so it also matches resources that
//!   lack the attribute.
//! - A complex multi-valued attribute compared without a sub-attribute (`emails co "@x"`) is
//!   compared through its `value` sub-attribute.
//! - `attr eq null` matches when the attribute is unassigned; `pr` when it has a non-empty
//!   value.
//! - Leniencies: a string literal `"true"`/`"false"` compares with a boolean attribute, and a
//!   number or boolean literal compares with a string attribute by its text.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::{CompValue, CompareOp, Filter};
use crate::error::ScimError;
use crate::json::{attribute_value, field, is_unassigned, raw_value};
use crate::path::AttrPath;
use crate::schema::{AttrType, Attribute, ResourceSchema};

/// Where paths are resolved: at the top of a resource, or inside one element of a value path.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource(&'a ResourceSchema),
    Element(Option<&'a Attribute>),
}

impl Filter {
    /// Whether `resource` matches this filter. See the module documentation for semantics.
    pub fn matches(&self, resource: &Value, schema: &ResourceSchema) -> bool {
        eval(self, resource, Scope::Resource(schema))
    }

    /// Checks the filter against the schema: ordering operators (`gt`, `ge`, `lt`, `le`) on
    /// boolean, binary or complex attributes are `400 invalidFilter` (RFC 7644 §3.4.2.2).
    /// Unknown attributes are allowed; they match as unassigned.
    pub fn validate(&self, schema: &ResourceSchema) -> Result<(), ScimError> {
        validate(self, Scope::Resource(schema))
    }
}

/// Whether one element of the complex attribute `attr` matches a value filter's inner filter.
pub(crate) fn matches_element(filter: &Filter, element: &Value, attr: &Attribute) -> bool {
    eval(filter, element, Scope::Element(Some(attr)))
}

/// Same as [`Filter::matches`].
pub fn matches(filter: &Filter, resource: &Value, schema: &ResourceSchema) -> bool {
    filter.matches(resource, schema)
}

fn resolve<'a>(scope: Scope<'a>, path: &AttrPath) -> Option<&'a Attribute> {
    match scope {
        Scope::Resource(schema) => schema.resolve(path).map(|r| r.sub.unwrap_or(r.attr)),
        Scope::Element(parent) => parent?.sub_attribute(&path.name),
    }
}

fn validate(filter: &Filter, scope: Scope<'_>) -> Result<(), ScimError> {
    match filter {
        Filter::Compare(path, op, _) if op.is_ordering() => {
            let attr = resolve(scope, path);
            match attr.map(|a| a.ty) {
                Some(t @ (AttrType::Boolean | AttrType::Binary | AttrType::Complex)) => {
                    Err(ScimError::invalid_filter(format!(
                        "`{}` cannot be applied to `{path}`, a {t:?} attribute",
                        op.as_str()
                    )))
                }
                _ => Ok(()),
            }
        }
        Filter::Compare(..) | Filter::Present(_) => Ok(()),
        Filter::And(l, r) | Filter::Or(l, r) => {
            validate(l, scope)?;
            validate(r, scope)
        }
        Filter::Not(inner) => validate(inner, scope),
        Filter::ValuePath(path, inner) => {
            let parent = match scope {
                Scope::Resource(schema) => schema.resolve(path).map(|r| r.attr),
                Scope::Element(_) => None,
            };
            validate(inner, Scope::Element(parent))
        }
    }
}

/// The values a path selects, flattened, with the attribute definition that governs them.
fn select<'v, 's>(
    value: &'v Value,
    path: &AttrPath,
    scope: Scope<'s>,
    through_value: bool,
) -> (Vec<&'v Value>, Option<&'s Attribute>) {
    let (top, attr) = match scope {
        Scope::Resource(schema) => match schema.resolve(path) {
            Some(r) => (attribute_value(value, &r), Some(r.attr)),
            None => (
                raw_value(value, schema, path.urn.as_deref(), &path.name),
                None,
            ),
        },
        Scope::Element(parent) => (
            field(value, &path.name),
            parent.and_then(|p| p.sub_attribute(&path.name)),
        ),
    };
    let mut out = Vec::new();
    let Some(top) = top else {
        return (out, attr);
    };
    let sub_name = path.sub.as_deref().or_else(|| {
        // A complex attribute compared directly is compared through its `value`.
        attr.filter(|a| through_value && a.sub_attribute("value").is_some())
            .map(|_| "value")
    });
    let def = match sub_name {
        Some(s) => attr.and_then(|a| a.sub_attribute(s)),
        None => attr,
    };
    let mut push = |v: &'v Value| match sub_name {
        Some(s) => {
            if let Some(x) = field(v, s) {
                out.push(x);
            }
        }
        None => out.push(v),
    };
    match top {
        Value::Array(items) => items.iter().for_each(&mut push),
        other => push(other),
    }
    (out, def)
}

fn eval(filter: &Filter, value: &Value, scope: Scope<'_>) -> bool {
    match filter {
        Filter::And(l, r) => eval(l, value, scope) && eval(r, value, scope),
        Filter::Or(l, r) => eval(l, value, scope) || eval(r, value, scope),
        Filter::Not(inner) => !eval(inner, value, scope),
        Filter::Present(path) => {
            let (values, _) = select(value, path, scope, false);
            values.iter().any(|v| !is_unassigned(v))
        }
        Filter::Compare(path, op, lit) => {
            let (values, def) = select(value, path, scope, true);
            let assigned = values.iter().filter(|v| !is_unassigned(v));
            match (op, lit) {
                (CompareOp::Eq, CompValue::Null) => assigned.count() == 0,
                (CompareOp::Ne, CompValue::Null) => assigned.count() > 0,
                (CompareOp::Ne, _) => !assigned
                    .into_iter()
                    .any(|v| compare(v, CompareOp::Eq, lit, def)),
                _ => assigned.into_iter().any(|v| compare(v, *op, lit, def)),
            }
        }
        Filter::ValuePath(path, inner) => {
            let Scope::Resource(schema) = scope else {
                return false;
            };
            let (top, attr) = match schema.resolve(path) {
                Some(r) => (attribute_value(value, &r), Some(r.attr)),
                None => (
                    raw_value(value, schema, path.urn.as_deref(), &path.name),
                    None,
                ),
            };
            let inner_scope = Scope::Element(attr);
            match top {
                Some(Value::Array(items)) => items.iter().any(|e| eval(inner, e, inner_scope)),
                Some(obj @ Value::Object(_)) => eval(inner, obj, inner_scope),
                _ => false,
            }
        }
    }
}

fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

fn lenient_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn ordering_holds(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// Compares one stored value with a literal.
pub(crate) fn compare(
    value: &Value,
    op: CompareOp,
    lit: &CompValue,
    def: Option<&Attribute>,
) -> bool {
    match value {
        Value::String(s) => compare_str(s, op, lit, def),
        Value::Bool(b) => {
            let l = match lit {
                CompValue::Bool(l) => Some(*l),
                CompValue::String(s) => lenient_bool(s),
                _ => None,
            };
            match (op, l) {
                (CompareOp::Eq, Some(l)) => *b == l,
                (CompareOp::Ne, Some(l)) => *b != l,
                _ => false,
            }
        }
        Value::Number(n) => {
            let l = match lit {
                CompValue::Number(l) => l.as_f64(),
                CompValue::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            match (n.as_f64(), l) {
                (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(|o| ordering_holds(op, o)),
                _ => false,
            }
        }
        Value::Object(_) => field(value, "value").is_some_and(|v| compare(v, op, lit, def)),
        Value::Null | Value::Array(_) => false,
    }
}

fn compare_str(s: &str, op: CompareOp, lit: &CompValue, def: Option<&Attribute>) -> bool {
    let text;
    let l: &str = match lit {
        CompValue::String(l) => l,
        CompValue::Number(n) => {
            text = n.to_string();
            &text
        }
        CompValue::Bool(b) => {
            text = b.to_string();
            &text
        }
        CompValue::Null => return false,
    };
    match def.map(|d| d.ty) {
        Some(AttrType::DateTime)
            if !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) =>
        {
            if let (Some(a), Some(b)) = (parse_time(s), parse_time(l)) {
                return ordering_holds(op, a.cmp(&b));
            }
        }
        Some(AttrType::Boolean) => {
            // A boolean stored as a string, as Entra sends them.
            if let (Some(a), Some(b)) = (lenient_bool(s), lenient_bool(l)) {
                return match op {
                    CompareOp::Eq => a == b,
                    CompareOp::Ne => a != b,
                    _ => false,
                };
            }
        }
        _ => {}
    }
    let case_exact = def.is_some_and(|d| d.case_exact);
    let (a, b) = if case_exact {
        (s.to_owned(), l.to_owned())
    } else {
        (s.to_lowercase(), l.to_lowercase())
    };
    match op {
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        _ => ordering_holds(op, a.cmp(&b)),
    }
}
