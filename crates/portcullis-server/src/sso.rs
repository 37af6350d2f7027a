//! Single sign-on routes: starting a login at an IdP, the SAML Assertion Consumer Service,
//! the OpenID Connect callback and the SP metadata.
//!
//! The protocol checks live in `portcullis-sso`, the pending-login checks and the finish
//! of every sign-in in `portcullis_app::sso`; these modules only take what the browser
//! and the IdP sent (the binding cookie, the form, the query), ask, and render.
//!
//! URLs (the SP side of each IdP is derived from the configured public URL, never from
//! request headers):
//!
//! - `GET /a/{slug}/sso`: the chooser (straight to the IdP when there is only one);
//! - `GET /a/{slug}/sso/{idp}/start[?return_to=/path]`: begins a login;
//! - `GET /sso/saml/{idp}/metadata`: the SP metadata to give the SAML IdP;
//! - `POST /sso/saml/{idp}/acs`: the SAML response (HTTP-POST binding);
//! - `GET /sso/saml/{idp}/slo`: SAML single logout, both ways (HTTP-Redirect binding);
//! - `GET /sso/oidc/{idp}/callback`: the OpenID Connect authorization response.

pub mod browser;
pub mod finish;
pub mod logout;
pub mod oidc_callback;
pub mod saml_acs;
pub mod saml_slo;
pub mod saml_trace;
pub mod sp_metadata;
pub mod start;

use actix_web::{web, HttpRequest};
use portcullis_app::sso::{self as app_sso, Attempt, Refusal};
use portcullis_domain::{Account, IdentityProvider, IdpId};

use crate::client_ip::client_ip;
use crate::error::{AppError, PageError};
use crate::state::AppState;

/// Wires the SSO routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(start::chooser)
        .service(start::start)
        .service(sp_metadata::metadata)
        .service(saml_acs::resource())
        .service(oidc_callback::callback)
        .service(saml_slo::slo)
        .service(logout::oidc_logged_out);
}

/// The redirect URI registered at an OpenID provider for `idp`.
pub fn oidc_redirect_uri(public_url: &str, idp: IdpId) -> String {
    format!(
        "{}/sso/oidc/{idp}/callback",
        public_url.trim_end_matches('/')
    )
}

/// Loads an IdP and its account by the IdP's id alone (the ACS, callback and metadata
/// URLs carry no account): unknown ids are `NotFound`.
pub(crate) async fn load_idp(
    state: &AppState,
    id: &str,
) -> Result<(Account, IdentityProvider), AppError> {
    let id: IdpId = id.parse().map_err(|_| AppError::NotFound)?;
    state.read(move |store| app_sso::idp_by_id(store, id)).await
}

/// The attempt of a request, for the audit log.
pub(crate) fn attempt(state: &AppState, req: &HttpRequest) -> Attempt {
    Attempt {
        ip: client_ip(req, &state.config.trusted_proxies).map(|ip| ip.to_string()),
        ..Attempt::default()
    }
}

/// Loads the IdP an answer came back to (ACS or callback) with what the audit log needs
/// about the attempt; a disabled IdP is refused and audited.
pub(crate) async fn arriving(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
) -> Result<(Account, IdentityProvider, Attempt), PageError> {
    let (account, idp) = load_idp(state, id).await?;
    crate::telemetry::record_account(account.id);
    let attempt = attempt(state, req);
    if !idp.enabled {
        let refusal = Refusal {
            reason: "idp_disabled",
            error: AppError::Forbidden(format!("{} is disabled", idp.description)),
        };
        return Err(finish::refuse(state, &account, &idp, refusal, attempt).await);
    }
    Ok((account, idp, attempt))
}
