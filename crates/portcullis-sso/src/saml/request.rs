//! SP-initiated login: the AuthnRequest, sent with the HTTP-Redirect binding.

use chrono::{DateTime, Utc};
use portcullis_domain::SamlSettings;

use super::SpConfig;
use crate::SsoError;

/// Where to send the browser, and the request id to remember for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRedirect {
    /// The IdP's SSO URL with `SAMLRequest` (and `RelayState`) in the query.
    pub url: String,
    /// `_` followed by 32 hex digits (128 random bits). The server stores it with the
    /// browser's login attempt, as a pending request of this IdP, single-use.
    pub request_id: String,
}

/// Longest RelayState accepted (the SAML binding allows 80 bytes).
const MAX_RELAY_STATE: usize = 80;

/// Builds the AuthnRequest redirect for `settings`' IdP.
///
/// `request_id_random` are 16 random bytes from the caller (samael's own ids carry only
/// 32 random bits). `relay_state` must be an opaque server-generated token (letters,
/// digits, `-`, `_`, at most 80) such as the login attempt's id, never user input: it
/// comes back with the response and must only be used to look the attempt up.
pub fn start_login(
    settings: &SamlSettings,
    sp: &SpConfig,
    request_id_random: [u8; 16],
    relay_state: &str,
    now: DateTime<Utc>,
) -> Result<AuthnRedirect, SsoError> {
    if relay_state.len() > MAX_RELAY_STATE
        || !relay_state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(SsoError::InvalidRelayState);
    }
    if !(settings.sso_url.starts_with("https://") || settings.sso_url.starts_with("http://")) {
        return Err(SsoError::InvalidUrl {
            field: "SSO URL",
            reason: "not an http(s) URL".into(),
        });
    }
    let service_provider = super::sp::service_provider(
        settings,
        sp,
        false,
        chrono::Duration::zero(),
        chrono::Duration::zero(),
    )?;
    let mut request = service_provider
        .make_authentication_request(&settings.sso_url)
        .map_err(|e| SsoError::AuthnRequest(e.to_string()))?;
    let request_id = format!("_{}", hex(&request_id_random));
    request.id = request_id.clone();
    request.issue_instant = now;
    let url = request
        .redirect(relay_state)
        .map_err(|e| SsoError::AuthnRequest(e.to_string()))?
        .ok_or_else(|| SsoError::AuthnRequest("no destination".into()))?;
    Ok(AuthnRedirect {
        url: url.to_string(),
        request_id,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
