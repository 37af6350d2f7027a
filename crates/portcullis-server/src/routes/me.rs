//! `GET /api/v1/me`: the signed-in member.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;

use crate::error::{ApiError, AppError};
use crate::session::{MaybeSignedIn, SignedIn};

/// Wires the route.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(me);
}

/// The member as the admin API shows them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeJson {
    id: String,
    account: String,
    email: String,
    display_name: String,
    role: &'static str,
    origin: &'static str,
}

impl MeJson {
    /// Builds the view of a signed-in member.
    pub fn of(s: &SignedIn) -> Self {
        Self {
            id: s.user.id.to_string(),
            account: s.account.slug.to_string(),
            email: s.user.email.to_string(),
            display_name: s.user.display_name.clone(),
            role: s.user.role.as_str(),
            origin: s.user.origin.as_str(),
        }
    }
}

/// The signed-in member, or 401.
#[utoipa::path(operation_id = "me", tag = "session",
    responses((status = 200, body = MeJson), (status = 401, description = "Not signed in")))]
#[get("/api/v1/me")]
async fn me(signed_in: MaybeSignedIn) -> Result<HttpResponse, ApiError> {
    let s = signed_in
        .0
        .ok_or_else(|| AppError::Unauthorized("not signed in".into()))?;
    Ok(HttpResponse::Ok().json(MeJson::of(&s)))
}
