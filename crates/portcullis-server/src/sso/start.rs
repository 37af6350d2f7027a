//! Starting a login: the chooser and `GET /a/{slug}/sso/{idp}/start`.
//!
//! The start stores a pending login (single-use, expiring after
//! `portcullis_app::sso::PENDING_LOGIN_TTL`) keyed by the SAML request id or the OIDC `state`, bound
//! to this browser by the cookie of [`super::browser`], and redirects to the IdP.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::Utc;
use maud::html;
use portcullis_app::sso::{self, Refusal, PENDING_LOGIN_TTL};
use portcullis_domain::{Account, AccountSlug, IdentityProvider, IdpId, IdpProtocol};
use portcullis_sso::{oidc, saml};
use portcullis_store::PendingLogin;
use rand::RngCore;
use serde::Deserialize;

use super::finish;
use super::{browser, oidc_redirect_uri};
use crate::error::{AppError, PageError};
use crate::pages;
use crate::state::AppState;

/// Longest return path accepted.
const MAX_RETURN_PATH: usize = 512;

/// The query of the start and chooser routes.
#[derive(Deserialize)]
pub struct StartQuery {
    /// A path on this server to show after login.
    return_to: Option<String>,
}

/// `raw` when it is a path on this server, else the account's home.
///
/// Only local paths are accepted: starting with one `/` (not `//`, a scheme-relative URL),
/// without backslashes (which some browsers read as `/`) and without control characters
/// or spaces. So a login can never be made to end on another site (open redirect).
pub fn local_return_path(raw: Option<&str>, slug: &AccountSlug) -> String {
    match raw {
        // A test sign-in is started only by a setup link (`begin`).
        Some(path) if path == sso::TEST_RETURN => format!("/a/{slug}/"),
        Some(path)
            if path.len() <= MAX_RETURN_PATH
                && path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            path.to_owned()
        }
        _ => format!("/a/{slug}/"),
    }
}

