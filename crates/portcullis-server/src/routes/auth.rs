//! Password login (HTML form and JSON) and logout.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::Utc;
use portcullis_domain::policy::{self, PasswordRefusal};
use portcullis_domain::{Account, AccountSlug, Actor, AuthMethod, Email, EnforcementPolicy};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::client_ip::client_ip;
use crate::error::{ApiError, AppError, PageError};
use crate::pages::{self, LoginView};
use crate::session::{self, MaybeSignedIn, SignedIn, CSRF_HEADER, LOGIN_CSRF_COOKIE};
use crate::state::AppState;
use crate::{ops, password};

/// Wires the login and logout routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(login_page)
        .service(login_form)
        .service(logout_form)
        .service(login_json)
        .service(logout_json);
}

/// The one message for every credential failure, so answers never reveal whether an
/// email belongs to a member.
const BAD_CREDENTIALS: &str = "wrong email or password";

/// Why a password login failed, as the person may see it.
enum LoginFailure {
    /// Credentials wrong, unknown or unusable (one message for all).
    Credentials,
    /// The account requires SSO.
    SsoRequired,
    /// The password was right but the member may not sign in (deactivated).
    Refused(String),
    /// Something else broke.
    App(AppError),
}

impl From<AppError> for LoginFailure {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

impl LoginFailure {
    fn into_app_error(self) -> AppError {
        match self {
            Self::Credentials => AppError::Unauthorized(BAD_CREDENTIALS.into()),
            Self::SsoRequired => AppError::Forbidden(PasswordRefusal::SsoEnforced.to_string()),
            Self::Refused(why) => AppError::Forbidden(why),
            Self::App(e) => e,
        }
    }
}

/// Checks a password login and, when it succeeds, opens a session.
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
    let slug = AccountSlug::parse(slug).map_err(|_| LoginFailure::Credentials)?;
    let email = email.to_owned();
    let password_text = password_text.to_owned();
    let ttl = state.config.session_ttl_minutes;
    let outcome = state
        .db(move |store| {
            let now = Utc::now();
            let Some(account) = store.account_by_slug(&slug)? else {
                // Burn the same time as a real check.
                password::verify(&password_text, None);
                return Ok(Err(None));
            };
            let user = match Email::parse(&email) {
                Ok(email) => store.user_by_email(account.id, &email)?,
                Err(_) => None,
            };
            let log = |action: &str, target: Option<String>, reason: &str| {
                ops::audit_detail(
                    store,
                    account.id,
                    target
                        .as_ref()
                        .and_then(|t| t.parse().ok())
                        .map_or(Actor::Anonymous, Actor::User),
                    action,
                    target.clone(),
                    ip.clone(),
                    serde_json::json!({ "method": "password", "reason": reason, "email": email })
                        .to_string(),
                    now,
                )
            };
            if account.enforcement == EnforcementPolicy::Enforced {
                password::verify(&password_text, None);
                let _ = log(
                    "login.failed",
                    user.as_ref().map(|u| u.id.to_string()),
                    "sso_enforced",
                );
                return Ok(Err(Some(LoginFailureReason::SsoRequired)));
            }
            let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
            if !password::verify(&password_text, hash) {
                let reason = if user.is_none() {
                    "unknown_email"
                } else {
                    "wrong_password"
                };
                let _ = log(
                    "login.failed",
                    user.as_ref().map(|u| u.id.to_string()),
                    reason,
                );
                return Ok(Err(None));
            }
            let Some(user) = user else {
                return Ok(Err(None));
            };
            if let Err(refusal) = policy::may_use_password(&account, &user) {
                let _ = log(
                    "login.failed",
                    Some(user.id.to_string()),
                    refusal_code(refusal),
                );
                return Ok(Err(Some(LoginFailureReason::Refused(refusal))));
            }
            let session = session::new_session(&user, AuthMethod::Password, now, ttl);
            store.insert_session(&session)?;
            let _ = log("login.succeeded", Some(user.id.to_string()), "ok");
            Ok(Ok(SignedIn {
                session,
                user,
                account,
            }))
        })
        .await?;
    match outcome {
        Ok(signed_in) => {
            let token = state.keys.sign(&signed_in.session)?;
            Ok((signed_in, token))
        }
        Err(None) => Err(LoginFailure::Credentials),
        Err(Some(LoginFailureReason::SsoRequired)) => Err(LoginFailure::SsoRequired),
        Err(Some(LoginFailureReason::Refused(r))) => Err(LoginFailure::Refused(r.to_string())),
    }
}

