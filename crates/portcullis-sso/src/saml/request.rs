//! SP-initiated login: the AuthnRequest, sent with the HTTP-Redirect binding, signed
//! when the IdP's settings ask for it.

use std::io::Write as _;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use flate2::write::DeflateEncoder;
use flate2::Compression;
use openssl::hash::MessageDigest;
use openssl::sign::Signer;
use portcullis_domain::SamlSettings;
use samael::traits::ToXml as _;
use url::form_urlencoded::byte_serialize;

use super::sp_key::private_key;
use super::SpConfig;
use crate::SsoError;

/// The `SigAlg` of signed AuthnRequests: RSA with SHA-256.
pub const SIG_ALG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// Where to send the browser, and the request id to remember for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRedirect {
    /// The IdP's SSO URL with `SAMLRequest`, `RelayState` and, when signed, `SigAlg` and
    /// `Signature` in the query.
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
///
/// When `settings.sign_authn_requests` is on, the request is signed with the SP key as
/// the HTTP-Redirect binding prescribes (SAML bindings §3.4.4.1): RSA-SHA256 over exactly
/// the octets `SAMLRequest=…&RelayState=…&SigAlg=…` as they appear in the query, and
/// nothing else. Parameters the IdP's SSO URL already carries (Google's `?idpid=`) are
/// kept in front and left out of the signature. (samael's `signed_redirect` signs the
/// whole query, those parameters included, so an IdP that follows §3.4.4.1 would refuse
/// the signature.)
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
    let xml = request
        .to_string()
        .map_err(|e| SsoError::AuthnRequest(e.to_string()))?;

    // The binding's message: DEFLATE, then base64, then URL-encoding.
    let mut deflater = DeflateEncoder::new(Vec::new(), Compression::default());
    deflater
        .write_all(xml.as_bytes())
        .map_err(|e| SsoError::AuthnRequest(e.to_string()))?;
    let deflated = deflater
        .finish()
        .map_err(|e| SsoError::AuthnRequest(e.to_string()))?;
    let mut query = format!("SAMLRequest={}", encode(&STANDARD.encode(deflated)));
    if !relay_state.is_empty() {
        query.push_str(&format!("&RelayState={}", encode(relay_state)));
    }
    if settings.sign_authn_requests {
        let key = settings
            .sp_signing_key
            .as_ref()
            .ok_or(SsoError::NoSpSigningKey)?;
        query.push_str(&format!("&SigAlg={}", encode(SIG_ALG_RSA_SHA256)));
        let signature = sign(&private_key(key)?, query.as_bytes())?;
        query.push_str(&format!(
            "&Signature={}",
            encode(&STANDARD.encode(signature))
        ));
    }

    let mut url = url::Url::parse(&settings.sso_url).map_err(|e| SsoError::InvalidUrl {
        field: "SSO URL",
        reason: e.to_string(),
    })?;
    let full_query = match url.query().filter(|q| !q.is_empty()) {
        Some(existing) => format!("{existing}&{query}"),
        None => query,
    };
    url.set_query(Some(&full_query));
    Ok(AuthnRedirect {
        url: url.to_string(),
        request_id,
    })
}

/// `application/x-www-form-urlencoded`, as the binding's query parameters are.
fn encode(value: &str) -> String {
    byte_serialize(value.as_bytes()).collect()
}

/// RSA-SHA256 (PKCS #1 v1.5) over `octets`.
fn sign(
    key: &openssl::pkey::PKey<openssl::pkey::Private>,
    octets: &[u8],
) -> Result<Vec<u8>, SsoError> {
    let sign_error = |e: openssl::error::ErrorStack| SsoError::InvalidSpKey(e.to_string());
    let mut signer = Signer::new(MessageDigest::sha256(), key).map_err(sign_error)?;
    signer.update(octets).map_err(sign_error)?;
    signer.sign_to_vec().map_err(sign_error)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
