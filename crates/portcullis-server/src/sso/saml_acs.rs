//! `POST /sso/saml/{idp}/acs`: the SAML response (HTTP-POST binding), verified the way
//! SSO-NOTES prescribes.
//!
//! 1. The unverified `InResponseTo` only chooses the path. `Some(id)`: the pending login
//!    `id` is taken (deleted) and must belong to this IdP and this browser; the response
//!    is then verified as an answer to exactly that request. `None`: only when this IdP
//!    allows IdP-initiated login, verified as unsolicited (the library then refuses any
//!    `InResponseTo` in the signed assertion).
//! 2. The assertion id goes into the replay table, shared by every replica: a second use
//!    is refused.
//! 3. [`super::finish::complete`] decides and opens the session.
//!
//! The body is capped at [`MAX_FORM_BYTES`] before anything is parsed.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use portcullis_domain::IdpProtocol;
use portcullis_sso::saml::{self, Expected, SpConfig, MAX_ENCODED_RESPONSE};
use serde::Deserialize;

use super::finish;
use super::{arriving, browser, CLOCK_SKEW};
use crate::error::{AppError, PageError};
use crate::state::AppState;

/// Largest ACS form body: the largest encoded response the library accepts, plus room
/// for URL-encoding of its `+`, `/` and `=` and for `RelayState`.
pub const MAX_FORM_BYTES: usize = MAX_ENCODED_RESPONSE + MAX_ENCODED_RESPONSE / 4;

/// The ACS form.
#[derive(Deserialize)]
struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: String,
    /// Opaque and ignored: the request id in the response finds the login attempt.
    #[serde(rename = "RelayState")]
    #[allow(dead_code)]
    relay_state: Option<String>,
}

/// The ACS route with its own body limit.
pub fn resource() -> actix_web::Resource {
    web::resource("/sso/saml/{idp_id}/acs")
        .app_data(
            web::FormConfig::default()
                .limit(MAX_FORM_BYTES)
                .error_handler(|err, _req| {
                    let app = match err {
                        actix_web::error::UrlencodedError::Overflow { .. } => {
                            AppError::PayloadTooLarge
                        }
                        other => AppError::BadRequest(format!("invalid SAML form: {other}")),
                    };
                    PageError(app).into()
                }),
        )
        .route(web::post().to(acs))
}

async fn acs(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<AcsForm>,
) -> Result<HttpResponse, PageError> {
    let (account, idp, attempt) = arriving(&state, &req, &path).await?;
    let IdpProtocol::Saml(settings) = &idp.protocol else {
        return Err(AppError::NotFound.into());
    };
    let refuse = |reason: &'static str, error: AppError| {
        finish::refuse(&state, &account, &idp, reason, error, attempt.clone())
    };
    let now = Utc::now();
    let form = form.into_inner();
    let (pending_ids, return_to) = match saml::peek_in_response_to(&form.saml_response) {
        Some(request_id) => {
            let key = request_id.clone();
            let pending = state
                .db(move |store| store.take_pending_login(&key, now))
                .await?;
            let Some(pending) = pending else {
                return Err(refuse(
                    "unknown_request",
                    finish::not_this_login(&idp, "unknown_request"),
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
            (vec![request_id], pending.return_to)
        }
        None if idp.allows_idp_initiated() => (Vec::new(), None),
        None => {
            let error = finish::rejected(&idp, "unsolicited_response");
            return Err(refuse("unsolicited_response", error).await);
        }
    };

    let sp = SpConfig::for_idp(&state.config.public_url, idp.id);
    let (settings, idp_id) = (settings.clone(), idp.id);
    // xmlsec is CPU work: keep it off the async workers.
    let verified = web::block(move || {
        let expected = if pending_ids.is_empty() {
            Expected::IdpInitiated
        } else {
            Expected::SpInitiated {
                pending_request_ids: &pending_ids,
            }
        };
        saml::verify_response(
            &settings,
            idp_id,
            &sp,
            &form.saml_response,
            expected,
            now,
            CLOCK_SKEW,
        )
    })
    .await
    .map_err(AppError::from)?;
    let verified = match verified {
        Ok(v) => v,
        Err(rejection) => {
            let reason = rejection.reason();
            return Err(refuse(reason, finish::rejected(&idp, reason)).await);
        }
    };

    let (assertion_id, expires) = (
        verified.assertion_id.clone(),
        verified.replay_expires_at(CLOCK_SKEW),
    );
    let first_use = state
        .db(move |store| store.remember_assertion(idp_id, &assertion_id, expires))
        .await?;
    if !first_use {
        return Err(refuse(
            "assertion_replayed",
            finish::rejected(&idp, "assertion_replayed"),
        )
        .await);
    }
    let return_to = return_to.unwrap_or_else(|| format!("/a/{}/", account.slug));
    finish::complete(
        &state,
        &account,
        &idp,
        verified.identity,
        return_to,
        attempt,
    )
    .await
}
