//! `/api/v1/idps`: the account's identity providers (SAML and OIDC). A SAML IdP is made
//! from pasted metadata XML, from a metadata URL (fetched now and on refresh, keeping the
//! last good copy when a refresh fails), or by hand. An OIDC issuer is checked by
//! discovery before it is saved. The OIDC client secret is write-only: no answer carries
//! it. A SAML IdP can have its AuthnRequests signed: Portcullis then makes the IdP's SP
//! key pair and publishes only the certificate; the private key is in no answer either.
//! Every answer says what to copy into the IdP.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::Utc;
use portcullis_domain::policy;
use portcullis_domain::{
    IdentityProvider, IdpId, IdpProtocol, OidcSettings, SamlSettings, SpSigningKey,
};
use portcullis_sso::oidc::HttpPolicy;
use portcullis_sso::saml;
use uuid::Uuid;

use super::auth::{Caller, Manager};
use super::members::parse_id;
use crate::error::{ApiError, AppError};
use crate::ops;
use crate::state::AppState;

mod input;
mod sp_key;
mod view;

pub use input::{IdpUpdate, NewIdp, OidcInput, SamlInput};
pub use view::{IdpJson, IdpList, OidcJson, SamlJson, SpJson};

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_route)
        .service(create_route)
        .service(get_route)
        .service(update_route)
        .service(delete_route)
        .service(refresh_route)
        .service(rotate_sp_key_route);
}

/// The HTTP policy for talking to IdPs under this server's configuration.
pub fn http_policy(state: &AppState) -> HttpPolicy {
    HttpPolicy {
        allow_private_addresses: state.config.sso_allow_private_addresses,
    }
}

fn sso_error(e: portcullis_sso::SsoError) -> AppError {
    AppError::BadRequest(e.to_string())
}

/// The refusal for IdP-initiated sign-in on an OIDC IdP.
pub const OIDC_IDP_INITIATED: &str =
    "IdP-initiated sign-in is only available for SAML identity providers; OpenID Connect cannot start a sign-in at the IdP";

/// The refusal for signed AuthnRequests on an OIDC IdP.
pub const OIDC_SIGNED_REQUESTS: &str =
    "signed AuthnRequests are only available for SAML identity providers";

/// What Portcullis itself keeps of a SAML IdP besides what the admin enters: the
/// IdP-initiated and request-signing switches and the SP key pair.
struct SamlOwn {
    idp_initiated: bool,
    sign_authn_requests: bool,
    sp_signing_key: Option<SpSigningKey>,
}

