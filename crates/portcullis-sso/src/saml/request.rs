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
    check_relay_state(relay_state)?;
    check_http_url(&settings.sso_url, "SSO URL")?;
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

    let deflated = deflate(&xml).map_err(|e| SsoError::AuthnRequest(e.to_string()))?;
    let key = if settings.sign_authn_requests {
        let key = settings
            .sp_signing_key
            .as_ref()
            .ok_or(SsoError::NoSpSigningKey)?;
        Some(private_key(key)?)
    } else {
        None
    };
    let relay_state = Some(relay_state).filter(|r| !r.is_empty());
    let query = redirect_query("SAMLRequest", &deflated, relay_state, key.as_ref())?;
    Ok(AuthnRedirect {
        url: redirect_url(&settings.sso_url, "SSO URL", query)?,
        request_id,
    })
}

/// Refuses a RelayState that is not an opaque server-generated token: letters, digits,
/// `-` and `_`, at most 80 bytes.
pub(crate) fn check_relay_state(relay_state: &str) -> Result<(), SsoError> {
    if relay_state.len() > MAX_RELAY_STATE
        || !relay_state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(SsoError::InvalidRelayState);
    }
    Ok(())
}

/// Refuses a URL of the IdP's (named `field` in the error) that is not http(s).
pub(crate) fn check_http_url(url: &str, field: &'static str) -> Result<(), SsoError> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(SsoError::InvalidUrl {
            field,
            reason: "not an http(s) URL".into(),
        });
    }
    Ok(())
}

/// Raw DEFLATE (RFC 1951), the HTTP-Redirect binding's compression (SAML bindings
/// §3.4.4.1).
pub(crate) fn deflate(xml: &str) -> std::io::Result<Vec<u8>> {
    let mut deflater = DeflateEncoder::new(Vec::new(), Compression::default());
    deflater.write_all(xml.as_bytes())?;
    deflater.finish()
}

/// The query of a message on the HTTP-Redirect binding: `param` (`SAMLRequest` or
/// `SAMLResponse`) with the `deflated` message, base64 and then URL-encoded, then
/// `RelayState` when given, then, when `key` is given, `SigAlg` and `Signature`:
/// RSA-SHA256 over exactly the octets `param=…&RelayState=…&SigAlg=…` as they appear in
/// the query, and nothing else (SAML bindings §3.4.4.1).
pub(crate) fn redirect_query(
    param: &str,
    deflated: &[u8],
    relay_state: Option<&str>,
    key: Option<&openssl::pkey::PKey<openssl::pkey::Private>>,
) -> Result<String, SsoError> {
    let mut query = format!("{param}={}", encode(&STANDARD.encode(deflated)));
    if let Some(relay_state) = relay_state {
        query.push_str(&format!("&RelayState={}", encode(relay_state)));
    }
    if let Some(key) = key {
        query.push_str(&format!("&SigAlg={}", encode(SIG_ALG_RSA_SHA256)));
        let signature = sign(key, query.as_bytes())?;
        query.push_str(&format!(
            "&Signature={}",
            encode(&STANDARD.encode(signature))
        ));
    }
    Ok(query)
}

/// `target` (an IdP URL, named `field` in errors) with the binding's `query` appended.
/// Parameters the URL already carries (Google's `?idpid=`) are kept in front, outside
/// the signature.
pub(crate) fn redirect_url(
    target: &str,
    field: &'static str,
    query: String,
) -> Result<String, SsoError> {
    let mut url = url::Url::parse(target).map_err(|e| SsoError::InvalidUrl {
        field,
        reason: e.to_string(),
    })?;
    let full_query = match url.query().filter(|q| !q.is_empty()) {
        Some(existing) => format!("{existing}&{query}"),
        None => query,
    };
    url.set_query(Some(&full_query));
    Ok(url.to_string())
}

/// `application/x-www-form-urlencoded`, as the binding's query parameters are.
pub(crate) fn encode(value: &str) -> String {
    byte_serialize(value.as_bytes()).collect()
}

/// RSA-SHA256 (PKCS #1 v1.5) over `octets`.
pub(crate) fn sign(
    key: &openssl::pkey::PKey<openssl::pkey::Private>,
    octets: &[u8],
) -> Result<Vec<u8>, SsoError> {
    let sign_error = |e: openssl::error::ErrorStack| SsoError::InvalidSpKey(e.to_string());
    let mut signer = Signer::new(MessageDigest::sha256(), key).map_err(sign_error)?;
    signer.update(octets).map_err(sign_error)?;
    signer.sign_to_vec().map_err(sign_error)
}

/// Lower-case hex digits of `bytes`, for message ids.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
