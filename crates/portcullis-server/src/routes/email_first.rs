//! Email-first sign-in: `GET /login` asks only for an email; `POST /login` sends an email
//! on a verified domain to its account's SSO, and anyone else to their account's own
//! login page by name, revealing nothing about which accounts exist.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use portcullis_app::domains;
use portcullis_domain::{AccountSlug, Email};
use serde::Deserialize;

use super::auth::{login_csrf_cookie, login_csrf_ok, new_login_csrf, sso_location};
use crate::error::{AppError, HttpStatus, PageError};
use crate::pages;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(page).service(form).service(account_page);
}

/// The page with a fresh CSRF cookie; `status` is 200 unless it shows a refusal.
fn render(state: &AppState, email: &str, error: Option<&AppError>, unrouted: bool) -> HttpResponse {
    let csrf = new_login_csrf();
    let message = error.map(AppError::public_message);
    let status = error.map_or(actix_web::http::StatusCode::OK, HttpStatus::status);
    HttpResponse::build(status)
        .cookie(login_csrf_cookie(
            csrf.clone(),
            state.config.secure_cookies(),
            "/login",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(pages::email_first_page(&csrf, email, message.as_deref(), unrouted).into_string())
}

/// `GET /login`: the email form.
#[get("/login")]
async fn page(state: web::Data<AppState>) -> HttpResponse {
    render(&state, "", None, false)
}

/// The form's fields.
#[derive(Deserialize)]
struct EmailForm {
    email: String,
    csrf: String,
}

/// `POST /login`: 303 to the SSO of the account that verified the email's domain (its
/// IdP's start, or its chooser); otherwise the page again, offering the account's own
/// login page by name. An unknown domain and a domain without an enabled IdP answer the
/// same.
#[post("/login")]
async fn form(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<EmailForm>,
) -> Result<HttpResponse, PageError> {
    if !login_csrf_ok(&req, &form.csrf) {
        let expired = AppError::Forbidden("Your sign-in form expired; please try again.".into());
        return Ok(render(&state, &form.email, Some(&expired), false));
    }
    let Ok(email) = Email::parse(&form.email) else {
        let invalid = AppError::BadRequest(format!("{:?} is not an email address.", form.email));
        return Ok(render(&state, &form.email, Some(&invalid), false));
    };
    let route = state
        .read(move |store| domains::sso_route(store, &email, None))
        .await?;
    Ok(match route {
        Some((account, route)) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, sso_location(&account, &route)))
            .finish(),
        None => render(&state, &form.email, None, true),
    })
}

/// The query of the account-name form.
#[derive(Deserialize)]
struct AccountQuery {
    slug: String,
}

/// `GET /login/account?slug=…`: to that account's login page (which is 404 for an account
/// that does not exist, as it always was).
#[get("/login/account")]
async fn account_page(
    state: web::Data<AppState>,
    query: web::Query<AccountQuery>,
) -> Result<HttpResponse, PageError> {
    match AccountSlug::parse(query.slug.trim()) {
        Ok(slug) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/a/{slug}/login")))
            .finish()),
        Err(e) => Ok(render(&state, "", Some(&AppError::from(e)), true)),
    }
}