/// Builds SAML settings from metadata XML, a metadata URL or hand-entered values.
async fn saml_settings(
    state: &AppState,
    input: SamlInput,
    own: SamlOwn,
) -> Result<SamlSettings, AppError> {
    let (metadata_xml, metadata_url, parsed) =
        if let Some(xml) = input.metadata_xml.filter(|x| !x.trim().is_empty()) {
            let parsed = saml::parse_idp_metadata(&xml).map_err(sso_error)?;
            (Some(xml), None, Some(parsed))
        } else if let Some(url) = input.metadata_url.filter(|u| !u.trim().is_empty()) {
            let url = url.trim().to_owned();
            let (xml, parsed) = saml::fetch_metadata(&url, &http_policy(state))
                .await
                .map_err(sso_error)?;
            (Some(xml), Some(url), Some(parsed))
        } else {
            (None, None, None)
        };
    let (idp_entity_id, sso_url, signing_certificates) = match parsed {
        Some(p) => (p.entity_id, p.sso_url, p.signing_certificates),
        None => {
            let certificates = input
                .certificates
                .unwrap_or_default()
                .iter()
                .filter(|c| !c.trim().is_empty())
                .map(|c| saml::normalize_certificate(c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(sso_error)?;
            (
                input.entity_id.unwrap_or_default().trim().to_owned(),
                input.sso_url.unwrap_or_default().trim().to_owned(),
                certificates,
            )
        }
    };
    Ok(SamlSettings {
        idp_entity_id,
        sso_url,
        signing_certificates,
        idp_initiated: own.idp_initiated,
        metadata_url,
        metadata_xml,
        email_attribute: input.email_attribute.filter(|a| !a.trim().is_empty()),
        name_attribute: input.name_attribute.filter(|a| !a.trim().is_empty()),
        sign_authn_requests: own.sign_authn_requests,
        sp_signing_key: own.sp_signing_key,
    }
    .validate()?)
}

/// Checks OIDC settings, including discovery of the issuer.
pub async fn oidc_settings(state: &AppState, s: OidcSettings) -> Result<OidcSettings, AppError> {
    let s = s.validate()?;
    if s.client_secret.trim().is_empty() {
        return Err(AppError::BadRequest("the client secret is required".into()));
    }
    portcullis_sso::oidc::discover(&s.issuer, &http_policy(state))
        .await
        .map_err(sso_error)?;
    Ok(s)
}

fn scopes(list: Option<Vec<String>>) -> Vec<String> {
    list.unwrap_or_else(|| vec!["email".into(), "profile".into()])
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && s != "openid")
        .collect()
}

/// Creates an IdP in the caller's account.
pub async fn create_idp(
    state: &AppState,
    caller: &Caller,
    new: NewIdp,
) -> Result<IdentityProvider, AppError> {
    caller.require_manager()?;
    let description = IdentityProvider::validate_description(&new.description)?;
    let id = IdpId::from_uuid(Uuid::new_v4());
    let idp_initiated = new.idp_initiated.unwrap_or(false);
    let sign_authn_requests = new.sign_authn_requests.unwrap_or(false);
    let protocol = match (new.saml, new.oidc) {
        (Some(s), None) => {
            let own = SamlOwn {
                idp_initiated,
                sign_authn_requests,
                sp_signing_key: sp_key::ensure(id, sign_authn_requests, None).await?,
            };
            IdpProtocol::Saml(saml_settings(state, s, own).await?)
        }
        (None, Some(o)) => {
            if idp_initiated {
                return Err(AppError::BadRequest(OIDC_IDP_INITIATED.into()));
            }
            if sign_authn_requests {
                return Err(AppError::BadRequest(OIDC_SIGNED_REQUESTS.into()));
            }
            IdpProtocol::Oidc(
                oidc_settings(
                    state,
                    OidcSettings {
                        issuer: o.issuer.unwrap_or_default().trim().to_owned(),
                        client_id: o.client_id.unwrap_or_default().trim().to_owned(),
                        client_secret: o.client_secret.unwrap_or_default(),
                        scopes: scopes(o.scopes),
                    },
                )
                .await?,
            )
        }
        _ => {
            return Err(AppError::BadRequest(
                "give exactly one of `saml` or `oidc`".into(),
            ))
        }
    };
    let idp = IdentityProvider {
        id,
        account: caller.account.id,
        description,
        enabled: new.enabled.unwrap_or(true),
        protocol,
        created_at: Utc::now(),
    };
    let (actor, ip, saved) = (caller.actor(), caller.ip_text(), idp.clone());
    state
        .db(move |store| {
            store.insert_idp(&saved)?;
            Ok(audit_idp(store, &saved, actor, ip, "idp.created"))
        })
        .await??;
    Ok(idp)
}

fn audit_idp(
    store: &portcullis_store::Store,
    idp: &IdentityProvider,
    actor: portcullis_domain::Actor,
    ip: Option<String>,
    action: &str,
) -> Result<(), AppError> {
    let detail = serde_json::json!({
        "description": idp.description,
        "protocol": idp.kind(),
        "enabled": idp.enabled,
        "idp_initiated": idp.allows_idp_initiated(),
        "sign_authn_requests": matches!(&idp.protocol, IdpProtocol::Saml(s) if s.sign_authn_requests),
    })
    .to_string();
    ops::audit_detail(
        store,
        idp.account,
        actor,
        action,
        Some(idp.id.to_string()),
        ip,
        detail,
        Utc::now(),
    )
}

/// Loads an IdP of the caller's account (404 for another account's).
pub async fn load_idp(
    state: &AppState,
    caller: &Caller,
    id: IdpId,
) -> Result<IdentityProvider, AppError> {
    caller.require_manager()?;
    let account = caller.account.id;
    state
        .db(move |store| store.idp(account, id))
        .await?
        .ok_or(AppError::NotFound)
}

/// Saves a changed IdP, asking the domain first when it stops being usable.
async fn save_idp(
    state: &AppState,
    caller: &Caller,
    before: &IdentityProvider,
    after: IdentityProvider,
    action: &'static str,
) -> Result<IdentityProvider, AppError> {
    let (actor, ip, saved) = (caller.actor(), caller.ip_text(), after.clone());
    let disabling = before.enabled && !after.enabled;
    state
        .db(move |store| {
            if disabling {
                let account = store
                    .account(saved.account)?
                    .ok_or(portcullis_store::StoreError::NotFound)?;
                let idps = store.list_idps(saved.account)?;
                if let Err(e) = policy::may_remove_idp(&account, &idps, saved.id) {
                    return Ok(Err(AppError::Conflict(e.to_string())));
                }
            }
            store.update_idp(&saved)?;
            Ok(audit_idp(store, &saved, actor, ip, action))
        })
        .await??;
    Ok(after)
}

/// Applies a change to an IdP.
pub async fn update_idp(
    state: &AppState,
    caller: &Caller,
    id: IdpId,
    update: IdpUpdate,
) -> Result<IdentityProvider, AppError> {
    let before = load_idp(state, caller, id).await?;
    let mut after = before.clone();
    if let Some(d) = &update.description {
        after.description = IdentityProvider::validate_description(d)?;
    }
    if let Some(enabled) = update.enabled {
        after.enabled = enabled;
    }
    after.protocol = match (before.protocol.clone(), update.saml, update.oidc) {
        (IdpProtocol::Saml(current), saml, None) => {
            let sign_authn_requests = update
                .sign_authn_requests
                .unwrap_or(current.sign_authn_requests);
            let own = SamlOwn {
                idp_initiated: update.idp_initiated.unwrap_or(current.idp_initiated),
                sign_authn_requests,
                sp_signing_key: sp_key::ensure(
                    id,
                    sign_authn_requests,
                    current.sp_signing_key.clone(),
                )
                .await?,
            };
            match saml {
                Some(input) => IdpProtocol::Saml(saml_settings(state, input, own).await?),
                None => IdpProtocol::Saml(SamlSettings {
                    idp_initiated: own.idp_initiated,
                    sign_authn_requests: own.sign_authn_requests,
                    sp_signing_key: own.sp_signing_key,
                    ..current
                }),
            }
        }
        (IdpProtocol::Oidc(current), None, oidc) => {
            if update.idp_initiated == Some(true) {
                return Err(AppError::BadRequest(OIDC_IDP_INITIATED.into()));
            }
            if update.sign_authn_requests == Some(true) {
                return Err(AppError::BadRequest(OIDC_SIGNED_REQUESTS.into()));
            }
            match oidc {
                Some(o) => {
                    let next = OidcSettings {
                        issuer: o.issuer.map_or(current.issuer.clone(), |i| i.trim().to_owned()),
                        client_id: o
                            .client_id
                            .map_or(current.client_id.clone(), |c| c.trim().to_owned()),
                        client_secret: o
                            .client_secret
                            .filter(|s| !s.is_empty())
                            .unwrap_or(current.client_secret.clone()),
                        scopes: o.scopes.map_or(current.scopes.clone(), |s| scopes(Some(s))),
                    };
                    IdpProtocol::Oidc(oidc_settings(state, next).await?)
                }
                None => IdpProtocol::Oidc(current),
            }
        }
        _ => {
            return Err(AppError::BadRequest(
                "an IdP keeps its protocol: send `saml` settings to a SAML IdP and `oidc` settings to an OIDC IdP".into(),
            ))
        }
    };
    let saved = save_idp(state, caller, &before, after, "idp.updated").await;
    // Logins must not go on with the OIDC discovery cached for the old settings.
    state.sso_providers.invalidate(id);
    saved
}

/// Fetches a SAML IdP's metadata URL again. On failure the last good copy is kept and
/// the refusal says why.
pub async fn refresh_metadata(
    state: &AppState,
    caller: &Caller,
    id: IdpId,
) -> Result<IdentityProvider, AppError> {
    let before = load_idp(state, caller, id).await?;
    let IdpProtocol::Saml(current) = &before.protocol else {
        return Err(AppError::BadRequest(
            "only SAML identity providers have metadata".into(),
        ));
    };
    let Some(url) = current.metadata_url.clone() else {
        return Err(AppError::BadRequest(
            "this identity provider was not created from a metadata URL".into(),
        ));
    };
    let settings = refreshed(state, current, &url).await.map_err(|e| {
        AppError::Conflict(format!(
            "could not refresh the metadata ({}); the last good copy is kept",
            e.public_message()
        ))
    })?;
    let mut after = before.clone();
    after.protocol = IdpProtocol::Saml(settings);
    save_idp(state, caller, &before, after, "idp.metadata.refreshed").await
}

async fn refreshed(
    state: &AppState,
    current: &SamlSettings,
    url: &str,
) -> Result<SamlSettings, AppError> {
    let (xml, parsed) = saml::fetch_metadata(url, &http_policy(state))
        .await
        .map_err(sso_error)?;
    Ok(SamlSettings {
        idp_entity_id: parsed.entity_id,
        sso_url: parsed.sso_url,
        signing_certificates: parsed.signing_certificates,
        metadata_xml: Some(xml),
        ..current.clone()
    }
    .validate()?)
}

/// Replaces a SAML IdP's SP key pair with a new one, for instance when the old private
/// key may have leaked. The IdP must be given the new certificate (or the SP metadata
/// again): until then it refuses the signed requests.
pub async fn rotate_sp_key(
    state: &AppState,
    caller: &Caller,
    id: IdpId,
) -> Result<IdentityProvider, AppError> {
    let before = load_idp(state, caller, id).await?;
    let IdpProtocol::Saml(current) = &before.protocol else {
        return Err(AppError::BadRequest(
            "only SAML identity providers have an SP signing key".into(),
        ));
    };
    let mut after = before.clone();
    after.protocol = IdpProtocol::Saml(SamlSettings {
        sp_signing_key: Some(sp_key::generate(id).await?),
        ..current.clone()
    });
    save_idp(state, caller, &before, after, "idp.sp_key.rotated").await
}

/// Refreshes every SAML IdP that came from a metadata URL; failures keep the last good
/// copy and are logged. Run on a schedule by [`refresh_loop`].
pub async fn refresh_all(state: &AppState) -> Result<usize, AppError> {
    let idps = state.db(|store| store.all_idps()).await?;
    let mut refreshed_count = 0;
    for idp in idps {
        let IdpProtocol::Saml(current) = &idp.protocol else {
            continue;
        };
        let Some(url) = current.metadata_url.as_deref() else {
            continue;
        };
        match refreshed(state, current, url).await {
            Ok(settings) if IdpProtocol::Saml(settings.clone()) != idp.protocol => {
                let mut after = idp.clone();
                after.protocol = IdpProtocol::Saml(settings);
                state
                    .db(move |store| {
                        store.update_idp(&after)?;
                        Ok(audit_idp(
                            store,
                            &after,
                            portcullis_domain::Actor::System,
                            None,
                            "idp.metadata.refreshed",
                        ))
                    })
                    .await??;
                refreshed_count += 1;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(idp = %idp.id, error = %e, "metadata refresh failed; keeping the last good copy")
            }
        }
    }
    Ok(refreshed_count)
}

/// Refreshes metadata every `period` until the process ends.
pub async fn refresh_loop(state: AppState, period: std::time::Duration) {
    let mut ticker = tokio::time::interval(period);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if let Err(e) = refresh_all(&state).await {
            tracing::warn!(error = %e, "metadata refresh round failed");
        }
    }
}

