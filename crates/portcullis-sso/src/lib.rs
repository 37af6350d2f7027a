//! SAML 2.0 and OpenID Connect adapters that turn an identity provider's answer into a
//! verified identity or a precise rejection.
//!
//! The crate never depends on the store, the server or a web framework, never reads the
//! clock and never draws randomness: `now` and random bytes are arguments. What must be
//! remembered between two requests (pending SAML request ids, OIDC attempts, the SAML
//! assertion replay cache) is returned to the caller, who persists it.
//!
//! - [`saml`]: SP metadata, AuthnRequests (HTTP-Redirect binding) and the hardened
//!   verification of HTTP-POST responses on top of samael.
//! - [`oidc`]: discovery, the authorization code flow with PKCE, state and nonce, and
//!   ID-token verification on top of openidconnect.

mod error;
pub mod oidc;
pub mod saml;

pub use error::SsoError;
pub use portcullis_domain::policy::SsoIdentity;

/// An error with its sources, `outer: inner: innermost` (an HTTP client's errors say
/// what went wrong only in their sources).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