enum LoginFailureReason {
    SsoRequired,
    Refused(PasswordRefusal),
}

fn refusal_code(r: PasswordRefusal) -> &'static str {
    match r {
        PasswordRefusal::SsoEnforced => "sso_enforced",
        PasswordRefusal::NoPassword => "no_password",
        PasswordRefusal::Inactive => "inactive",
        PasswordRefusal::Bot => "bot",
    }
}

async fn load_account(state: &AppState, slug: &str) -> Result<Account, AppError> {
    let slug = AccountSlug::parse(slug).map_err(|_| AppError::NotFound)?;
    state
        .db(move |store| store.account_by_slug(&slug))
        .await?
        .ok_or(AppError::NotFound)
}

fn new_login_csrf() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn login_csrf_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(LOGIN_CSRF_COOKIE, value)
        .path("/a/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish()
}

async fn render_login(
    state: &AppState,
    account: &Account,
    error: Option<(actix_web::http::StatusCode, &str)>,
    email: &str,
) -> Result<HttpResponse, AppError> {
    let id = account.id;
    let idps = state.db(move |store| store.list_idps(id)).await?;
    let choices: Vec<(String, String)> = idps
        .iter()
        .filter(|i| i.enabled)
        .map(|i| (i.id.to_string(), i.description.clone()))
        .collect();
    let csrf = new_login_csrf();
    let view = LoginView {
        slug: account.slug.as_str(),
        account_name: &account.name,
        password_allowed: account.enforcement == EnforcementPolicy::Mixed,
        idps: &choices,
        csrf: &csrf,
        error: error.map(|(_, m)| m),
        email,
    };
    let status = error.map_or(actix_web::http::StatusCode::OK, |(s, _)| s);
    Ok(HttpResponse::build(status)
        .cookie(login_csrf_cookie(
            csrf.clone(),
            state.config.secure_cookies(),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(pages::login_page(&view).into_string()))
}

/// The account's login page.
#[get("/a/{slug}/login")]
async fn login_page(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let account = load_account(&state, &slug).await?;
    Ok(render_login(&state, &account, None, "").await?)
}

/// The login form's fields.
#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    csrf: String,
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
    let cookie = req
        .cookie(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let csrf_ok: bool = !cookie.is_empty() && cookie.as_bytes().ct_eq(form.csrf.as_bytes()).into();
    if !csrf_ok {
        return Ok(render_login(
            &state,
            &account,
            Some((
                actix_web::http::StatusCode::FORBIDDEN,
                "Your sign-in form expired; please try again.",
            )),
            &form.email,
        )
        .await?);
    }
    let ip = client_ip(&req, &state.config.trusted_proxies).map(|ip| ip.to_string());
    match password_login(&state, &slug, &form.email, &form.password, ip).await {
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
            let message = error.public_message();
            Ok(render_login(
                &state,
                &account,
                Some((error.status(), &message)),
                &form.email,
            )
            .await?)
        }
    }
}

/// Ends the session from the dashboard's sign-out button.
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
        end_session(&state, &s).await?;
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

async fn end_session(state: &AppState, s: &SignedIn) -> Result<(), AppError> {
    let (id, account, user) = (s.session.id, s.account.clone(), s.user.id);
    state
        .db(move |store| {
            let now = Utc::now();
            store.revoke_session(id, now)?;
            ops::audit(
                store,
                &account,
                Actor::User(user),
                "logout",
                Some(user.to_string()),
                None,
                now,
            )
            .map_err(|e| portcullis_store::StoreError::Corrupt(e.to_string()))
        })
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
