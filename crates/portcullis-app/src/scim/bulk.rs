//! `POST /Bulk` (RFC 7644 §3.7): each operation runs through the same user and group
//! use cases as the single-resource endpoints (so each is all-or-nothing and audited),
//! in order, with `bulkId:` references resolved and `failOnErrors` honoured by
//! `portcullis_scim::bulk::run`.

use portcullis_scim::bulk::{
    self, BulkLimits, BulkOperation, BulkOutcome, BulkRequest, BulkResponse,
};
use portcullis_scim::ScimError;
use portcullis_store::Store;
use serde_json::Value;

use super::{groups, mapping, users, Ctx};
use crate::AppError;

/// Runs a Bulk request. `as_scim` renders an operation's failure as the SCIM error its
/// response entry carries (the server's one mapping of failures to statuses).
pub fn run(
    store: &Store,
    ctx: &Ctx,
    request: &BulkRequest,
    limits: &BulkLimits,
    as_scim: &dyn Fn(&AppError) -> ScimError,
) -> Result<BulkResponse, AppError> {
    bulk::run(request, limits, &mut |op: &BulkOperation| {
        execute(store, ctx, op).map_err(|e| as_scim(&e))
    })
    .map_err(AppError::Scim)
}

fn outcome(status: u16, location: String, version: Option<i64>) -> BulkOutcome {
    BulkOutcome {
        status,
        location: Some(location),
        version: version.map(mapping::etag),
        response: None,
    }
}

/// Runs one operation: `POST /Users`, `PUT|PATCH|DELETE /Users/{id}`, and the same for
/// `/Groups`.
fn execute(store: &Store, ctx: &Ctx, op: &BulkOperation) -> Result<BulkOutcome, AppError> {
    let segments: Vec<&str> = op.path.trim_matches('/').split('/').collect();
    let method = op.method.to_ascii_uppercase();
    let data = op.data.clone().unwrap_or(Value::Null);
    let if_match = op.version.as_deref();
    let location = |kind: &str, id: &str| format!("{}/{kind}/{id}", ctx.base);
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["Users"]) => {
            let (row, _) = users::create(store, ctx, &data)?;
            let id = row.user.id.to_string();
            Ok(outcome(201, location("Users", &id), Some(row.version)))
        }
        ("PUT", ["Users", id]) => {
            let row = users::replace(store, ctx, id, &data, if_match)?.row;
            Ok(outcome(200, location("Users", id), Some(row.version)))
        }
        ("PATCH", ["Users", id]) => {
            let row = users::patch(store, ctx, id, &data, if_match)?.row;
            Ok(outcome(200, location("Users", id), Some(row.version)))
        }
        ("DELETE", ["Users", id]) => {
            users::delete(store, ctx, id, if_match)?;
            Ok(outcome(204, location("Users", id), None))
        }
        ("POST", ["Groups"]) => {
            let row = groups::create(store, ctx, &data)?;
            let id = row.id.to_string();
            Ok(outcome(201, location("Groups", &id), Some(row.version)))
        }
        ("PUT", ["Groups", id]) => {
            let row = groups::replace(store, ctx, id, &data, if_match)?;
            Ok(outcome(200, location("Groups", id), Some(row.version)))
        }
        ("PATCH", ["Groups", id]) => {
            let row = groups::patch(store, ctx, id, &data, if_match)?;
            Ok(outcome(200, location("Groups", id), Some(row.version)))
        }
        ("DELETE", ["Groups", id]) => {
            groups::delete(store, ctx, id, if_match)?;
            Ok(outcome(204, location("Groups", id), None))
        }
        _ => Err(AppError::Scim(ScimError::invalid_path(format!(
            "bulk cannot {} {}",
            op.method, op.path
        )))),
    }
}
