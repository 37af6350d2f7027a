//! How a sign-in's end is answered: the session cookie and the redirect, or the refusal
//! page (audited). What is decided is `portcullis_app::sso::finish`'s.

use actix_web::http::header;
use actix_web::HttpResponse;
use chrono::Utc;
use portcullis_app::sso::{self, Attempt, Completion, Finished, Refusal};
use portcullis_domain::{Account, IdentityProvider};

use crate::error::PageError;
use crate::session;
use crate::state::AppState;

/// Audits a refused attempt and returns the page to show.
pub async fn refuse(
    state: &AppState,
    account: &Account,
    idp: &IdentityProvider,
    refusal: Refusal,
    attempt: Attempt,
) -> PageError {
    let (account, idp, reason) = (account.clone(), idp.clone(), refusal.reason);
    let audited = state
        .write(move |store| {
            sso::record_refusal(store, &account, &idp, reason, &attempt, Utc::now())
        })
        .await;
    if let Err(e) = audited {
        tracing::error!(error = %e, reason, "could not audit a refused SSO login");
    }
    PageError(refusal.error)
}

/// Finishes a verified sign-in ([`sso::finish`]) and answers it: the session cookie and
/// a redirect to where the sign-in was going, or the refusal page.
pub async fn complete(state: &AppState, completion: Completion) -> Result<HttpResponse, PageError> {
    let ttl = completion.ttl_minutes;
    let finished = state
        .write(move |store| sso::finish(store, completion, Utc::now()))
        .await?;
    match finished {
        Finished::SignedIn { session, return_to } => {
            let token = state.keys.sign(&session)?;
            Ok(HttpResponse::SeeOther()
                .cookie(session::session_cookie(
                    token,
                    state.config.secure_cookies(),
                    ttl,
                ))
                .insert_header((header::LOCATION, return_to))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish())
        }
        Finished::Tested { return_to } => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, return_to))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()),
        Finished::Refused(refusal) => Err(PageError(refusal.error)),
    }
}
