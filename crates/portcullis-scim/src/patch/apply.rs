//! Applying PATCH operations to a resource held as JSON.

use serde_json::{Map, Value};

use super::{PatchLimits, PatchOp, PatchOperation, PatchPath, PatchRequest};
use crate::coerce::{coerce, coerce_single, same_element};
use crate::error::ScimError;
use crate::filter::{Filter, Lookup};
use crate::json::{get_ci, is_unassigned, remove_ci, set_ci, urn_key};
use crate::path::AttrPath;
use crate::resource::{check_primaries, check_required, primaries, sync_schemas};
use crate::schema::{Attribute, Mutability, ResourceSchema, Schema};

/// Applies every operation of `request` to a copy of `resource` and returns the copy; on any
/// error nothing is applied and the error names the failing operation (1-based).
///
/// Errors: `mutability` for readOnly and immutable attributes, `noTarget` for a remove without
/// a path, `invalidPath` for unknown attributes and malformed paths, `invalidFilter` for bad
/// value filters, `invalidValue` for values of the wrong type or a removed required attribute,
/// and `413` for more operations than `limits` allow. See the [module](super) documentation
/// for the deviations from the RFC.
pub fn apply(
    resource: &Value,
    request: &PatchRequest,
    schema: &ResourceSchema,
    limits: &PatchLimits,
) -> Result<Value, ScimError> {
    if request.operations.is_empty() {
        return Err(ScimError::invalid_value(
            "a PATCH request needs at least one operation (RFC 7644 §3.5.2)",
        ));
    }
    if request.operations.len() > limits.max_operations {
        return Err(ScimError::payload_too_large(format!(
            "the PATCH request has {} operations; the limit is {}",
            request.operations.len(),
            limits.max_operations
        )));
    }
    let mut out = resource.clone();
    let Value::Object(map) = &mut out else {
        return Err(ScimError::invalid_value(
            "the resource is not a JSON object",
        ));
    };
    for (i, op) in request.operations.iter().enumerate() {
        apply_one(map, op, schema, limits).map_err(|e| ScimError {
            detail: format!("operation {}: {}", i + 1, e.detail),
            ..e
        })?;
    }
    check_required(map, schema)?;
    let before = resource.as_object();
    check_primaries(map, schema, before)?;
    sync_schemas(map, schema);
    Ok(out)
}

/// A resolved target: where the attribute lives and what the path selects inside it.
struct Target<'s> {
    ext: Option<&'s Schema>,
    attr: &'s Attribute,
    /// The sub-attribute: `name.givenName`, or `emails[…].value`.
    sub: Option<&'s Attribute>,
    filter: Option<Filter>,
}

fn apply_one(
    map: &mut Map<String, Value>,
    op: &PatchOperation,
    schema: &ResourceSchema,
    limits: &PatchLimits,
) -> Result<(), ScimError> {
    let null = Value::Null;
    let value = op.value.as_ref().unwrap_or(&null);
    let Some(path) = &op.path else {
        return match op.op {
            PatchOp::Remove => Err(ScimError::no_target("a remove operation needs a path")),
            _ if op.value.is_none() => Err(ScimError::invalid_value(
                "a path-less add or replace needs a value",
            )),
            _ => pathless(map, op.op, value, schema),
        };
    };
    let path = PatchPath::parse(path, &limits.filter)?;
    if path.filter.is_none() {
        if let Some(ext) = schema.whole_extension(&path.attr) {
            return match op.op {
                PatchOp::Remove => {
                    if let Some(k) = urn_key(map, &ext.id).cloned() {
                        map.remove(&k);
                    }
                    Ok(())
                }
                _ => extension_object(map, op.op, ext, value, schema),
            };
        }
    }
    let target = resolve(schema, path)?;
    write(map, &target, op.op, value)
}