/// Deletes an IdP unless it is the last enabled one under enforcement.
pub async fn delete_idp(state: &AppState, caller: &Caller, id: IdpId) -> Result<(), AppError> {
    let idp = load_idp(state, caller, id).await?;
    let (actor, ip) = (caller.actor(), caller.ip_text());
    let deleted = state
        .db(move |store| {
            let account = store
                .account(idp.account)?
                .ok_or(portcullis_store::StoreError::NotFound)?;
            let idps = store.list_idps(idp.account)?;
            if let Err(e) = policy::may_remove_idp(&account, &idps, idp.id) {
                return Ok(Err(AppError::Conflict(e.to_string())));
            }
            store.delete_idp(idp.account, idp.id)?;
            Ok(audit_idp(store, &idp, actor, ip, "idp.deleted"))
        })
        .await?;
    state.sso_providers.invalidate(id);
    deleted
}

/// Lists the account's IdPs.
#[utoipa::path(operation_id = "listIdps", tag = "identity providers", responses((status = 200, body = IdpList)), security(("api_key" = [])))]
#[get("/api/v1/idps")]
async fn list_route(state: web::Data<AppState>, caller: Manager) -> Result<HttpResponse, ApiError> {
    let account = caller.0.account.id;
    let idps = state.db(move |store| store.list_idps(account)).await?;
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
    let idp = create_idp(&state, &caller.0, body.into_inner()).await?;
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
    let idp = load_idp(&state, &caller.0, parse_id(&id)?).await?;
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
    let idp = update_idp(&state, &caller.0, parse_id(&id)?, body.into_inner()).await?;
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
    let idp = refresh_metadata(&state, &caller.0, parse_id(&id)?).await?;
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
    let idp = rotate_sp_key(&state, &caller.0, parse_id(&id)?).await?;
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
    delete_idp(&state, &caller.0, parse_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
