//! `GET /sso/saml/{idp}/slo`: SAML Single Logout (HTTP-Redirect binding), both ways.
//!
//! - `SAMLRequest`: the IdP signs a person out. The request must be signed by one of the
//!   IdP's certificates, issued by it, addressed here, recent and new (its id is
//!   remembered in the replay table shared by every replica); the sessions of its NameID
//!   (and SessionIndex, when given) through this IdP end, and the browser goes back to the
//!   IdP with a signed `LogoutResponse` when the IdP has a SingleLogoutService.
//! - `SAMLResponse`: the IdP's answer to the `LogoutRequest` of a sign-out started here
//!   ([`super::logout`]); it must be signed, issued by the IdP and answer the request id
//!   this browser keeps in its cookie. The local session ended before the browser left.

use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::Utc;
use portcullis_app::sessions::{self, IdpLogout};
use portcullis_domain::{IdentityProvider, IdpProtocol, SamlSettings};
use portcullis_sso::saml::{self, SpConfig};
use rand::RngCore;

use super::load_idp;
use super::logout::{saml_request_cookie, signed_out, SAML_REQUEST_COOKIE};
use crate::error::{blocking_failed, AppError, PageError};
use crate::state::AppState;

/// Whether the raw query carries the parameter `name`.
fn carries(raw_query: &str, name: &str) -> bool {
    raw_query
        .split('&')
        .any(|pair| pair.split('=').next() == Some(name))
}

/// The single logout endpoint of a SAML IdP.
#[get("/sso/saml/{idp_id}/slo")]
pub async fn slo(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (account, idp) = load_idp(&state, &path).await?;
    let IdpProtocol::Saml(settings) = &idp.protocol else {
        return Err(AppError::NotFound.into());
    };
    let raw_query = req.query_string().to_owned();
    if carries(&raw_query, "SAMLRequest") {
        from_idp(&state, &idp, settings, raw_query).await
    } else if carries(&raw_query, "SAMLResponse") {
        Ok(answered(&state, &req, &idp, settings, account.slug, raw_query).await)
    } else {
        Err(AppError::BadRequest(
            "a single logout URL takes a SAMLRequest or a SAMLResponse".into(),
        )
        .into())
    }
}

/// An IdP-initiated sign-out.
async fn from_idp(
    state: &AppState,
    idp: &IdentityProvider,
    settings: &SamlSettings,
    raw_query: String,
) -> Result<HttpResponse, PageError> {
    let sp = SpConfig::for_idp(&state.config.public_url, idp.id);
    let now = Utc::now();
    let (checked, checked_sp) = (settings.clone(), sp.clone());
    let verified = web::block(move || {
        saml::verify_logout_request(
            &checked,
            &checked_sp,
            &raw_query,
            now,
            portcullis_app::sso::CLOCK_SKEW,
        )
    })
    .await
    .map_err(blocking_failed)?
    .map_err(|rejection| {
        AppError::BadRequest(format!(
            "This sign-out request from the identity provider was refused: {rejection}."
        ))
    })?;
    let (ending, request) = (idp.clone(), verified.clone());
    let ended = state
        .write(move |store| {
            sessions::end_by_idp(
                store,
                &IdpLogout {
                    idp: &ending,
                    request_id: &request.id,
                    name_id: &request.name_id,
                    session_indexes: &request.session_indexes,
                    replay_expires_at: request.replay_expires_at,
                },
                now,
            )
        })
        .await?;
    tracing::info!(idp = %idp.id, ended, "signed out by the identity provider");
    let secure = state.config.secure_cookies();
    let answer = match (settings.slo_url.as_deref(), settings.logout_signing_key()) {
        (Some(slo_url), Some(key)) => {
            let mut id = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut id);
            saml::logout_response(
                &sp,
                slo_url,
                key,
                &verified.id,
                true,
                id,
                verified.relay_state.as_deref(),
                now,
            )
            .map_err(|e| AppError::Internal(format!("the LogoutResponse: {e}")))?
        }
        // Nowhere to answer: say so here.
        _ => {
            return Ok(signed_out(
                StatusCode::OK,
                "Your identity provider signed you out of Portcullis.",
                None,
                crate::session::clear_session_cookie(secure),
            ))
        }
    };
    Ok(HttpResponse::Found()
        .cookie(crate::session::clear_session_cookie(secure))
        .insert_header((header::LOCATION, answer))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// The IdP's answer to a sign-out started here.
async fn answered(
    state: &AppState,
    req: &HttpRequest,
    idp: &IdentityProvider,
    settings: &SamlSettings,
    slug: portcullis_domain::AccountSlug,
    raw_query: String,
) -> HttpResponse {
    let secure = state.config.secure_cookies();
    let mut gone = saml_request_cookie(idp.id, String::new(), secure);
    gone.make_removal();
    let pending = req
        .cookie(SAML_REQUEST_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty());
    let Some(pending) = pending else {
        return signed_out(
            StatusCode::BAD_REQUEST,
            "This sign-out answer does not belong to a sign-out started in this browser. You are signed out of Portcullis.",
            Some(slug),
            gone,
        );
    };
    let sp = SpConfig::for_idp(&state.config.public_url, idp.id);
    let checked = settings.clone();
    let verdict = web::block(move || {
        saml::verify_logout_response(
            &checked,
            &sp,
            &raw_query,
            &pending,
            Utc::now(),
            portcullis_app::sso::CLOCK_SKEW,
        )
    })
    .await;
    match verdict {
        Ok(Ok(_)) => signed_out(
            StatusCode::OK,
            "You are signed out of Portcullis and of your identity provider.",
            Some(slug),
            gone,
        ),
        // The cookie stays: the genuine answer may still come.
        Ok(Err(rejection)) => signed_out(
            StatusCode::BAD_REQUEST,
            &format!(
                "You are signed out of Portcullis. The identity provider's answer was refused: {rejection}."
            ),
            Some(slug),
            crate::session::clear_session_cookie(secure),
        ),
        Err(_) => signed_out(
            StatusCode::INTERNAL_SERVER_ERROR,
            "You are signed out of Portcullis. The identity provider's answer could not be checked.",
            Some(slug),
            crate::session::clear_session_cookie(secure),
        ),
    }
}
