//! `POST /Bulk` (RFC 7644 §3.7), run by `portcullis_app::scim::bulk` through the same
//! use cases as the single-resource endpoints; each operation's failure is rendered with
//! the one status mapping ([`to_scim`]).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use portcullis_app::scim::bulk;
use portcullis_scim::bulk::{BulkLimits, BulkRequest};
use portcullis_scim::ScimError;

use super::auth::{within_rate, Caller};
use super::error::{to_scim, ScimResult};
use super::{json_response, read_json};
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
    Caller(ctx, key): Caller,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let body = read_json(payload).await?;
    let request: BulkRequest = serde_json::from_value(body).map_err(|e| {
        AppError::Scim(ScimError::invalid_syntax(format!("not a BulkRequest: {e}")))
    })?;
    // One token per operation (the request took the first), before anything is applied.
    let operations = u32::try_from(request.operations.len()).unwrap_or(u32::MAX);
    within_rate(&state, &key, operations.saturating_sub(1))?;
    let response = state
        .write(move |store| bulk::run(store, &ctx, &request, &limits(), &to_scim))
        .await?;
    let body = serde_json::to_value(response)
        .map_err(|e| AppError::Internal(format!("rendering a bulk response: {e}")))?;
    Ok(json_response(StatusCode::OK, &body))
}
