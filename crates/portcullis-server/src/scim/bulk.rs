//! `POST /Bulk` (RFC 7644 §3.7): each operation runs through the same user and group
//! operations as the single-resource endpoints (so each is all-or-nothing and audited),
//! in order, with `bulkId:` references resolved and `failOnErrors` honoured by
//! `portcullis_scim::bulk::run`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use portcullis_scim::bulk::{self, BulkLimits, BulkOperation, BulkOutcome, BulkRequest};
use portcullis_scim::ScimError;
use portcullis_store::Store;
use serde_json::Value;

use super::auth::Ctx;
use super::error::{to_scim, ScimResult};
use super::{group_ops, json_response, read_json, user_ops};
use crate::error::AppError;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/Bulk")
            .route(web::post().to(post))
            .default_service(web::to(super::method_not_allowed)),
    );
}

fn limits() -> BulkLimits {
    BulkLimits {
        max_payload_size: BulkLimits::default()
            .max_payload_size
            .min(super::MAX_BODY_BYTES),
        ..BulkLimits::default()
    }
}

async fn post(
    ctx: Ctx,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let body = read_json(payload).await?;
    let request: BulkRequest = serde_json::from_value(body).map_err(|e| {
        AppError::Scim(ScimError::invalid_syntax(format!("not a BulkRequest: {e}")))
    })?;
    let response = state
        .write(move |store| {
            bulk::run(&request, &limits(), &mut |op: &BulkOperation| {
                execute(store, &ctx, op).map_err(|e| to_scim(&e))
            })
            .map_err(AppError::Scim)
        })
        .await?;
    let body = serde_json::to_value(response)
        .map_err(|e| AppError::Internal(format!("rendering a bulk response: {e}")))?;
    Ok(json_response(StatusCode::OK, &body))
}

fn outcome(status: u16, location: String, version: i64) -> BulkOutcome {
    BulkOutcome {
        status,
        location: Some(location),
        version: Some(super::mapping::etag(version)),
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
            let (row, _) = user_ops::create(store, ctx, &data)?;
            let id = row.user.id.to_string();
            Ok(outcome(201, location("Users", &id), row.version))
        }
        ("PUT", ["Users", id]) => {
            let (row, _) = user_ops::replace(store, ctx, id, &data, if_match)?;
            Ok(outcome(200, location("Users", id), row.version))
        }
        ("PATCH", ["Users", id]) => {
            let (row, _) = user_ops::patch(store, ctx, id, &data, if_match)?;
            Ok(outcome(200, location("Users", id), row.version))
        }
        ("DELETE", ["Users", id]) => {
            user_ops::delete(store, ctx, id, if_match)?;
            Ok(BulkOutcome {
                status: 204,
                location: Some(location("Users", id)),
                version: None,
                response: None,
            })
        }
        ("POST", ["Groups"]) => {
            let row = group_ops::create(store, ctx, &data)?;
            let id = row.id.to_string();
            Ok(outcome(201, location("Groups", &id), row.version))
        }
        ("PUT", ["Groups", id]) => {
            let row = group_ops::replace(store, ctx, id, &data, if_match)?;
            Ok(outcome(200, location("Groups", id), row.version))
        }
        ("PATCH", ["Groups", id]) => {
            let row = group_ops::patch(store, ctx, id, &data, if_match)?;
            Ok(outcome(200, location("Groups", id), row.version))
        }
        ("DELETE", ["Groups", id]) => {
            group_ops::delete(store, ctx, id, if_match)?;
            Ok(BulkOutcome {
                status: 204,
                location: Some(location("Groups", id)),
                version: None,
                response: None,
            })
        }
        _ => Err(AppError::Scim(ScimError::invalid_path(format!(
            "bulk cannot {} {}",
            op.method, op.path
        )))),
    }
}
