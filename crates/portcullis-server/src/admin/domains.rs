//! `/api/v1/domains`: the email domains the account claims, their DNS verification and
//! their policy.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::Utc;
use portcullis_app::domains::{self, DomainChange};
use portcullis_domain::AccountDomain;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::auth::Manager;
use super::members::parse_id;
use crate::error::ApiError;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_route)
        .service(create_route)
        .service(get_route)
        .service(update_route)
        .service(delete_route)
        .service(verify_route);
}

/// The DNS record that proves the account owns a domain.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    /// Always `TXT`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where to publish it, such as `_portcullis-challenge.acme.com`.
    pub name: String,
    /// What it must hold: `portcullis-verification=<token>`.
    pub value: String,
}

/// A domain the account claims.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainJson {
    /// Its id.
    pub id: String,
    /// The domain, in its IDNA ASCII form.
    pub domain: String,
    /// Whether the account has proved it owns it.
    pub verified: bool,
    /// Since when it is verified.
    pub verified_at: Option<String>,
    /// When its record was last looked up.
    pub checked_at: Option<String>,
    /// Since when the record of a verified domain has been missing (it stops being
    /// verified after 7 days).
    pub missing_since: Option<String>,
    /// Members whose email is on it must sign in through an IdP.
    pub sso_required: bool,
    /// The IdP its people are sent to; `null` for the account's only IdP or its chooser.
    pub idp_id: Option<String>,
    /// The record to publish.
    pub verification: Verification,
    /// When it was claimed.
    pub created_at: String,
}

impl DomainJson {
    fn of(d: &AccountDomain) -> Self {
        Self {
            id: d.id.to_string(),
            domain: d.domain.as_str().to_owned(),
            verified: d.is_verified(),
            verified_at: d.verified_at.map(|t| t.to_rfc3339()),
            checked_at: d.checked_at.map(|t| t.to_rfc3339()),
            missing_since: d.missing_since.map(|t| t.to_rfc3339()),
            sso_required: d.sso_required,
            idp_id: d.idp.map(|i| i.to_string()),
            verification: Verification {
                kind: "TXT",
                name: d.domain.challenge_name(),
                value: d.challenge_value(),
            },
            created_at: d.created_at.to_rfc3339(),
        }
    }
}

/// The account's domains.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainList {
    /// By name.
    pub domains: Vec<DomainJson>,
}

/// A domain to claim.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDomain {
    /// Such as `acme.com`; Unicode names are accepted and kept in IDNA form.
    pub domain: String,
}

/// A change to a domain's policy; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainUpdate {
    /// Members whose email is on the domain must sign in through an IdP, even in mixed
    /// mode.
    pub sso_required: Option<bool>,
    /// The IdP to send its people to; `null` for the account's only IdP or its chooser.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub idp_id: Option<Option<String>>,
}

/// A field that is present, `null` included.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Lists the account's domains.
#[utoipa::path(operation_id = "listDomains", tag = "domains", responses((status = 200, body = DomainList)), security(("api_key" = [])))]
#[get("/api/v1/domains")]
async fn list_route(state: web::Data<AppState>, caller: Manager) -> Result<HttpResponse, ApiError> {
    let all = state
        .read(move |store| domains::list(store, &caller.0))
        .await?;
    Ok(HttpResponse::Ok().json(DomainList {
        domains: all.iter().map(DomainJson::of).collect(),
    }))
}

/// Claims a domain; publish the record it answers with, then verify.
#[utoipa::path(operation_id = "createDomain", tag = "domains", request_body = NewDomain,
    responses((status = 201, body = DomainJson),
               (status = 400, description = "not a host name, an IP address or a public suffix"),
               (status = 409, description = "already claimed by this account, or verified by another")),
    security(("api_key" = [])))]
#[post("/api/v1/domains")]
async fn create_route(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Json<NewDomain>,
) -> Result<HttpResponse, ApiError> {
    let domain = body.into_inner().domain;
    let claim = state
        .write(move |store| domains::create(store, &caller.0, &domain, Utc::now()))
        .await?;
    Ok(HttpResponse::Created().json(DomainJson::of(&claim)))
}

/// One domain.
#[utoipa::path(operation_id = "getDomain", tag = "domains", params(("id" = String, Path, description = "domain id")),
    responses((status = 200, body = DomainJson), (status = 404)), security(("api_key" = [])))]
#[get("/api/v1/domains/{id}")]
async fn get_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let claim = state
        .read(move |store| domains::get(store, &caller.0, id))
        .await?;
    Ok(HttpResponse::Ok().json(DomainJson::of(&claim)))
}

/// Changes a domain's policy.
#[utoipa::path(operation_id = "updateDomain", tag = "domains", params(("id" = String, Path, description = "domain id")),
    request_body = DomainUpdate,
    responses((status = 200, body = DomainJson), (status = 400, description = "not an IdP of the account"),
               (status = 404), (status = 409, description = "requiring SSO needs an enabled IdP and a sign-in through one")),
    security(("api_key" = [])))]
#[patch("/api/v1/domains/{id}")]
async fn update_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
    body: web::Json<DomainUpdate>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let body = body.into_inner();
    let change = DomainChange {
        sso_required: body.sso_required,
        idp: match body.idp_id {
            None => None,
            Some(None) => Some(None),
            Some(Some(text)) => Some(Some(parse_id(&text).map_err(|_| {
                crate::error::AppError::BadRequest(format!("idp_id: {text:?} is not an id"))
            })?)),
        },
    };
    let claim = state
        .write(move |store| domains::update(store, &caller.0, id, change, Utc::now()))
        .await?;
    Ok(HttpResponse::Ok().json(DomainJson::of(&claim)))
}

/// Gives a domain up.
#[utoipa::path(operation_id = "deleteDomain", tag = "domains", params(("id" = String, Path, description = "domain id")),
    responses((status = 204), (status = 404)), security(("api_key" = [])))]
#[delete("/api/v1/domains/{id}")]
async fn delete_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    state
        .write(move |store| domains::delete(store, &caller.0, id, Utc::now()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Looks the domain's TXT record up now.
#[utoipa::path(operation_id = "verifyDomain", tag = "domains", params(("id" = String, Path, description = "domain id")),
    responses((status = 200, body = DomainJson, description = "the record holds the token: verified"),
               (status = 404),
               (status = 409, description = "the record was not found, holds other values, the lookup failed, or another account verified the domain")),
    security(("api_key" = [])))]
#[post("/api/v1/domains/{id}/verify")]
async fn verify_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let claim = domains::verify(&**state, &state.dns, &caller.0, id, Utc::now()).await?;
    Ok(HttpResponse::Ok().json(DomainJson::of(&claim)))
}
