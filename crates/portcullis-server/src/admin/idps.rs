//! `/api/v1/idps`: the account's identity providers (SAML and OIDC). A SAML IdP is made
//! from pasted metadata XML, from a metadata URL (fetched now and on refresh, keeping the
//! last good copy when a refresh fails), or by hand. An OIDC issuer is checked by
//! discovery before it is saved. The OIDC client secret is write-only: no answer carries
//! it. A SAML IdP can have its AuthnRequests signed, single logout and encrypted
//! assertions: Portcullis then makes the IdP's SP signing or encryption key pair and
//! publishes only the certificates; the private keys are in no answer either.
//! Every answer says what to copy into the IdP.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use portcullis_app::idps;

use super::auth::Manager;
use super::members::parse_id;
use crate::error::ApiError;
use crate::state::AppState;

mod input;
mod view;

pub use input::{EncryptedAssertions, IdpUpdate, NewIdp, OidcInput, SamlInput};
pub use view::{IdpJson, IdpList, OidcJson, SamlJson, SpJson};

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_route)
        .service(create_route)
        .service(get_route)
        .service(update_route)
        .service(delete_route)
        .service(refresh_route)
        .service(rotate_sp_key_route)
        .service(rotate_sp_encryption_key_route);
}

/// Lists the account's IdPs.
#[utoipa::path(operation_id = "listIdps", tag = "identity providers", responses((status = 200, body = IdpList)), security(("api_key" = [])))]
#[get("/api/v1/idps")]
async fn list_route(state: web::Data<AppState>, caller: Manager) -> Result<HttpResponse, ApiError> {
    let idps = state
        .read(move |store| idps::list(store, &caller.0))
        .await?;
    let public = &state.config.public_url;
    Ok(HttpResponse::Ok().json(IdpList {
        idps: idps.iter().map(|i| IdpJson::of(i, public)).collect(),
    }))
}

/// Creates an IdP: SAML from metadata XML, a metadata URL or by hand; OIDC from its
/// issuer (checked by discovery), client id and secret.
#[utoipa::path(operation_id = "createIdp", tag = "identity providers", request_body = NewIdp,
    responses((status = 201, body = IdpJson), (status = 400, description = "invalid settings, or IdP-initiated asked for OIDC")),
    security(("api_key" = [])))]
#[post("/api/v1/idps")]
async fn create_route(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Json<NewIdp>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner().into();
    let idp = idps::create(&**state, &state.http_policy(), &caller.0, new).await?;
    Ok(HttpResponse::Created().json(IdpJson::of(&idp, &state.config.public_url)))
}

/// One IdP, with what to copy into it.
#[utoipa::path(operation_id = "getIdp", tag = "identity providers", params(("id" = String, Path, description = "IdP id")),
    responses((status = 200, body = IdpJson), (status = 404)), security(("api_key" = [])))]
#[get("/api/v1/idps/{id}")]
async fn get_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let idp = state
        .read(move |store| idps::get(store, &caller.0, id))
        .await?;
    Ok(HttpResponse::Ok().json(IdpJson::of(&idp, &state.config.public_url)))
}

/// Changes an IdP: description, enabled, IdP-initiated (SAML only), protocol settings.
#[utoipa::path(operation_id = "updateIdp", tag = "identity providers", params(("id" = String, Path, description = "IdP id")), request_body = IdpUpdate,
    responses((status = 200, body = IdpJson), (status = 400), (status = 404), (status = 409, description = "the last enabled IdP under enforcement")),
    security(("api_key" = [])))]
#[patch("/api/v1/idps/{id}")]
async fn update_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
    body: web::Json<IdpUpdate>,
) -> Result<HttpResponse, ApiError> {
    let (id, change) = (parse_id(&id)?, body.into_inner().into());
    let net = state.http_policy();
    let idp = idps::update(&**state, &net, &state.sso_providers, &caller.0, id, change).await?;
    Ok(HttpResponse::Ok().json(IdpJson::of(&idp, &state.config.public_url)))
}

/// Fetches a SAML IdP's metadata URL again now.
#[utoipa::path(operation_id = "refreshIdpMetadata", tag = "identity providers", params(("id" = String, Path, description = "IdP id")),
    responses((status = 200, body = IdpJson), (status = 409, description = "the fetch failed; the last good copy is kept")),
    security(("api_key" = [])))]
#[post("/api/v1/idps/{id}/refresh-metadata")]
async fn refresh_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let idp = idps::refresh_metadata(&**state, &state.http_policy(), &caller.0, id).await?;
    Ok(HttpResponse::Ok().json(IdpJson::of(&idp, &state.config.public_url)))
}

/// Replaces a SAML IdP's SP signing key pair (made now). Give the IdP the new
/// certificate or the SP metadata again: signed requests fail there until then.
#[utoipa::path(operation_id = "rotateIdpSpKey", tag = "identity providers", params(("id" = String, Path, description = "IdP id")),
    responses((status = 200, body = IdpJson), (status = 400, description = "not a SAML IdP"), (status = 404)),
    security(("api_key" = [])))]
#[post("/api/v1/idps/{id}/rotate-sp-key")]
async fn rotate_sp_key_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let idp = idps::rotate_sp_key(&**state, &caller.0, parse_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(IdpJson::of(&idp, &state.config.public_url)))
}

/// Replaces a SAML IdP's SP encryption key pair (made now); the SP metadata publishes
/// the new certificate at once. The replaced key still decrypts for 7 days, so sign-ins
/// the IdP encrypts to it before it takes the new certificate succeed.
#[utoipa::path(operation_id = "rotateIdpSpEncryptionKey", tag = "identity providers", params(("id" = String, Path, description = "IdP id")),
    responses((status = 200, body = IdpJson), (status = 400, description = "not a SAML IdP, or encrypted assertions were never switched on"), (status = 404)),
    security(("api_key" = [])))]
#[post("/api/v1/idps/{id}/rotate-sp-encryption-key")]
async fn rotate_sp_encryption_key_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let idp = idps::rotate_sp_encryption_key(&**state, &caller.0, parse_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(IdpJson::of(&idp, &state.config.public_url)))
}

/// Deletes an IdP with its SSO links.
#[utoipa::path(operation_id = "deleteIdp", tag = "identity providers", params(("id" = String, Path, description = "IdP id")),
    responses((status = 204), (status = 404), (status = 409, description = "the last enabled IdP under enforcement")),
    security(("api_key" = [])))]
#[delete("/api/v1/idps/{id}")]
async fn delete_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, providers) = (parse_id(&id)?, state.sso_providers.clone());
    state
        .write(move |store| idps::delete(store, &providers, &caller.0, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
