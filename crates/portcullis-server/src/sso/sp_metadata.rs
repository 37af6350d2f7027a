//! `GET /sso/saml/{idp}/metadata`: the SP metadata an admin gives the SAML IdP (entity
//! id and ACS URL of this one IdP, from the configured public URL, and the SP's signing
//! certificate when its AuthnRequests are signed).

use actix_web::{get, web, HttpResponse};
use portcullis_domain::IdpProtocol;
use portcullis_sso::saml::{sp_metadata_xml, SpConfig};

use super::load_idp;
use crate::error::{AppError, PageError};
use crate::state::AppState;

/// Serves the SP metadata of a SAML IdP (also while it is disabled, so it can be set up
/// before it is turned on). Unknown ids and OIDC IdPs are not found.
#[get("/sso/saml/{idp_id}/metadata")]
pub async fn metadata(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (_, idp) = load_idp(&state, &path).await?;
    let IdpProtocol::Saml(settings) = &idp.protocol else {
        return Err(AppError::NotFound.into());
    };
    let sp = SpConfig::for_idp(&state.config.public_url, idp.id);
    Ok(HttpResponse::Ok()
        .content_type("application/samlmetadata+xml")
        .body(sp_metadata_xml(&sp, settings)))
}