fn resolve(schema: &ResourceSchema, path: PatchPath) -> Result<Target<'_>, ScimError> {
    let unknown =
        || ScimError::invalid_path(format!("`{path}` is not an attribute of this resource"));
    let resolved = schema.resolve(&path.attr).ok_or_else(unknown)?;
    let sub = match &path.sub {
        Some(s) => Some(resolved.attr.sub_attribute(s).ok_or_else(unknown)?),
        None => resolved.sub,
    };
    if path.filter.is_some() && resolved.attr.sub_attributes.is_empty() {
        return Err(ScimError::invalid_path(format!(
            "`{path}`: value filters apply to complex attributes"
        )));
    }
    Ok(Target {
        ext: resolved.extension,
        attr: resolved.attr,
        sub,
        filter: path.filter,
    })
}

/// A path-less add or replace: each key of the object is a path (plain, dotted such as
/// `name.givenName`, or URN-qualified), or an extension URN holding an object.
fn pathless(
    map: &mut Map<String, Value>,
    op: PatchOp,
    value: &Value,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let Value::Object(obj) = value else {
        return Err(ScimError::invalid_value(
            "a path-less add or replace takes an object of attributes",
        ));
    };
    for (key, v) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            extension_object(map, op, ext, v, schema)?;
            continue;
        }
        let path = AttrPath::parse(key).map_err(ScimError::invalid_path)?;
        let target = resolve(
            schema,
            PatchPath {
                attr: path,
                filter: None,
                sub: None,
            },
        )?;
        write(map, &target, op, v)?;
    }
    Ok(())
}

/// `{"urn:…:enterprise:2.0:User": {"employeeNumber": …, "manager.value": …}}`.
fn extension_object(
    map: &mut Map<String, Value>,
    op: PatchOp,
    ext: &Schema,
    value: &Value,
    schema: &ResourceSchema,
) -> Result<(), ScimError> {
    let Value::Object(obj) = value else {
        return Err(ScimError::invalid_value(format!(
            "`{}` takes an object of attributes",
            ext.id
        )));
    };
    let qualified: Map<String, Value> = obj
        .iter()
        .map(|(k, v)| (format!("{}:{k}", ext.id), v.clone()))
        .collect();
    pathless(map, op, &Value::Object(qualified), schema)
}

fn mutability_error(attr: &str, why: &str) -> ScimError {
    ScimError::mutability(format!("`{attr}` is {why}"))
}

