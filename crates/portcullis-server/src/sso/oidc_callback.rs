//! `GET /sso/oidc/{idp}/callback`: the OpenID Connect authorization response.
//!
//! The `state` names the pending login, which is taken (deleted, so a second use of the
//! same state fails) and must belong to this IdP and this browser; the library then
//! checks the RFC 9207 `iss`, redeems the code with the PKCE verifier and verifies the ID
//! token (nonce included).

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::Utc;
use portcullis_domain::IdpProtocol;
use portcullis_sso::oidc::{self, CallbackParams, HttpPolicy, StoredAttempt};
use serde::Deserialize;

use super::finish;
use super::{arriving, browser, oidc_redirect_uri, CLOCK_SKEW};
use crate::error::{AppError, PageError};
use crate::state::AppState;

/// Longest `state` looked up (ours are 43 characters).
const MAX_STATE: usize = 128;

/// The callback's query.
#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

/// Finishes an OpenID Connect login.
#[get("/sso/oidc/{idp_id}/callback")]
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, PageError> {
    let (account, idp, attempt) = arriving(&state, &req, &path).await?;
    let IdpProtocol::Oidc(settings) = &idp.protocol else {
        return Err(AppError::NotFound.into());
    };
    let refuse = |reason: &'static str, error: AppError| {
        finish::refuse(&state, &account, &idp, reason, error, attempt.clone())
    };
    let query = query.into_inner();
    let Some(key) = query
        .state
        .clone()
        .filter(|s| !s.is_empty() && s.len() <= MAX_STATE)
    else {
        return Err(refuse(
            "missing_state",
            finish::not_this_login(&idp, "missing_state"),
        )
        .await);
    };
    let now = Utc::now();
    let pending = state
        .db(move |store| store.take_pending_login(&key, now))
        .await?;
    let Some(pending) = pending else {
        return Err(refuse(
            "unknown_state",
            finish::not_this_login(&idp, "unknown_state"),
        )
        .await);
    };
    if pending.idp != idp.id {
        return Err(refuse("wrong_idp", finish::not_this_login(&idp, "wrong_idp")).await);
    }
    if !browser::matches(&req, &pending.browser_binding) {
        return Err(refuse(
            "browser_mismatch",
            finish::not_this_login(&idp, "browser_mismatch"),
        )
        .await);
    }
    let policy = HttpPolicy {
        allow_private_addresses: state.config.sso_allow_private_addresses,
    };
    let provider = match state
        .sso_providers
        .get(idp.id, &settings.issuer, &policy)
        .await
    {
        Ok(provider) => provider,
        Err(e) => {
            tracing::warn!(error = %e, idp = %idp.id, "OpenID Connect discovery failed");
            return Err(refuse(
                "discovery_failed",
                finish::rejected(&idp, "discovery_failed"),
            )
            .await);
        }
    };
    let stored = StoredAttempt {
        state: pending.id,
        nonce: pending.nonce.unwrap_or_default(),
        pkce_verifier: pending.pkce_verifier.unwrap_or_default(),
        idp: pending.idp,
    };
    let params = CallbackParams {
        code: query.code,
        state: query.state,
        iss: query.iss,
        error: query.error,
    };
    let redirect_uri = oidc_redirect_uri(&state.config.public_url, idp.id);
    let identity = match oidc::finish_login(
        &provider,
        settings,
        idp.id,
        &redirect_uri,
        &params,
        &stored,
        &policy,
        now,
        CLOCK_SKEW,
    )
    .await
    {
        Ok(identity) => identity,
        Err(rejection) => {
            let reason = rejection.reason();
            return Err(refuse(reason, finish::rejected(&idp, reason)).await);
        }
    };
    let return_to = pending
        .return_to
        .unwrap_or_else(|| format!("/a/{}/", account.slug));
    finish::complete(&state, &account, &idp, identity, return_to, attempt).await
}
