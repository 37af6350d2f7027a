//! Password login (HTML form and JSON) and logout.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::Utc;
use portcullis_app::domains::{self, SsoRoute};
use portcullis_app::login::{self, LoginFailure};
use portcullis_app::sessions::{self, SignedIn};
use portcullis_domain::{Account, AccountSlug, AuthMethod, Email, EnforcementPolicy, LogoutHint};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::client_ip::client_ip;
use crate::error::{ApiError, AppError, HttpStatus, PageError};
use crate::pages::{self, LoginView};
use crate::session::{self, MaybeSignedIn, CSRF_HEADER, LOGIN_CSRF_COOKIE};
use crate::state::AppState;

/// Wires the login and logout routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(login_page)
        .service(login_form)
        .service(logout_form)
        .service(login_json)
        .service(logout_json);
}

/// Checks a password login (throttled per account and email and per address) and,
/// when it succeeds, opens a session and signs its cookie.
async fn password_login(
    state: &AppState,
    slug: &str,
    email: &str,
    password_text: &str,
    ip: Option<String>,
) -> Result<(SignedIn, String), LoginFailure> {
    if let Err(wait) = state
        .throttle
        .check(slug, email, ip.as_deref().and_then(|i| i.parse().ok()))
    {
        return Err(LoginFailure::App(AppError::TooManyRequests(wait)));
    }
    let ttl = state.config.session_ttl_minutes;
    let signed_in = login::with_password(state, slug, email, password_text, ip, ttl).await?;
    let token = state.keys.sign(&signed_in.session)?;
    Ok((signed_in, token))
}

async fn load_account(state: &AppState, slug: &str) -> Result<Account, AppError> {
    let slug = AccountSlug::parse(slug).map_err(|_| AppError::NotFound)?;
    state
        .read(move |store| Ok(store.account_by_slug(&slug)?))
        .await?
        .ok_or(AppError::NotFound)
}

