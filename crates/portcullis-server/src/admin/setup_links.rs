//! `/api/v1/setup-links`: links an admin gives the customer's IT admin, who is not a
//! member, to set up the identity provider, SCIM and domains (see `crate::setup`).

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::Utc;
use portcullis_app::setup_links;
use portcullis_domain::SetupLink;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Manager;
use super::members::parse_id;
use crate::error::ApiError;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_route)
        .service(create_route)
        .service(revoke_route);
}

/// A setup link (never its secret, which only the answer that made it holds).
#[derive(Debug, Serialize, ToSchema)]
pub struct SetupLinkJson {
    /// Its id.
    pub id: String,
    /// What it opens: `sso`, `scim`, `domains`.
    pub sections: Vec<String>,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

impl SetupLinkJson {
    fn of(l: &SetupLink) -> Self {
        Self {
            id: l.id.to_string(),
            sections: l.sections.iter().map(|s| s.as_str().to_owned()).collect(),
            created_at: l.created_at.to_rfc3339(),
            expires_at: l.expires_at.to_rfc3339(),
            revoked_at: l.revoked_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// A link to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSetupLink {
    /// What it opens: any of `sso`, `scim`, `domains`.
    pub sections: Vec<String>,
    /// How long it works: 1 to 168 hours.
    pub expires_in_hours: i64,
}

/// A made link with its URL.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSetupLink {
    /// The link.
    pub setup_link: SetupLinkJson,
    /// The URL to give the IT admin; it cannot be shown again.
    pub url: String,
}

/// The account's links.
#[derive(Debug, Serialize, ToSchema)]
pub struct SetupLinkList {
    /// Newest first.
    pub setup_links: Vec<SetupLinkJson>,
}

/// Lists the account's setup links.
#[utoipa::path(operation_id = "listSetupLinks", tag = "setup-links", responses((status = 200, body = SetupLinkList)), security(("api_key" = [])))]
#[get("/api/v1/setup-links")]
async fn list_route(state: web::Data<AppState>, caller: Manager) -> Result<HttpResponse, ApiError> {
    let links = state
        .read(move |store| setup_links::list(store, &caller.0))
        .await?;
    Ok(HttpResponse::Ok().json(SetupLinkList {
        setup_links: links.iter().map(SetupLinkJson::of).collect(),
    }))
}

/// Makes a setup link for the customer's IT admin; the answer holds its URL.
#[utoipa::path(operation_id = "createSetupLink", tag = "setup-links", request_body = NewSetupLink,
    responses((status = 201, body = CreatedSetupLink),
              (status = 400, description = "no or unknown sections, or a validity outside 1 to 168 hours")),
    security(("api_key" = [])))]
#[post("/api/v1/setup-links")]
async fn create_route(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Json<NewSetupLink>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (link, token) = state
        .write(move |store| {
            setup_links::create(
                store,
                &caller.0,
                &body.sections,
                body.expires_in_hours,
                Utc::now(),
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedSetupLink {
        setup_link: SetupLinkJson::of(&link),
        url: format!("{}/setup/{token}", state.config.public_url),
    }))
}

/// Revokes a setup link: it stops working at once (410).
#[utoipa::path(operation_id = "revokeSetupLink", tag = "setup-links", params(("id" = String, Path, description = "setup link id")),
    responses((status = 204), (status = 404)), security(("api_key" = [])))]
#[delete("/api/v1/setup-links/{id}")]
async fn revoke_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    state
        .write(move |store| setup_links::revoke(store, &caller.0, id, Utc::now()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
