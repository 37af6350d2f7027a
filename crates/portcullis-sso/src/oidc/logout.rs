//! OpenID Connect RP-Initiated Logout 1.0: where to send a browser that signs out, when
//! the provider advertises an `end_session_endpoint`.

use openidconnect::core::{
    CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    ClientId, CsrfToken, EndSessionUrl, IdToken, LogoutRequest, PostLogoutRedirectUrl,
};

use super::claims::ExtraClaims;
use super::login::ProviderInfo;
use crate::SsoError;

type RawIdToken = IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// The provider's end-session URL for a sign-out: `id_token_hint` (the ID token of the
/// sign-in), `client_id`, the `post_logout_redirect_uri` registered for the IdP and the
/// `state` to find on the way back. `None` when the provider has no end-session endpoint
/// (the sign-out then stays local).
pub fn logout_url(
    provider: &ProviderInfo,
    id_token: &str,
    client_id: &str,
    post_logout_redirect_uri: &str,
    state: &str,
) -> Result<Option<String>, SsoError> {
    let Some(endpoint) = provider.end_session_endpoint() else {
        return Ok(None);
    };
    let endpoint = EndSessionUrl::new(endpoint.to_owned()).map_err(|e| SsoError::InvalidUrl {
        field: "end_session_endpoint",
        reason: e.to_string(),
    })?;
    let redirect =
        PostLogoutRedirectUrl::new(post_logout_redirect_uri.to_owned()).map_err(|e| {
            SsoError::InvalidUrl {
                field: "post_logout_redirect_uri",
                reason: e.to_string(),
            }
        })?;
    let hint: RawIdToken =
        id_token
            .parse()
            .map_err(|e: serde_json::Error| SsoError::InvalidUrl {
                field: "id_token_hint",
                reason: e.to_string(),
            })?;
    Ok(Some(
        LogoutRequest::from(endpoint)
            .set_id_token_hint(&hint)
            .set_client_id(ClientId::new(client_id.to_owned()))
            .set_post_logout_redirect_uri(redirect)
            .set_state(CsrfToken::new(state.to_owned()))
            .http_get_url()
            .to_string(),
    ))
}
