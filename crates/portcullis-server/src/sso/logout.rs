//! Signing out at the IdP too. After the local session ends, the browser goes on to the
//! IdP ([`continue_at_idp`]) when the session's IdP can sign it out:
//!
//! - OpenID Connect RP-Initiated Logout, when the provider advertises an
//!   `end_session_endpoint`: with the sign-in's ID token as `id_token_hint`, the IdP's
//!   `post_logout_redirect_uri` and a fresh `state`, which comes back to
//!   `GET /sso/oidc/{idp}/logout` and must match the one this browser was given;
//! - SAML Single Logout, when the IdP has a SingleLogoutService: a signed `LogoutRequest`
//!   naming the session's NameID and SessionIndex (HTTP-Redirect binding), whose
//!   `LogoutResponse` comes back to `GET /sso/saml/{idp}/slo` ([`super::saml_slo`]) and
//!   must answer the request id this browser keeps in a cookie.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use maud::html;
use portcullis_domain::{IdpId, IdpProtocol, LogoutHint};
use portcullis_sso::oidc;
use portcullis_sso::saml::{self, SpConfig};
use rand::RngCore;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::error::{AppError, PageError};
use crate::pages;
use crate::state::AppState;

/// The cookie holding the `state` of a sign-out on its way through the IdP.
const STATE_COOKIE: &str = "portcullis_logout_state";

/// The cookie holding the id of the `LogoutRequest` a SAML IdP answers.
pub const SAML_REQUEST_COOKIE: &str = "portcullis_saml_logout";

/// The `post_logout_redirect_uri` to register at an OpenID provider for `idp`.
pub fn oidc_post_logout_uri(public_url: &str, idp: IdpId) -> String {
    format!("{}/sso/oidc/{idp}/logout", public_url.trim_end_matches('/'))
}

fn state_cookie(idp: IdpId, value: String, secure: bool) -> Cookie<'static> {
    logout_cookie(
        STATE_COOKIE,
        format!("/sso/oidc/{idp}/logout"),
        value,
        secure,
    )
}

/// The cookie carrying the id of a SAML `LogoutRequest` to `idp`, limited to its SLO URL.
pub fn saml_request_cookie(idp: IdpId, value: String, secure: bool) -> Cookie<'static> {
    logout_cookie(
        SAML_REQUEST_COOKIE,
        format!("/sso/saml/{idp}/slo"),
        value,
        secure,
    )
}

fn logout_cookie(name: &'static str, path: String, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::minutes(10))
        .finish()
}

/// Where to send a browser whose session (through `idp`, with `hint`) just ended, with
/// the cookie carrying what its return must match: the provider's end-session URL, when
/// the session came from an OpenID provider that has one, or the SAML IdP's
/// SingleLogoutService with a signed `LogoutRequest`. `None` keeps the sign-out local (no
/// endpoint, or the IdP cannot be reached: the session is ended here all the same).
pub async fn at_idp(
    state: &AppState,
    idp: IdpId,
    hint: &LogoutHint,
) -> Option<(String, Cookie<'static>)> {
    let found = state.read(move |store| Ok(store.idp_by_id(idp)?)).await;
    let Ok(Some(provider_idp)) = found else {
        return None;
    };
    let (settings, id_token) = match (&provider_idp.protocol, hint) {
        (IdpProtocol::Oidc(settings), LogoutHint::Oidc { id_token }) => (settings, id_token),
        (IdpProtocol::Saml(settings), LogoutHint::Saml { .. }) => {
            return at_saml_idp(state, idp, settings, hint)
        }
        _ => return None,
    };
    let provider = match state
        .sso_providers
        .get(idp, &settings.issuer, &state.http_policy())
        .await
    {
        Ok(provider) => provider,
        Err(e) => {
            tracing::warn!(%idp, error = %e, "signed out locally: the OpenID provider cannot be reached");
            return None;
        }
    };
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let logout_state = URL_SAFE_NO_PAD.encode(bytes);
    let redirect = oidc_post_logout_uri(&state.config.public_url, idp);
    match oidc::logout_url(
        &provider,
        id_token,
        &settings.client_id,
        &redirect,
        &logout_state,
    ) {
        Ok(Some(url)) => Some((
            url,
            state_cookie(idp, logout_state, state.config.secure_cookies()),
        )),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(%idp, error = %e, "signed out locally: no end-session URL");
            None
        }
    }
}

