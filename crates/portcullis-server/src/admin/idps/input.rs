//! What clients send to create or change an IdP.

use portcullis_app::idps;
use portcullis_domain::AssertionEncryption;
use serde::Deserialize;
use utoipa::ToSchema;

/// SAML settings: metadata XML, or a metadata URL, or entity id + SSO URL + certificates.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SamlInput {
    /// The IdP's metadata document, pasted.
    pub metadata_xml: Option<String>,
    /// Where to fetch the metadata (HTTPS); refreshed on a schedule and on demand.
    pub metadata_url: Option<String>,
    /// By hand: the IdP's entity id.
    pub entity_id: Option<String>,
    /// By hand: the IdP's SSO URL (HTTP-Redirect binding).
    pub sso_url: Option<String>,
    /// By hand: the signing certificates, PEM or base64 DER.
    pub certificates: Option<Vec<String>>,
    /// The attribute carrying the email, when not a usual one.
    pub email_attribute: Option<String>,
    /// The attribute carrying the display name, when not a usual one.
    pub name_attribute: Option<String>,
    /// By hand: the IdP's SingleLogoutService URL (HTTP-Redirect binding). Metadata
    /// gives its own. When set, signing out signs out at the IdP too, the IdP may sign
    /// people out of Portcullis, and Portcullis makes the SP signing key pair.
    pub slo_url: Option<String>,
}

/// Whether the SAML IdP encrypts its assertions: `off` (clear assertions only), `accept`
/// (both) or `require` (a clear assertion is refused). `accept` and `require` make the
/// SP encryption key pair and publish its certificate in the SP metadata.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EncryptedAssertions {
    /// Clear assertions only.
    Off,
    /// Encrypted and clear assertions.
    Accept,
    /// Encrypted assertions only.
    Require,
}

impl From<EncryptedAssertions> for AssertionEncryption {
    fn from(e: EncryptedAssertions) -> Self {
        match e {
            EncryptedAssertions::Off => Self::Off,
            EncryptedAssertions::Accept => Self::Accept,
            EncryptedAssertions::Require => Self::Require,
        }
    }
}

/// OIDC settings. On update, absent fields stay as they are.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcInput {
    /// The issuer URL; checked by discovery before saving.
    pub issuer: Option<String>,
    /// The client id registered at the IdP.
    pub client_id: Option<String>,
    /// The client secret: write-only, never returned.
    pub client_secret: Option<String>,
    /// Scopes besides `openid` (default `email profile`).
    pub scopes: Option<Vec<String>>,
}

/// A new IdP: exactly one of `saml` or `oidc`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIdp {
    /// What people see in the sign-in chooser.
    pub description: String,
    /// Whether it can be used at once (default true).
    pub enabled: Option<bool>,
    /// Accept IdP-initiated sign-in (SAML only; refused for OIDC).
    pub idp_initiated: Option<bool>,
    /// Sign AuthnRequests (SAML only; default false). Portcullis makes the IdP's SP key
    /// pair and publishes its certificate in the SP metadata.
    pub sign_authn_requests: Option<bool>,
    /// Encrypted assertions (SAML only; default `off`).
    pub encrypted_assertions: Option<EncryptedAssertions>,
    /// Accept emails the IdP does not mark `email_verified: true`, and Entra ID-style
    /// usernames when no email is sent (OIDC only; default false). Only for an IdP that
    /// asserts addresses of your own organisation: a multi-tenant issuer would let anyone
    /// claim any address.
    pub trust_unverified_email: Option<bool>,
    /// SAML settings.
    pub saml: Option<SamlInput>,
    /// OIDC settings.
    pub oidc: Option<OidcInput>,
}

/// A change to an IdP; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdpUpdate {
    /// New description.
    pub description: Option<String>,
    /// Enable or disable (disabling the last enabled IdP under enforcement is refused).
    pub enabled: Option<bool>,
    /// IdP-initiated sign-in (SAML only; refused for OIDC).
    pub idp_initiated: Option<bool>,
    /// Sign AuthnRequests (SAML only). Switching it on the first time makes the SP key
    /// pair; switching it off keeps the key for the next time.
    pub sign_authn_requests: Option<bool>,
    /// Encrypted assertions (SAML only). Switching it on the first time makes the SP
    /// encryption key pair; switching it off keeps the key for the next time.
    pub encrypted_assertions: Option<EncryptedAssertions>,
    /// Accept emails the IdP does not mark `email_verified: true` (OIDC only).
    pub trust_unverified_email: Option<bool>,
    /// New SAML settings (replace the current ones).
    pub saml: Option<SamlInput>,
    /// New OIDC settings.
    pub oidc: Option<OidcInput>,
}

impl From<SamlInput> for idps::SamlInput {
    fn from(s: SamlInput) -> Self {
        Self {
            metadata_xml: s.metadata_xml,
            metadata_url: s.metadata_url,
            entity_id: s.entity_id,
            sso_url: s.sso_url,
            certificates: s.certificates,
            email_attribute: s.email_attribute,
            name_attribute: s.name_attribute,
            slo_url: s.slo_url,
        }
    }
}

impl From<OidcInput> for idps::OidcInput {
    fn from(o: OidcInput) -> Self {
        Self {
            issuer: o.issuer,
            client_id: o.client_id,
            client_secret: o.client_secret,
            scopes: o.scopes,
        }
    }
}

impl From<NewIdp> for idps::NewIdp {
    fn from(n: NewIdp) -> Self {
        Self {
            description: n.description,
            enabled: n.enabled,
            idp_initiated: n.idp_initiated,
            sign_authn_requests: n.sign_authn_requests,
            encrypted_assertions: n.encrypted_assertions.map(Into::into),
            trust_unverified_email: n.trust_unverified_email,
            saml: n.saml.map(Into::into),
            oidc: n.oidc.map(Into::into),
        }
    }
}

impl From<IdpUpdate> for idps::IdpChange {
    fn from(u: IdpUpdate) -> Self {
        Self {
            description: u.description,
            enabled: u.enabled,
            idp_initiated: u.idp_initiated,
            sign_authn_requests: u.sign_authn_requests,
            encrypted_assertions: u.encrypted_assertions.map(Into::into),
            trust_unverified_email: u.trust_unverified_email,
            saml: u.saml.map(Into::into),
            oidc: u.oidc.map(Into::into),
        }
    }
}
