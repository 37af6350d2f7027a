//! Accepting an invitation at `GET/POST /invite/{token}`.
//!
//! Where the account has no enabled IdP the invitee chooses a password. Where it has one
//! ([`policy::invite_acceptance`]) new members must sign in through an IdP with the
//! invited email: the page links to the SSO start with
//! `return_to=/invite/complete/{token_hash}`, and the SSO finish calls
//! [`accept_via_sso`] with the verified identity (the hook for the SSO flow). Unknown,
//! expired and used links, and identities from another account or with another email,
//! are refused with a clear page.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use maud::html;
use portcullis_domain::policy::{self, InviteAcceptance};
use portcullis_domain::{
    Account, Actor, IdpId, Invitation, SecretHash, User, UserId, UserKind, UserOrigin,
};
use portcullis_store::Store;
use rand::RngCore;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::error::{AppError, PageError};
use crate::state::AppState;
use crate::{ops, pages, password};

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(accept_with_password);
}

const INVITE_CSRF_COOKIE: &str = "portcullis_invite_csrf";

/// The `return_to` the SSO flow carries for an invitation: it names the token's hash,
/// never the token.
pub fn sso_return_to(token_hash: &SecretHash) -> String {
    format!("/invite/complete/{}", token_hash.as_str())
}

/// Loads a usable invitation with its account, or says why the link does not work.
fn usable(
    store: &Store,
    hash: &SecretHash,
    now: DateTime<Utc>,
) -> Result<(Invitation, Account), AppError> {
    let invitation = store.invitation_by_token(hash)?.ok_or(AppError::NotFound)?;
    if invitation.accepted_at.is_some() {
        return Err(AppError::Conflict(
            "this invitation was already used; ask an admin for a new one".into(),
        ));
    }
    if !invitation.is_usable(now) {
        return Err(AppError::Conflict(
            "this invitation has expired; ask an admin for a new one".into(),
        ));
    }
    let account = store
        .account(invitation.account)?
        .ok_or(AppError::NotFound)?;
    Ok((invitation, account))
}

fn not_valid(e: AppError) -> AppError {
    match e {
        AppError::NotFound => AppError::BadRequest(
            "this invitation link is not valid; check that you copied all of it".into(),
        ),
        other => other,
    }
}

fn new_member(
    invitation: &Invitation,
    display_name: &str,
    password_hash: Option<String>,
    now: DateTime<Utc>,
) -> User {
    let name = display_name.trim();
    User {
        id: UserId::from_uuid(Uuid::new_v4()),
        account: invitation.account,
        email: invitation.email.clone(),
        display_name: if name.is_empty() {
            invitation.email.to_string()
        } else {
            name.to_owned()
        },
        kind: UserKind::Human,
        role: invitation.role,
        active: true,
        password_hash,
        external_id: None,
        origin: UserOrigin::Invite,
        created_at: now,
        updated_at: now,
    }
}

/// Who an IdP verified, as [`accept_via_sso`] needs it.
#[derive(Debug, Clone, Copy)]
pub struct SsoInvitee<'a> {
    /// The IdP that signed them in.
    pub idp: IdpId,
    /// Their subject (NameID or `sub`) at that IdP.
    pub subject: &'a str,
    /// The email the IdP asserted.
    pub email: &'a str,
    /// The name the IdP asserted.
    pub display_name: &'a str,
}

/// The hook the SSO finish calls when a pending login's `return_to` is
/// [`sso_return_to`]: the IdP has verified `email` (and `subject`) for `idp`. Creates the
/// member from the invitation and links the subject, or refuses a used or expired link,
/// an IdP of another account, or another email.
pub fn accept_via_sso(
    store: &Store,
    token_hash: &SecretHash,
    who: &SsoInvitee<'_>,
    ip: Option<String>,
    now: DateTime<Utc>,
) -> Result<User, AppError> {
    let SsoInvitee {
        idp,
        subject,
        email,
        display_name,
    } = *who;
    let (invitation, account) = usable(store, token_hash, now).map_err(not_valid)?;
    let idp = store
        .idp(account.id, idp)?
        .filter(|i| i.enabled)
        .ok_or_else(|| {
            AppError::Forbidden(
                "this identity provider does not belong to the invitation's account".into(),
            )
        })?;
    if !email.trim().eq_ignore_ascii_case(invitation.email.as_str()) {
        return Err(AppError::Forbidden(format!(
            "this invitation is for {}, but the identity provider signed you in as {email}",
            invitation.email
        )));
    }
    let user = new_member(&invitation, display_name, None, now);
    store.accept_invitation(invitation.id, &user, now)?;
    store.link_sso_subject(idp.id, subject, user.id, now)?;
    ops::audit_detail(
        store,
        account.id,
        Actor::User(user.id),
        "invitation.accepted",
        Some(user.id.to_string()),
        ip,
        serde_json::json!({ "method": "sso", "idp": idp.id.to_string() }).to_string(),
        now,
    )?;
    Ok(user)
}

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
        .db(move |store| {
            let now = Utc::now();
            Ok(match usable(store, &lookup_hash, now) {
                Ok((invitation, account)) => {
                    let idps = store.list_idps(account.id)?;
                    Ok((invitation, account, idps))
                }
                Err(e) => Err(e),
            })
        })
        .await?;
    let (invitation, account, idps) = found.map_err(not_valid)?;
    let status = error
        .as_ref()
        .map_or(actix_web::http::StatusCode::OK, AppError::status);
    let _ = req;
    match policy::invite_acceptance(&account, &idps) {
        InviteAcceptance::SignInThroughIdp => {
            let return_to = sso_return_to(&hash);
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
    if form.password != form.confirm {
        let e = AppError::BadRequest("the two passwords differ".into());
        return render(&state, &req, &token, Some(e)).await;
    }
    if let Err(e) = password::check_strength(&form.password) {
        return render(&state, &req, &token, Some(e)).await;
    }
    let hash = password::hash(&form.password)?;
    let token_hash = SecretHash::of(&token);
    let display_name = form.display_name.clone();
    let ip =
        crate::client_ip::client_ip(&req, &state.config.trusted_proxies).map(|i| i.to_string());
    let outcome = state
        .db(move |store| {
            let now = Utc::now();
            let (invitation, account) = match usable(store, &token_hash, now) {
                Ok(found) => found,
                Err(e) => return Ok(Err(not_valid(e))),
            };
            // The domain decides how this invitation is accepted: never a password where
            // the account has an enabled IdP.
            if policy::invite_acceptance(&account, &store.list_idps(account.id)?)
                != InviteAcceptance::SetPassword
            {
                return Ok(Err(AppError::Forbidden(
                    "this account requires single sign-on: join through your identity provider"
                        .into(),
                )));
            }
            let user = new_member(&invitation, &display_name, Some(hash), now);
            store.accept_invitation(invitation.id, &user, now)?;
            Ok(ops::audit_detail(
                store,
                account.id,
                Actor::User(user.id),
                "invitation.accepted",
                Some(user.id.to_string()),
                ip,
                serde_json::json!({ "method": "password" }).to_string(),
                now,
            )
            .map(|()| account))
        })
        .await?;
    match outcome {
        Ok(account) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/a/{}/login", account.slug)))
            .finish()),
        Err(e) => Err(e.into()),
    }
}