/// The signed `LogoutRequest` redirect to a SAML IdP's SingleLogoutService for the session
/// `hint` describes, with the cookie keeping its id.
fn at_saml_idp(
    state: &AppState,
    idp: IdpId,
    settings: &portcullis_domain::SamlSettings,
    hint: &LogoutHint,
) -> Option<(String, Cookie<'static>)> {
    let LogoutHint::Saml {
        name_id,
        format,
        session_index,
    } = hint
    else {
        return None;
    };
    let (slo_url, key) = (settings.slo_url.as_deref()?, settings.logout_signing_key()?);
    let sp = SpConfig::for_idp(&state.config.public_url, idp);
    let mut id = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id);
    match saml::logout_request(
        &sp,
        slo_url,
        Some(key),
        name_id,
        format.as_deref(),
        session_index.as_deref(),
        id,
        "",
        chrono::Utc::now(),
    ) {
        Ok(redirect) => Some((
            redirect.url,
            saml_request_cookie(idp, redirect.request_id, state.config.secure_cookies()),
        )),
        Err(e) => {
            tracing::warn!(%idp, error = %e, "signed out locally: no SAML LogoutRequest");
            None
        }
    }
}

/// The answer to a sign-out that continues at the provider: the page says so and the
/// browser goes on at once (`Refresh`), with a link for one that does not. Not a redirect:
/// the sign-out is a form post, and the pages' `form-action 'self'` policy stops a form's
/// redirect to another site.
pub fn continue_at_idp(url: &str, state_cookie: Cookie<'static>, secure: bool) -> HttpResponse {
    let body = pages::layout(
        "Signing out",
        html! {
            h1 { "Signing out" }
            p { "You are signed out of Portcullis. Your identity provider signs you out next." }
            p { a #idp-sign-out href=(url) { "Continue" } }
        },
    );
    HttpResponse::Ok()
        .cookie(crate::session::clear_session_cookie(secure))
        .cookie(state_cookie)
        .insert_header(("Refresh", format!("0; url={url}")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

/// The query the provider returns with.
#[derive(Debug, Deserialize)]
pub struct LoggedOut {
    state: Option<String>,
}

/// `GET /sso/oidc/{idp}/logout`: the provider sends the browser back after signing it
/// out; the `state` must be the one this browser was given.
#[get("/sso/oidc/{idp_id}/logout")]
pub async fn oidc_logged_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<LoggedOut>,
) -> Result<HttpResponse, PageError> {
    let idp: IdpId = path.parse().map_err(|_| AppError::NotFound)?;
    let expected = req.cookie(STATE_COOKIE).map(|c| c.value().to_owned());
    let matches = match (expected.as_deref(), query.state.as_deref()) {
        (Some(expected), Some(got)) if !expected.is_empty() => {
            bool::from(expected.as_bytes().ct_eq(got.as_bytes()))
        }
        _ => false,
    };
    if !matches {
        return Err(AppError::BadRequest(
            "This sign-out answer does not belong to a sign-out started in this browser. You are signed out of Portcullis."
                .into(),
        )
        .into());
    }
    let slug = state
        .read(move |store| {
            let Some(idp) = store.idp_by_id(idp)? else {
                return Ok(None);
            };
            Ok(store.account(idp.account)?.map(|a| a.slug))
        })
        .await?;
    let mut gone = state_cookie(idp, String::new(), state.config.secure_cookies());
    gone.make_removal();
    Ok(signed_out(
        StatusCode::OK,
        "You are signed out of Portcullis and of your identity provider.",
        slug,
        gone,
    ))
}

/// The page after a sign-out that went through the IdP: `message`, a link to sign in
/// again when the account is known, and `cookie` (the sign-out's own, removed).
pub fn signed_out(
    status: StatusCode,
    message: &str,
    slug: Option<portcullis_domain::AccountSlug>,
    cookie: Cookie<'static>,
) -> HttpResponse {
    let body = pages::layout(
        "Signed out",
        html! {
            h1 { "Signed out" }
            p { (message) }
            @if let Some(slug) = slug { p { a href={ "/a/" (slug) "/login" } { "Sign in again" } } }
        },
    );
    HttpResponse::build(status)
        .cookie(cookie)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body.into_string())
}
