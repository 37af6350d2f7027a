//! Accepting an invitation at `GET/POST /invite/{token}`.
//!
//! Where the account has no enabled IdP the invitee chooses a password. Where it has one
//! (`portcullis_domain::policy::invite_acceptance`) new members must sign in through an
//! IdP with the invited email: the page links to the SSO start with
//! `return_to=/invite/complete/{token_hash}`, and the SSO finish accepts the invitation
//! with the verified identity (`portcullis_app::sso::finish`). Unknown, expired and used
//! links, and identities from another account or with another email, are refused with a
//! clear page. The rules are `portcullis_app::invitations`'.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::Utc;
use maud::html;
use portcullis_app::{invitations, sso};
use portcullis_domain::policy::InviteAcceptance;
use portcullis_domain::SecretHash;
use rand::RngCore;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::error::{AppError, HttpStatus, PageError};
use crate::pages;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(accept_with_password);
}

const INVITE_CSRF_COOKIE: &str = "portcullis_invite_csrf";

fn html_page(status: actix_web::http::StatusCode, body: maud::Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(pages::layout("Join", body).into_string())
}

async fn render(
    state: &AppState,
    req: &HttpRequest,
    token: &str,
    error: Option<AppError>,
) -> Result<HttpResponse, PageError> {
    let hash = SecretHash::of(token);
    let lookup_hash = hash.clone();
    let found = state
        .read(move |store| invitations::usable(store, &lookup_hash, Utc::now()))
        .await?;
    let status = error
        .as_ref()
        .map_or(actix_web::http::StatusCode::OK, HttpStatus::status);
    let _ = req;
    let (invitation, account, idps) = (&found.invitation, &found.account, &found.idps);
    match found.acceptance() {
        InviteAcceptance::SignInThroughIdp => {
            let return_to = sso::invitation_return_to(&hash);
            let body = html! {
                h1 { "Join " (account.name) }
                @if let Some(e) = &error { p.error role="alert" { (e.public_message()) } }
                p { "You were invited as " strong { (invitation.email) } ". " (account.name) " uses single sign-on: sign in through your identity provider with that email to join." }
                ul.choices { @for idp in idps.iter().filter(|i| i.enabled) {
                    li { a.button href={ "/a/" (account.slug) "/sso/" (idp.id) "/start?return_to=" (return_to) } { (idp.description) } }
                } }
            };
            Ok(html_page(status, body))
        }
        InviteAcceptance::SetPassword => {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let csrf = URL_SAFE_NO_PAD.encode(bytes);
            let body = html! {
                h1 { "Join " (account.name) }
                @if let Some(e) = &error { p.error role="alert" { (e.public_message()) } }
                p { "You were invited as " strong { (invitation.email) } ". Choose a password to finish." }
                form method="post" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "Your name" input type="text" name="display_name" autocomplete="name"; }
                    label { "Password (at least 12 characters)" input type="password" name="password" required autocomplete="new-password"; }
                    label { "Password again" input type="password" name="confirm" required autocomplete="new-password"; }
                    button type="submit" { "Join " (account.name) }
                }
            };
            let mut response = html_page(status, body);
            response
                .add_cookie(
                    &Cookie::build(INVITE_CSRF_COOKIE, csrf)
                        .path("/invite/")
                        .http_only(true)
                        .secure(state.config.secure_cookies())
                        .same_site(SameSite::Strict)
                        .finish(),
                )
                .map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(response)
        }
    }
}

/// The invitation page.
#[get("/invite/{token}")]
async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    render(&state, &req, &token, None).await
}

/// The password form.
#[derive(Debug, Deserialize)]
struct PasswordForm {
    csrf: String,
    #[serde(default)]
    display_name: String,
    password: String,
    confirm: String,
}

/// Handles the form posted to `/invite/{token}`.
#[post("/invite/{token}")]
async fn accept_with_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let cookie = req
        .cookie(INVITE_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let csrf_ok: bool = !cookie.is_empty() && cookie.as_bytes().ct_eq(form.csrf.as_bytes()).into();
    if !csrf_ok {
        let e = AppError::Forbidden("this form expired; please try again".into());
        return render(&state, &req, &token, Some(e)).await;
    }
    let ip =
        crate::client_ip::client_ip(&req, &state.config.trusted_proxies).map(|i| i.to_string());
    let outcome = invitations::accept_with_password(
        &**state,
        &token,
        &form.display_name,
        &form.password,
        &form.confirm,
        ip,
    )
    .await;
    let outcome = match outcome {
        // A refusal of what was typed is shown on the form again.
        Err(e @ AppError::BadRequest(_)) => {
            return render(&state, &req, &token, Some(e)).await;
        }
        other => other,
    };
    match outcome {
        Ok(account) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/a/{}/login", account.slug)))
            .finish()),
        Err(e) => Err(e.into()),
    }
}