async fn load_account(state: &AppState, slug: &str) -> Result<Account, AppError> {
    let slug = AccountSlug::parse(slug).map_err(|_| AppError::NotFound)?;
    state
        .read(move |store| Ok(store.account_by_slug(&slug)?))
        .await?
        .ok_or(AppError::NotFound)
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// `GET /a/{slug}/sso`: straight to the IdP when the account has one enabled IdP, a list
/// of them by description when it has several, the login page when it has none.
#[get("/a/{slug}/sso")]
pub async fn chooser(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, PageError> {
    let account = load_account(&state, &slug).await?;
    let id = account.id;
    let idps: Vec<IdentityProvider> = state
        .read(move |store| Ok(store.list_idps(id)?))
        .await?
        .into_iter()
        .filter(|i| i.enabled)
        .collect();
    let return_to = local_return_path(query.return_to.as_deref(), &account.slug);
    let start_url = |idp: &IdentityProvider| {
        let q = url_encode(&return_to);
        format!("/a/{}/sso/{}/start?return_to={q}", account.slug, idp.id)
    };
    let see_other = |location: String| {
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location))
            .finish()
    };
    match idps.as_slice() {
        [] => Ok(see_other(format!("/a/{}/login", account.slug))),
        [only] => Ok(see_other(start_url(only))),
        several => {
            let page = pages::layout(
                "Sign in with SSO",
                html! {
                    h1 { "Sign in to " (account.name) }
                    ul.choices {
                        @for idp in several {
                            li { a.button href=(start_url(idp)) { (idp.description) } }
                        }
                    }
                },
            );
            Ok(HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(page.into_string()))
        }
    }
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /a/{slug}/sso/{idp}/start`: remembers the attempt and sends the browser to the
/// IdP. An IdP of another account is not found; a disabled one is refused.
#[get("/a/{slug}/sso/{idp_id}/start")]
pub async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, PageError> {
    let (slug, idp_id) = path.into_inner();
    let account = load_account(&state, &slug).await?;
    let idp_id: IdpId = idp_id.parse().map_err(|_| AppError::NotFound)?;
    let id = account.id;
    let idp = state
        .read(move |store| Ok(store.idp(id, idp_id)?))
        .await?
        .ok_or(AppError::NotFound)?;
    let return_to = local_return_path(query.return_to.as_deref(), &account.slug);
    begin(&state, &req, &account, idp, return_to).await
}

/// Remembers the attempt of a sign-in through `idp` that ends at `return_to` and sends
/// the browser to the IdP; a disabled IdP or a suspended account is refused.
pub async fn begin(
    state: &AppState,
    req: &HttpRequest,
    account: &Account,
    idp: IdentityProvider,
    return_to: String,
) -> Result<HttpResponse, PageError> {
    let attempt = super::attempt(state, req);
    if let Some(refusal) = Refusal::unusable(account, &idp) {
        return Err(finish::refuse(state, account, &idp, refusal, attempt).await);
    }
    let (binding, cookie) = browser::bind(req, state.config.secure_cookies());
    let now = Utc::now();
    let public_url = &state.config.public_url;
    let leg = match &idp.protocol {
        IdpProtocol::Saml(settings) => {
            let sp = saml::SpConfig::for_idp(public_url, idp.id);
            // RelayState is an opaque random token: nothing is ever read back from it.
            let relay = URL_SAFE_NO_PAD.encode(random::<16>());
            saml::start_login(settings, &sp, random::<16>(), &relay, now).map(|r| {
                let pending = PendingLogin {
                    id: r.request_id,
                    idp: idp.id,
                    browser_binding: binding.clone(),
                    nonce: None,
                    pkce_verifier: None,
                    return_to: Some(return_to.clone()),
                    expires_at: now + PENDING_LOGIN_TTL,
                };
                (r.url, pending)
            })
        }
        IdpProtocol::Oidc(settings) => {
            let policy = state.http_policy();
            let random = oidc::OidcRandom {
                state: random(),
                nonce: random(),
                pkce_verifier: random(),
            };
            let redirect_uri = oidc_redirect_uri(public_url, idp.id);
            match state
                .sso_providers
                .get(idp.id, &settings.issuer, &policy)
                .await
            {
                Ok(provider) => {
                    oidc::start_login(&provider, settings, &redirect_uri, &random).map(|s| {
                        let pending = PendingLogin {
                            id: s.state,
                            idp: idp.id,
                            browser_binding: binding.clone(),
                            nonce: Some(s.nonce),
                            pkce_verifier: Some(s.pkce_verifier),
                            return_to: Some(return_to.clone()),
                            expires_at: now + PENDING_LOGIN_TTL,
                        };
                        (s.authorize_url, pending)
                    })
                }
                Err(e) => Err(e),
            }
        }
    };
    let (location, pending) = match leg {
        Ok(leg) => leg,
        Err(e) => {
            let reason = match e {
                portcullis_sso::SsoError::Http(_) | portcullis_sso::SsoError::Discovery(_) => {
                    "discovery_failed"
                }
                _ => "configuration",
            };
            let refusal = Refusal {
                reason,
                error: AppError::BadRequest(format!(
                    "{} cannot be used as configured ({e}); ask an admin of this account",
                    idp.description
                )),
            };
            return Err(finish::refuse(state, account, &idp, refusal, attempt).await);
        }
    };
    state
        .write(move |store| Ok(store.insert_pending_login(&pending)?))
        .await?;
    Ok(HttpResponse::SeeOther()
        .cookie(cookie)
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        let slug = AccountSlug::parse("acme").unwrap();
        let check = |raw: Option<&str>, expected: &str| {
            assert_eq!(local_return_path(raw, &slug), expected, "{raw:?}");
        };
        check(None, "/a/acme/");
        check(Some("/a/acme/settings?tab=sso"), "/a/acme/settings?tab=sso");
        check(Some("//evil.example/x"), "/a/acme/");
        check(Some("/\\evil.example"), "/a/acme/");
        check(Some("https://evil.example/"), "/a/acme/");
        check(Some("javascript:alert(1)"), "/a/acme/");
        check(Some("/a/acme/\r\nSet-Cookie: x"), "/a/acme/");
        check(Some(""), "/a/acme/");
        check(Some(&format!("/{}", "a".repeat(600))), "/a/acme/");
    }

    #[test]
    fn return_paths_are_encoded_into_the_query() {
        assert_eq!(url_encode("/a/acme/?x=1&y"), "/a/acme/%3Fx%3D1%26y");
    }
}
