//! `/Me` (RFC 7644 §3.11): not implemented. SCIM callers authenticate with account API
//! keys, which stand for an integration rather than a member, so there is no "me" to
//! return; RFC 7644 allows 501 here.

use actix_web::{web, HttpResponse};

use super::auth::Caller;
use super::error::ScimResult;
use crate::error::AppError;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/Me").default_service(web::to(me)));
}

async fn me(_caller: Caller) -> ScimResult<HttpResponse> {
    Err(AppError::NotImplemented(
        "/Me is not implemented: SCIM callers authenticate with an API key, which is not a member"
            .into(),
    )
    .into())
}