/// A fresh pre-login CSRF token.
pub fn new_login_csrf() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The pre-login CSRF cookie of the forms under `path` (`/a/` for the accounts' login
/// pages, `/login` for email-first sign-in).
pub fn login_csrf_cookie(value: String, secure: bool, path: &'static str) -> Cookie<'static> {
    Cookie::build(LOGIN_CSRF_COOKIE, value)
        .path(path)
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish()
}

/// Whether a pre-login form's `csrf` field matches the cookie the form was rendered with.
pub fn login_csrf_ok(req: &HttpRequest, field: &str) -> bool {
    let cookie = req
        .cookie(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    !cookie.is_empty() && cookie.as_bytes().ct_eq(field.as_bytes()).into()
}

/// The account's login page; `email_first` asks for the email alone (see [`LoginView`]).
async fn render_login(
    state: &AppState,
    account: &Account,
    error: Option<&AppError>,
    email: &str,
    email_first: bool,
) -> Result<HttpResponse, AppError> {
    let id = account.id;
    let idps = state.read(move |store| Ok(store.list_idps(id)?)).await?;
    let choices: Vec<(String, String)> = idps
        .iter()
        .filter(|i| i.enabled)
        .map(|i| (i.id.to_string(), i.description.clone()))
        .collect();
    let csrf = new_login_csrf();
    let message = error.map(AppError::public_message);
    let view = LoginView {
        slug: account.slug.as_str(),
        account_name: &account.name,
        password_allowed: account.enforcement == EnforcementPolicy::Mixed,
        idps: &choices,
        csrf: &csrf,
        error: message.as_deref(),
        email,
        email_first,
    };
    let status = error.map_or(actix_web::http::StatusCode::OK, HttpStatus::status);
    Ok(HttpResponse::build(status)
        .cookie(login_csrf_cookie(
            csrf.clone(),
            state.config.secure_cookies(),
            "/a/",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(pages::login_page(&view).into_string()))
}

/// The account's login page. An account with verified domains asks for the email first,
/// so that its people go to their IdP before any password field is shown.
#[get("/a/{slug}/login")]
async fn login_page(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let account = load_account(&state, &slug).await?;
    let id = account.id;
    let email_first = state
        .read(move |store| domains::has_verified(store, id))
        .await?;
    Ok(render_login(&state, &account, None, "", email_first).await?)
}

/// The login form's fields; the email step sends no password.
#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: Option<String>,
    csrf: String,
}

/// Where email-first sign-in sends `route`'s people: the IdP's start or the chooser.
pub fn sso_location(account: &Account, route: &SsoRoute) -> String {
    match route {
        SsoRoute::Idp(idp) => format!("/a/{}/sso/{idp}/start", account.slug),
        SsoRoute::Chooser => format!("/a/{}/sso", account.slug),
    }
}

/// Handles the login form.
#[post("/a/{slug}/login")]
async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let account = load_account(&state, &slug).await?;
    if !login_csrf_ok(&req, &form.csrf) {
        let expired = AppError::Forbidden("Your sign-in form expired; please try again.".into());
        return Ok(render_login(&state, &account, Some(&expired), &form.email, false).await?);
    }
    let Some(password) = form.password.as_deref() else {
        // The email step: people on one of the account's verified domains go to SSO;
        // everyone else is asked for their password.
        let route = match Email::parse(&form.email) {
            Ok(email) => {
                let id = account.id;
                state
                    .read(move |store| domains::sso_route(store, &email, Some(id)))
                    .await?
            }
            Err(_) => None,
        };
        return Ok(match route {
            Some((account, route)) => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, sso_location(&account, &route)))
                .finish(),
            None => render_login(&state, &account, None, &form.email, false).await?,
        });
    };
    let ip = client_ip(&req, &state.config.trusted_proxies).map(|ip| ip.to_string());
    match password_login(&state, &slug, &form.email, password, ip).await {
        Ok((_, token)) => Ok(HttpResponse::SeeOther()
            .cookie(session::session_cookie(
                token,
                state.config.secure_cookies(),
                state.config.session_ttl_minutes,
            ))
            .insert_header((header::LOCATION, format!("/a/{}/", account.slug)))
            .finish()),
        Err(LoginFailure::App(e)) => Err(e.into()),
        Err(failure) => {
            let error = failure.into_app_error();
            Ok(render_login(&state, &account, Some(&error), &form.email, false).await?)
        }
    }
}

/// Ends the session from the dashboard's sign-out button; a session from an OpenID
/// provider with an end-session endpoint then signs out there too.
#[post("/a/{slug}/logout")]
async fn logout_form(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    if let Some(s) = signed_in.0 {
        if !state.keys.check_csrf(s.session.id, &form.csrf) {
            return Err(
                AppError::Forbidden("the sign-out form expired; please try again".into()).into(),
            );
        }
        let hint = end_session(&state, &s).await?;
        if let (AuthMethod::Sso(idp), Some(hint)) = (s.session.method, hint) {
            if let Some((url, cookie)) = crate::sso::logout::at_idp(&state, idp, &hint).await {
                let secure = state.config.secure_cookies();
                return Ok(crate::sso::logout::continue_at_idp(&url, cookie, secure));
            }
        }
    }
    Ok(HttpResponse::SeeOther()
        .cookie(session::clear_session_cookie(state.config.secure_cookies()))
        .insert_header((header::LOCATION, format!("/a/{slug}/login")))
        .finish())
}

/// A form that carries only a CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

async fn end_session(state: &AppState, s: &SignedIn) -> Result<Option<LogoutHint>, AppError> {
    let s = s.clone();
    state
        .write(move |store| sessions::end(store, &s, Utc::now()))
        .await
}

/// `POST /api/v1/login` body.
#[derive(Deserialize, utoipa::ToSchema)]
struct LoginJson {
    account: String,
    email: String,
    password: String,
}

/// `POST /api/v1/login` answer.
#[derive(Serialize, utoipa::ToSchema)]
struct LoginAnswer {
    user: crate::routes::me::MeJson,
    /// Send this in `X-CSRF-Token` on state-changing calls made with the session cookie.
    csrf_token: String,
    expires_at: String,
}

/// JSON password login.
#[utoipa::path(operation_id = "login", tag = "session", request_body = LoginJson,
    responses((status = 200, body = LoginAnswer, description = "Signed in; the session cookie is set"),
               (status = 401, description = "Wrong account, email or password (one answer for all)"),
               (status = 403, description = "Single sign-on is required, or the member is deactivated"),
               (status = 429, description = "Too many attempts; see Retry-After")))]
#[post("/api/v1/login")]
async fn login_json(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginJson>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &state.config.trusted_proxies).map(|ip| ip.to_string());
    match password_login(&state, &body.account, &body.email, &body.password, ip).await {
        Ok((signed_in, token)) => Ok(HttpResponse::Ok()
            .cookie(session::session_cookie(
                token,
                state.config.secure_cookies(),
                state.config.session_ttl_minutes,
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(LoginAnswer {
                csrf_token: state.keys.csrf_token(signed_in.session.id),
                expires_at: signed_in.session.expires_at.to_rfc3339(),
                user: crate::routes::me::MeJson::of(&signed_in),
            })),
        Err(failure) => Err(failure.into_app_error().into()),
    }
}

/// JSON logout; needs the session's CSRF token in `X-CSRF-Token`.
#[utoipa::path(operation_id = "logout", tag = "session",
    params(("X-CSRF-Token" = String, Header, description = "The csrf_token from the login answer")),
    responses((status = 204, description = "Signed out; the session ends on every replica"),
               (status = 401, description = "Not signed in"),
               (status = 403, description = "Missing or wrong X-CSRF-Token")))]
#[post("/api/v1/logout")]
async fn logout_json(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed_in: MaybeSignedIn,
) -> Result<HttpResponse, ApiError> {
    let s = signed_in
        .0
        .ok_or_else(|| AppError::Unauthorized("not signed in".into()))?;
    let token = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !state.keys.check_csrf(s.session.id, token) {
        return Err(AppError::Forbidden("missing or wrong X-CSRF-Token".into()).into());
    }
    end_session(&state, &s).await?;
    Ok(HttpResponse::NoContent()
        .cookie(session::clear_session_cookie(state.config.secure_cookies()))
        .finish())
}
