//! Who is calling the admin API: an API key (`Authorization: Bearer`) or a dashboard
//! session. Session calls that change anything must carry the session's CSRF token in
//! `X-CSRF-Token`. Settings may only be read and changed by those the domain allows
//! (`portcullis_domain::policy::may_manage_account`).

use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest};

use portcullis_domain::Scope;

use crate::api_auth;
use crate::client_ip::client_ip;
use crate::error::{ApiError, AppError};
use crate::session::{MaybeSignedIn, SignedIn, CSRF_HEADER};
use crate::state::AppState;

pub use portcullis_app::{Caller, Via};

/// The caller of a dashboard session whose CSRF token the page already checked.
pub fn session_caller(signed_in: SignedIn, ip: Option<IpAddr>) -> Caller {
    Caller {
        account: signed_in.account,
        via: Via::Session {
            user: signed_in.user,
            session: signed_in.session.id,
            method: signed_in.session.method,
        },
        ip,
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Authenticates an admin API request.
pub async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    signed_in: MaybeSignedIn,
) -> Result<Caller, AppError> {
    if req
        .headers()
        .contains_key(actix_web::http::header::AUTHORIZATION)
    {
        let caller = api_auth::authenticate(state, req).await?;
        api_auth::require_scope(state, req, &caller, Scope::Admin).await?;
        return Ok(caller.into_caller());
    }
    let s = signed_in.0.ok_or_else(|| {
        AppError::Unauthorized(
            "sign in, or send an API key as `Authorization: Bearer <key>`".into(),
        )
    })?;
    if !is_safe(req.method()) {
        let presented = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !state.keys.check_csrf(s.session.id, presented) {
            return Err(AppError::Forbidden(
                "a missing or wrong X-CSRF-Token header: calls made with a session cookie must send the session's CSRF token".into(),
            ));
        }
    }
    let ip = client_ip(req, &state.config.trusted_proxies);
    Ok(session_caller(s, ip))
}

/// Any authenticated admin API caller (members may read themselves).
#[derive(Debug, Clone)]
pub struct Anyone(pub Caller);

impl FromRequest for Anyone {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let session = MaybeSignedIn::from_request(&req, payload);
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ApiError(AppError::Internal("no state".into())))?;
            let signed_in = session.await?;
            let caller = authenticate(&state, &req, signed_in)
                .await
                .map_err(ApiError)?;
            Ok(Self(caller))
        })
    }
}

/// An authenticated caller who may manage the account (admins, admin- or bot-owned keys).
#[derive(Debug, Clone)]
pub struct Manager(pub Caller);

impl FromRequest for Manager {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Anyone::from_request(req, payload);
        Box::pin(async move {
            let Anyone(caller) = caller.await?;
            caller.require_manager().map_err(ApiError)?;
            Ok(Self(caller))
        })
    }
}
