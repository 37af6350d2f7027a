//! Who is calling the admin API: an API key (`Authorization: Bearer`) or a dashboard
//! session. Session calls that change anything must carry the session's CSRF token in
//! `X-CSRF-Token`. Settings may only be read and changed by those the domain allows
//! ([`policy::may_manage_account`]).

use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest};
use portcullis_domain::policy::{self, PolicyRequester};
use portcullis_domain::{Account, Actor, User};

use crate::api_auth;
use crate::client_ip::client_ip;
use crate::error::{ApiError, AppError};
use crate::session::{MaybeSignedIn, SignedIn, CSRF_HEADER};
use crate::state::AppState;

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Via {
    /// An API key, named by its id.
    ApiKey(portcullis_domain::ApiKeyId),
    /// A dashboard session.
    Session(Box<SignedIn>),
}

/// An authenticated admin API caller, always inside one account.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The caller's account: every id is looked up inside it.
    pub account: Account,
    /// The signed-in person, or the API key's owner.
    pub user: User,
    /// How they authenticated.
    pub via: Via,
    /// Their address, when known.
    pub ip: Option<IpAddr>,
}

impl Caller {
    /// A caller from a dashboard session whose CSRF token the page already checked.
    pub fn from_session(signed_in: SignedIn, ip: Option<IpAddr>) -> Self {
        Self {
            account: signed_in.account.clone(),
            user: signed_in.user.clone(),
            via: Via::Session(Box::new(signed_in)),
            ip,
        }
    }

    /// The audit actor.
    pub fn actor(&self) -> Actor {
        match &self.via {
            Via::ApiKey(id) => Actor::ApiKey(*id),
            Via::Session(_) => Actor::User(self.user.id),
        }
    }

    /// Who asks, as the enforcement decision needs it.
    pub fn requester(&self) -> PolicyRequester {
        match &self.via {
            Via::ApiKey(_) => PolicyRequester::ApiKey,
            Via::Session(s) => PolicyRequester::Admin(s.session.method),
        }
    }

    /// The caller's address as the audit log keeps it.
    pub fn ip_text(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }

    /// Refuses callers who may not manage the account (403).
    pub fn require_manager(&self) -> Result<(), AppError> {
        policy::may_manage_account(&self.user).map_err(|e| AppError::Forbidden(e.to_string()))
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
        let key = api_auth::authenticate(state, req).await?;
        return Ok(Caller {
            account: key.account,
            user: key.owner,
            via: Via::ApiKey(key.key.id),
            ip: Some(key.ip),
        });
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
    Ok(Caller::from_session(s, ip))
}

impl FromRequest for Caller {
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
            Ok(authenticate(&state, &req, signed_in)
                .await
                .map_err(ApiError)?)
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
        let caller = Caller::from_request(req, payload);
        Box::pin(async move {
            let caller = caller.await?;
            caller.require_manager().map_err(ApiError)?;
            Ok(Self(caller))
        })
    }
}
