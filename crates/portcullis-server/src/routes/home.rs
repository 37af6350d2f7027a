//! The start page, the stylesheet and the signed-in landing page.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use portcullis_domain::AccountSlug;

use crate::error::PageError;
use crate::pages;
use crate::session::MaybeSignedIn;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(index).service(stylesheet).service(account_home);
}

/// Points people at the default account's login page when there is one.
#[get("/")]
async fn index(state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let default = AccountSlug::parse("default").map_err(crate::error::AppError::from)?;
    let exists = state
        .read(move |s| Ok(s.account_by_slug(&default)?))
        .await?
        .is_some();
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(pages::index_page(exists.then_some("/a/default/login")).into_string()))
}

/// The stylesheet (no inline styles, so the CSP can forbid them).
#[get("/static/portcullis.css")]
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(pages::STYLESHEET)
}

/// The account's landing page; sends people who are not signed in (to this account) to
/// its login page.
#[get("/a/{slug}/")]
async fn account_home(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    signed_in: MaybeSignedIn,
) -> Result<HttpResponse, PageError> {
    match signed_in.0 {
        Some(s) if s.account.slug.as_str() == slug.as_str() => {
            let csrf = state.keys.csrf_token(s.session.id);
            let (slug, name, email) = (
                s.account.slug.to_string(),
                s.account.name.clone(),
                s.user.email.to_string(),
            );
            // Admins are warned about certificates about to expire.
            let caller = crate::admin::auth::session_caller(s, None);
            let expiring = match caller.require_manager() {
                Ok(()) => {
                    state
                        .read(move |store| {
                            portcullis_app::idps::expiring_certificates(
                                store,
                                &caller,
                                chrono::Utc::now(),
                            )
                        })
                        .await?
                }
                Err(_) => Vec::new(),
            };
            let banner = crate::dashboard::certificate_banner(&expiring);
            Ok(HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(pages::home_page(&slug, &name, &email, &csrf, banner).into_string()))
        }
        _ => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/a/{slug}/login")))
            .finish()),
    }
}
