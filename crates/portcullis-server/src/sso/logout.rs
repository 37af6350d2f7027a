//! Signing out at the IdP too. OpenID Connect RP-Initiated Logout: after the local
//! session ends, a browser whose session came from an OpenID provider that advertises an
//! `end_session_endpoint` goes on there ([`continue_at_idp`]) with the sign-in's ID token as `id_token_hint`,
//! the IdP's `post_logout_redirect_uri` and a fresh `state`, which comes back to
//! `GET /sso/oidc/{idp}/logout` and must match the one this browser was given.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use maud::html;
use portcullis_domain::{IdpId, IdpProtocol, LogoutHint};
use portcullis_sso::oidc;
use rand::RngCore;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::error::{AppError, PageError};
use crate::pages;
use crate::state::AppState;

/// The cookie holding the `state` of a sign-out on its way through the IdP.
const STATE_COOKIE: &str = "portcullis_logout_state";

/// The `post_logout_redirect_uri` to register at an OpenID provider for `idp`.
pub fn oidc_post_logout_uri(public_url: &str, idp: IdpId) -> String {
    format!("{}/sso/oidc/{idp}/logout", public_url.trim_end_matches('/'))
}

fn state_cookie(idp: IdpId, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(STATE_COOKIE, value)
        .path(format!("/sso/oidc/{idp}/logout"))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::minutes(10))
        .finish()
}

/// Where to send a browser whose session (through `idp`, with `hint`) just ended, with
/// the cookie carrying the sign-out's `state`: the provider's end-session URL, when the
/// session came from an OpenID provider that has one. `None` keeps the sign-out local
/// (SAML, no endpoint, or the provider cannot be reached: the session is ended here all
/// the same).
pub async fn at_idp(
    state: &AppState,
    idp: IdpId,
    hint: &LogoutHint,
) -> Option<(String, Cookie<'static>)> {
    let LogoutHint::Oidc { id_token } = hint else {
        return None;
    };
    let found = state.read(move |store| Ok(store.idp_by_id(idp)?)).await;
    let Ok(Some(provider_idp)) = found else {
        return None;
    };
    let IdpProtocol::Oidc(settings) = &provider_idp.protocol else {
        return None;
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
    let body = pages::layout(
        "Signed out",
        html! {
            h1 { "Signed out" }
            p { "You are signed out of Portcullis and of your identity provider." }
            @if let Some(slug) = slug { p { a href={ "/a/" (slug) "/login" } { "Sign in again" } } }
        },
    );
    Ok(HttpResponse::build(StatusCode::OK)
        .cookie(gone)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body.into_string()))
}