fn write(
    map: &mut Map<String, Value>,
    t: &Target<'_>,
    op: PatchOp,
    value: &Value,
) -> Result<(), ScimError> {
    let ext_key = t
        .ext
        .map(|e| urn_key(map, &e.id).cloned().unwrap_or(e.id.clone()));
    let container: &mut Map<String, Value> = match &ext_key {
        None => map,
        Some(k) => {
            let slot = map
                .entry(k.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            match slot {
                Value::Object(m) => m,
                _ => return Err(ScimError::invalid_value("extension is not an object")),
            }
        }
    };
    let result = match &t.filter {
        None => write_plain(container, t, op, value),
        Some(filter) => write_filtered(container, t, filter, op, value),
    };
    if let Some(k) = ext_key {
        if map.get(&k).is_some_and(is_unassigned) {
            map.remove(&k);
        }
    }
    result
}

/// Checks readOnly/immutable rules for a write without a value filter. Returns `true` when
/// the write changes nothing and may be skipped.
fn check_plain(
    container: &Map<String, Value>,
    t: &Target<'_>,
    op: PatchOp,
    value: &Value,
) -> Result<bool, ScimError> {
    let def = t.sub.unwrap_or(t.attr);
    let read_only = t.attr.is_read_only() || def.is_read_only();
    let immutable = def.mutability == Mutability::Immutable;
    if !read_only && !immutable {
        return Ok(false);
    }
    let current = get_ci(container, &t.attr.name).and_then(|v| match t.sub {
        Some(sub) => get_ci(v.as_object()?, &sub.name),
        None => Some(v),
    });
    let current = current.filter(|v| !is_unassigned(v));
    let unchanged = op != PatchOp::Remove
        && current.cloned() == coerce(value, def)?
        && (current.is_some() || is_unassigned(value));
    let name = match t.sub {
        Some(s) => format!("{}.{}", t.attr.name, s.name),
        None => t.attr.name.clone(),
    };
    if unchanged {
        Ok(true)
    } else if read_only {
        Err(mutability_error(&name, "read-only"))
    } else if current.is_some() {
        Err(mutability_error(&name, "immutable and already set"))
    } else {
        Ok(false)
    }
}

fn write_plain(
    container: &mut Map<String, Value>,
    t: &Target<'_>,
    op: PatchOp,
    value: &Value,
) -> Result<(), ScimError> {
    if check_plain(container, t, op, value)? {
        return Ok(());
    }
    let attr = t.attr;
    match (attr.multi_valued, t.sub) {
        (false, Some(sub)) => {
            let new = match op {
                PatchOp::Remove => None,
                _ => coerce_single(value, sub)?,
            };
            let mut obj = match remove_ci(container, &attr.name) {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            match new {
                Some(v) => set_ci(&mut obj, &sub.name, v),
                None => {
                    remove_ci(&mut obj, &sub.name);
                }
            }
            put(container, &attr.name, without_orphan(obj, attr));
        }
        (true, Some(sub)) => {
            // `emails.value` without a filter: every element.
            let new = match op {
                PatchOp::Remove => None,
                _ => coerce_single(value, sub)?,
            };
            let mut items = take_array(container, &attr.name);
            if items.is_empty() {
                if let Some(v) = &new {
                    items.push(Value::Object(Map::from_iter([(
                        sub.name.clone(),
                        v.clone(),
                    )])));
                }
            }
            for item in &mut items {
                set_sub(item, sub, new.clone());
            }
            put(container, &attr.name, Value::Array(items));
        }
        (false, None) => match op {
            PatchOp::Remove => {
                remove_ci(container, &attr.name);
            }
            _ if attr.sub_attributes.is_empty() => match coerce(value, attr)? {
                Some(v) => set_ci(container, &attr.name, v),
                None => {
                    remove_ci(container, &attr.name);
                }
            },
            _ => merge_complex(container, attr, value)?,
        },
        (true, None) => {
            let mut items = take_array(container, &attr.name);
            match op {
                PatchOp::Remove if is_unassigned(value) => items.clear(),
                PatchOp::Remove => {
                    // Entra ID: remove only the listed elements.
                    let listed = coerce(value, attr)?.unwrap_or(Value::Null);
                    let listed = listed.as_array().map(Vec::as_slice).unwrap_or_default();
                    items.retain(|item| !listed.iter().any(|l| selects(l, item, attr)));
                }
                PatchOp::Add if value.is_array() || !is_unassigned(value) => {
                    let new = coerce(value, attr)?.unwrap_or(Value::Array(Vec::new()));
                    if primaries(&new) > 1 {
                        return Err(ScimError::invalid_value(format!(
                            "at most one element of `{}` may be primary (RFC 7643 §2.4)",
                            attr.name
                        )));
                    }
                    for v in new.as_array().into_iter().flatten() {
                        check_keyed(v, attr)?;
                        if items.iter().any(|i| same_element(i, v, attr)) {
                            continue;
                        }
                        if is_primary(v) {
                            items.iter_mut().for_each(clear_primary);
                        }
                        items.push(v.clone());
                    }
                }
                _ => {
                    let new = coerce(value, attr)?.unwrap_or(Value::Array(Vec::new()));
                    items = new.as_array().cloned().unwrap_or_default();
                    items.iter().try_for_each(|v| check_keyed(v, attr))?;
                }
            }
            put(container, &attr.name, Value::Array(items));
        }
    }
    Ok(())
}

fn write_filtered(
    container: &mut Map<String, Value>,
    t: &Target<'_>,
    filter: &Filter,
    op: PatchOp,
    value: &Value,
) -> Result<(), ScimError> {
    let attr = t.attr;
    if attr.is_read_only() || t.sub.is_some_and(Attribute::is_read_only) {
        return Err(mutability_error(&attr.name, "read-only"));
    }
    let mut items = take_array(container, &attr.name);
    let matched: Vec<usize> = (0..items.len())
        .filter(|&i| crate::filter::matches_element(filter, &items[i], attr))
        .collect();
    let result = (|| {
        match (op, t.sub) {
            (PatchOp::Remove, None) => {
                let mut i = 0;
                items.retain(|_| {
                    i += 1;
                    !matched.contains(&(i - 1))
                });
            }
            (PatchOp::Remove, Some(sub)) => {
                for &i in &matched {
                    check_immutable_sub(&items[i], attr, sub, None)?;
                    set_sub(&mut items[i], sub, None);
                }
            }
            (_, sub) => {
                let new = match sub {
                    Some(sub) => coerce_single(value, sub)?,
                    None => coerce_single(value, attr)?,
                };
                let Some(new) = new else {
                    // Clearing through a filter: remove what it selects.
                    return match sub {
                        Some(sub) => {
                            for &i in &matched {
                                set_sub(&mut items[i], sub, None);
                            }
                            Ok(())
                        }
                        None => {
                            items = std::mem::take(&mut items)
                                .into_iter()
                                .enumerate()
                                .filter(|(i, _)| !matched.contains(i))
                                .map(|(_, v)| v)
                                .collect();
                            Ok(())
                        }
                    };
                };
                let targets = if matched.is_empty() {
                    // Deviation: create the element the filter describes (Entra ID).
                    items.push(element_from_filter(filter, attr)?);
                    vec![items.len() - 1]
                } else {
                    matched.clone()
                };
                let makes_primary = match sub {
                    Some(s) => s.name == "primary" && new == Value::Bool(true),
                    None => is_primary(&new),
                };
                if makes_primary {
                    for (i, item) in items.iter_mut().enumerate() {
                        if !targets.contains(&i) {
                            clear_primary(item);
                        }
                    }
                }
                for i in targets {
                    match (sub, &new) {
                        (Some(sub), v) => {
                            check_immutable_sub(&items[i], attr, sub, Some(v))?;
                            set_sub(&mut items[i], sub, Some(v.clone()));
                        }
                        (None, Value::Object(fields)) => {
                            for (k, v) in fields {
                                if let Some(sub) = attr.sub_attribute(k) {
                                    check_immutable_sub(&items[i], attr, sub, Some(v))?;
                                }
                                if let Value::Object(item) = &mut items[i] {
                                    set_ci(item, k, v.clone());
                                }
                            }
                        }
                        (None, other) => items[i] = other.clone(),
                    }
                }
            }
        }
        Ok(())
    })();
    put(container, &attr.name, Value::Array(items));
    result
}

fn check_immutable_sub(
    item: &Value,
    attr: &Attribute,
    sub: &Attribute,
    new: Option<&Value>,
) -> Result<(), ScimError> {
    if sub.mutability != Mutability::Immutable {
        return Ok(());
    }
    let current = item
        .as_object()
        .and_then(|m| get_ci(m, &sub.name))
        .filter(|v| !is_unassigned(v));
    match current {
        Some(c) if Some(c) != new => Err(mutability_error(
            &format!("{}.{}", attr.name, sub.name),
            "immutable and already set",
        )),
        _ => Ok(()),
    }
}

/// The element a filter such as `type eq "work" and primary eq true` describes; `noTarget`
/// when the filter is not a conjunction of equalities on sub-attributes.
fn element_from_filter(filter: &Filter, attr: &Attribute) -> Result<Value, ScimError> {
    let no_target = || {
        ScimError::no_target(format!(
            "no element of `{}` matches `{filter}`, and it does not describe one to create",
            attr.name
        ))
    };
    let mut out = Map::new();
    for lookup in filter.equalities().ok_or_else(no_target)? {
        let Lookup::Attr { path, value } = lookup else {
            return Err(no_target());
        };
        let sub = attr
            .sub_attribute(&path.name)
            .filter(|_| path.urn.is_none() && path.sub.is_none())
            .ok_or_else(no_target)?;
        if let Some(v) = coerce_single(&value.to_json(), sub)? {
            out.insert(sub.name.clone(), v);
        }
    }
    Ok(Value::Object(out))
}

/// Replace or add a complex single-valued attribute: the given sub-attributes replace the
/// existing ones and the others stay (RFC 7644 §3.5.2.3), except that a new `value` (a
/// different manager) replaces the whole object so that no stale `$ref` survives.
fn merge_complex(
    container: &mut Map<String, Value>,
    attr: &Attribute,
    value: &Value,
) -> Result<(), ScimError> {
    let coerced;
    let raw = match value {
        Value::Object(m) => m,
        other => match coerce(other, attr)? {
            Some(v) => {
                coerced = v;
                match &coerced {
                    Value::Object(m) => m,
                    _ => return Err(ScimError::invalid_value("expected an object")),
                }
            }
            None => {
                remove_ci(container, &attr.name);
                return Ok(());
            }
        },
    };
    let mut obj = match remove_ci(container, &attr.name) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let new_value = get_ci(raw, "value").filter(|v| !is_unassigned(v));
    if new_value.is_some() && new_value != get_ci(&obj, "value") {
        obj.clear();
    }
    for (k, v) in raw {
        match attr.sub_attribute(k) {
            Some(sub) if sub.is_read_only() => {}
            Some(sub) => match coerce_single(v, sub)? {
                Some(v) => set_ci(&mut obj, &sub.name, v),
                None => {
                    remove_ci(&mut obj, &sub.name);
                }
            },
            None if is_unassigned(v) => {
                remove_ci(&mut obj, k);
            }
            None => set_ci(&mut obj, k, v.clone()),
        }
    }
    put(container, &attr.name, without_orphan(obj, attr));
    Ok(())
}

/// A manager (or any attribute identified by `value`) without a `value` is no reference at
/// all: clearing `manager.value` clears the manager.
fn without_orphan(obj: Map<String, Value>, attr: &Attribute) -> Value {
    if attr.keyed_by_value() && get_ci(&obj, "value").is_none_or(is_unassigned) {
        Value::Null
    } else {
        Value::Object(obj)
    }
}

/// Whether a listed element (from a remove's value) selects a stored one: same `value` for
/// attributes identified by it, otherwise every listed field equal.
fn selects(listed: &Value, item: &Value, attr: &Attribute) -> bool {
    if same_element(listed, item, attr) {
        return true;
    }
    match (listed, item) {
        (Value::Object(l), Value::Object(i)) if !attr.keyed_by_value() => {
            !l.is_empty() && l.iter().all(|(k, v)| get_ci(i, k) == Some(v))
        }
        _ => false,
    }
}

fn check_keyed(v: &Value, attr: &Attribute) -> Result<(), ScimError> {
    if attr.keyed_by_value() && v.get("value").is_none() {
        return Err(ScimError::invalid_value(format!(
            "each element of `{}` needs a `value`",
            attr.name
        )));
    }
    Ok(())
}

fn is_primary(v: &Value) -> bool {
    v.get("primary") == Some(&Value::Bool(true))
}

fn clear_primary(v: &mut Value) {
    if let Value::Object(m) = v {
        if m.get("primary") == Some(&Value::Bool(true)) {
            m.insert("primary".to_owned(), Value::Bool(false));
        }
    }
}

fn set_sub(item: &mut Value, sub: &Attribute, value: Option<Value>) {
    if let Value::Object(m) = item {
        match value {
            Some(v) => set_ci(m, &sub.name, v),
            None => {
                remove_ci(m, &sub.name);
            }
        }
    }
}

fn take_array(container: &mut Map<String, Value>, name: &str) -> Vec<Value> {
    match remove_ci(container, name) {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

/// Stores `value` under `name`, or removes the attribute when the value is unassigned.
fn put(container: &mut Map<String, Value>, name: &str, value: Value) {
    if is_unassigned(&value) {
        remove_ci(container, name);
    } else {
        set_ci(container, name, value);
    }
}
