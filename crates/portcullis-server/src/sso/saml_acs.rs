//! `POST /sso/saml/{idp}/acs`: the SAML response (HTTP-POST binding), verified the way
//! SSO-NOTES prescribes.
//!
//! 1. The unverified `InResponseTo` only chooses the path. `Some(id)`: the pending login
//!    `id` must exist, belong to this IdP and to this browser (`portcullis_app::sso::pending`);
//!    the response is then verified as an answer to exactly that request. `None`: only
//!    when this IdP allows IdP-initiated login, verified as unsolicited (the library then
//!    refuses any `InResponseTo` in the signed assertion).
//! 2. One transaction (`portcullis_app::sso::finish`) claims the pending login, records
//!    the assertion id in the replay table shared by every replica (a second use is
//!    refused), decides and opens the session.
//!
//! The body is capped at [`MAX_FORM_BYTES`] before anything is parsed.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use portcullis_app::sso::{self, Completion, Refusal};
use portcullis_domain::IdpProtocol;
use portcullis_sso::saml::{self, Expected, SpConfig, MAX_ENCODED_RESPONSE};
use serde::Deserialize;

use super::finish;
use super::{arriving, browser};
use crate::error::{blocking_failed, AppError, PageError};
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
    let refuse =
        |refusal: Refusal| finish::refuse(&state, &account, &idp, refusal, attempt.clone());
    let now = Utc::now();
    let form = form.into_inner();
    let (claim, return_to) = match saml::peek_in_response_to(&form.saml_response) {
        Some(request_id) => {
            let (key, checked, presented) =
                (request_id.clone(), idp.clone(), browser::presented(&req));
            let pending = state
                .read(move |store| {
                    sso::pending(
                        store,
                        &key,
                        &checked,
                        presented.as_deref(),
                        "unknown_request",
                        now,
                    )
                })
                .await?;
            match pending {
                Ok(pending) => (Some(request_id), pending.return_to),
                Err(refusal) => return Err(refuse(refusal).await),
            }
        }
        None if idp.allows_idp_initiated() => (None, None),
        None => return Err(refuse(Refusal::rejected(&idp, "unsolicited_response")).await),
    };

    let sp = SpConfig::for_idp(&state.config.public_url, idp.id);
    let traced = (settings.clone(), sp.clone(), form.saml_response.clone());
    let (settings, idp_id, pending_ids) = (settings.clone(), idp.id, claim.clone());
    // xmlsec is CPU work: keep it off the async workers.
    let verified = web::block(move || {
        let pending_ids: Vec<String> = pending_ids.into_iter().collect();
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
            sso::CLOCK_SKEW,
        )
    })
    .await
    .map_err(blocking_failed)?;
    let mut attempt = attempt.clone();
    let (traced_settings, traced_sp, traced_response) = traced;
    super::saml_trace::note(
        &mut attempt,
        &traced_response,
        &traced_settings,
        &traced_sp,
        claim.as_deref(),
        verified.as_ref().err(),
        now,
    );
    let verified = match verified {
        Ok(v) => v,
        Err(rejection) => {
            let refusal = Refusal::rejected(&idp, rejection.reason());
            return Err(finish::refuse(&state, &account, &idp, refusal, attempt).await);
        }
    };
    let replay = (
        verified.assertion_id.clone(),
        verified.replay_expires_at(sso::CLOCK_SKEW),
    );
    attempt.name_id_format = verified.name_id_format.clone();
    attempt.note(
        "identity",
        format!(
            "{} (NameID format {})",
            verified.identity.email,
            verified.name_id_format.as_deref().unwrap_or("unspecified")
        ),
    );
    finish::complete(
        &state,
        Completion {
            return_to: return_to.unwrap_or_else(|| format!("/a/{}/", account.slug)),
            account: account.clone(),
            idp: idp.clone(),
            identity: verified.identity,
            claim: claim.map(|id| (id, "unknown_request")),
            replay: Some(replay),
            attempt,
            ttl_minutes: state.config.session_ttl_minutes,
        },
    )
    .await
}
