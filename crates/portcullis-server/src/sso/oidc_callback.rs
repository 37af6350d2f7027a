//! `GET /sso/oidc/{idp}/callback`: the OpenID Connect authorization response.
//!
//! The `state` names the pending login, which must belong to this IdP and this browser
//! (`portcullis_app::sso::pending`); the library then checks the RFC 9207 `iss`, redeems
//! the code with the PKCE verifier and verifies the ID token (nonce included); the sign-in
//! finishes in one transaction that claims the pending login, so a second use of the same
//! state fails.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::Utc;
use portcullis_app::sso::{self, Completion, Refusal};
use portcullis_domain::IdpProtocol;
use portcullis_sso::oidc::{self, CallbackParams, StoredAttempt};
use serde::Deserialize;

use super::finish;
use super::{arriving, browser, oidc_redirect_uri};
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
    let refuse =
        |refusal: Refusal| finish::refuse(&state, &account, &idp, refusal, attempt.clone());
    let query = query.into_inner();
    let Some(key) = query
        .state
        .clone()
        .filter(|s| !s.is_empty() && s.len() <= MAX_STATE)
    else {
        return Err(refuse(Refusal::not_this_login(&idp, "missing_state")).await);
    };
    let now = Utc::now();
    let (claimed, checked, presented) = (key.clone(), idp.clone(), browser::presented(&req));
    let pending = state
        .read(move |store| {
            sso::pending(
                store,
                &claimed,
                &checked,
                presented.as_deref(),
                "unknown_state",
                now,
            )
        })
        .await?;
    let pending = match pending {
        Ok(pending) => pending,
        Err(refusal) => return Err(refuse(refusal).await),
    };
    let policy = state.http_policy();
    let provider = match state
        .sso_providers
        .get(idp.id, &settings.issuer, &policy)
        .await
    {
        Ok(provider) => provider,
        Err(e) => {
            tracing::warn!(error = %e, idp = %idp.id, "OpenID Connect discovery failed");
            return Err(refuse(Refusal::rejected(&idp, "discovery_failed")).await);
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
    let identity = oidc::finish_login(
        &provider,
        settings,
        idp.id,
        &redirect_uri,
        &params,
        &stored,
        &policy,
        now,
        sso::CLOCK_SKEW,
        async || {
            state
                .sso_providers
                .refresh_keys(idp.id, &settings.issuer, &policy)
                .await
        },
    )
    .await;
    let mut attempt = attempt.clone();
    attempt.note(
        "request",
        "the state matches a sign-in started in this browser",
    );
    let identity = match identity {
        Ok(identity) => identity,
        Err(rejection) => {
            let step = portcullis_domain::sign_in_attempt::failing_step(rejection.reason());
            attempt.note(step, format!("refused: {rejection}"));
            let refusal = Refusal::rejected(&idp, rejection.reason());
            return Err(finish::refuse(&state, &account, &idp, refusal, attempt).await);
        }
    };
    attempt.note("callback", "an authorization code for this client");
    attempt.note(
        "token",
        format!(
            "the code was exchanged at {}'s token endpoint",
            settings.issuer
        ),
    );
    attempt.note(
        "id_token",
        format!(
            "signature, issuer {} and audience {} verified, nonce matched, not expired",
            settings.issuer, settings.client_id
        ),
    );
    attempt.note("identity", identity.email.to_string());
    finish::complete(
        &state,
        Completion {
            return_to: pending
                .return_to
                .unwrap_or_else(|| format!("/a/{}/", account.slug)),
            account: account.clone(),
            idp: idp.clone(),
            identity,
            claim: Some((key, "unknown_state")),
            replay: None,
            attempt,
            ttl_minutes: state.config.session_ttl_minutes,
        },
    )
    .await
}
