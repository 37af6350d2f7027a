//! Configuration problems: an IdP that cannot be used as configured.

/// Why an IdP's configuration (metadata, certificates, issuer, URLs) cannot be used.
///
/// These are problems an admin fixes in the IdP settings. A login that fails because the
/// IdP's answer is forged or stale is a [`crate::saml::SamlRejection`] or
/// [`crate::oidc::OidcRejection`] instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsoError {
    /// The document is larger than the limit for its kind.
    #[error("the document is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The document declares a DOCTYPE, which is never accepted (XXE, entity expansion).
    #[error("XML documents with a DOCTYPE are refused")]
    DoctypeRefused,
    /// The metadata could not be read.
    #[error("the IdP metadata is invalid: {0}")]
    InvalidMetadata(String),
    /// The IdP has no signing certificate. samael checks no signature at all without one,
    /// so such an IdP is refused both when saved and when used.
    #[error("the identity provider has no signing certificate")]
    NoSigningCertificate,
    /// A certificate is not a valid X.509 certificate (PEM or base64 DER).
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
    /// The IdP offers no SingleSignOnService with the HTTP-Redirect binding.
    #[error("the IdP metadata has no SingleSignOnService with the HTTP-Redirect binding")]
    NoRedirectBinding,
    /// A URL in the configuration is unusable.
    #[error("invalid {field}: {reason}")]
    InvalidUrl {
        /// Which URL.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// RelayState must be an opaque server-generated token (letters, digits, `-`, `_`).
    #[error("RelayState must be an opaque server-generated token")]
    InvalidRelayState,
    /// AuthnRequests are to be signed, but the IdP has no SP signing key.
    #[error(
        "signing AuthnRequests is switched on but the identity provider has no SP signing key"
    )]
    NoSpSigningKey,
    /// The SP signing key or its certificate cannot be used (not an RSA key, unreadable).
    #[error("the SP signing key cannot be used: {0}")]
    InvalidSpKey(String),
    /// The AuthnRequest could not be built.
    #[error("could not build the SAML AuthnRequest: {0}")]
    AuthnRequest(String),
    /// A logout message could not be built (an empty NameID or `InResponseTo`, or a
    /// character XML cannot carry).
    #[error("could not build the SAML logout message: {0}")]
    LogoutMessage(String),
    /// An HTTP request to the IdP failed or was refused by the HTTP policy.
    #[error("HTTP request to the identity provider failed: {0}")]
    Http(String),
    /// OpenID Connect discovery failed (including an issuer that differs from the
    /// configured one).
    #[error("OpenID Connect discovery failed: {0}")]
    Discovery(String),
}
