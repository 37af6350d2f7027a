//! `/Me` (RFC 7644 §3.11): not implemented. SCIM callers authenticate with account API
//! keys, which stand for an integration rather than a member, so there is no "me" to
//! return; RFC 7644 allows 501 here.

use actix_web::{web, HttpResponse};
use portcullis_scim::ScimError;

use super::auth::Ctx;
use super::error::ScimResult;
use crate::error::AppError;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/Me").default_service(web::to(me)));
}

async fn me(_ctx: Ctx) -> ScimResult<HttpResponse> {
    Err(AppError::Scim(ScimError::new(
        501,
        None,
        "/Me is not implemented: SCIM callers authenticate with an API key, which is not a member",
    ))
    .into())
}
