//! How the admin API shows an IdP: never the OIDC client secret nor the SP private key;
//! always what to copy into the IdP.

use chrono::{DateTime, Utc};
use portcullis_domain::{IdentityProvider, IdpProtocol};
use portcullis_sso::saml::{certificate_pem, SpConfig};
use serde::Serialize;
use utoipa::ToSchema;

/// What to enter at the IdP.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpJson {
    /// SAML: the Assertion Consumer Service (single sign-on) URL.
    pub acs_url: Option<String>,
    /// SAML: the SP entity id (audience).
    pub entity_id: Option<String>,
    /// SAML: the SP metadata URL.
    pub metadata_url: Option<String>,
    /// SAML with signed AuthnRequests or single logout: the SP's signing certificate
    /// (PEM), also in the SP metadata, for IdPs that take it as an upload.
    pub signing_certificate: Option<String>,
    /// SAML with encrypted assertions: the SP's encryption certificate (PEM), also in the
    /// SP metadata, for IdPs that take it as an upload.
    pub encryption_certificate: Option<String>,
    /// SAML: the SP's single logout URL (HTTP-Redirect binding).
    pub slo_url: Option<String>,
    /// OIDC: the redirect (callback) URI.
    pub redirect_uri: Option<String>,
    /// OIDC: the post-logout redirect URI, where the provider sends a browser back after
    /// signing it out (RP-Initiated Logout).
    pub post_logout_redirect_uri: Option<String>,
}

/// SAML settings as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct SamlJson {
    /// The IdP's entity id.
    pub entity_id: String,
    /// The IdP's SSO URL.
    pub sso_url: String,
    /// The signing certificates (base64 DER).
    pub certificates: Vec<String>,
    /// Where the metadata is fetched from, if anywhere.
    pub metadata_url: Option<String>,
    /// Whether IdP-initiated sign-in is accepted.
    pub idp_initiated: bool,
    /// Whether AuthnRequests are signed with the SP key.
    pub sign_authn_requests: bool,
    /// `off`, `accept` or `require`.
    pub encrypted_assertions: String,
    /// When the SP encryption key replaced by the last rotation stops decrypting.
    pub previous_encryption_key_until: Option<DateTime<Utc>>,
    /// The IdP's SingleLogoutService URL, when single logout is on.
    pub slo_url: Option<String>,
}

/// OIDC settings as shown: the secret never is.
#[derive(Debug, Serialize, ToSchema)]
pub struct OidcJson {
    /// The issuer.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// Whether a client secret is stored (it is never shown).
    pub client_secret_set: bool,
    /// Scopes besides `openid`.
    pub scopes: Vec<String>,
    /// Whether emails the IdP does not mark `email_verified` are accepted.
    pub trust_unverified_email: bool,
}

/// An identity provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdpJson {
    /// Stable id.
    pub id: String,
    /// What people see in the chooser.
    pub description: String,
    /// Whether it can be used.
    pub enabled: bool,
    /// `saml` or `oidc`.
    pub protocol: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// SAML settings.
    pub saml: Option<SamlJson>,
    /// OIDC settings.
    pub oidc: Option<OidcJson>,
    /// What to copy into the IdP.
    pub copy_into_idp: SpJson,
}

/// The account's IdPs.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdpList {
    /// Oldest first.
    pub idps: Vec<IdpJson>,
}

impl SpJson {
    /// What to copy into `idp`.
    pub fn of(idp: &IdentityProvider, public_url: &str) -> Self {
        match &idp.protocol {
            IdpProtocol::Saml(s) => {
                let sp = SpConfig::for_idp(public_url, idp.id);
                Self {
                    acs_url: Some(sp.acs_url),
                    entity_id: Some(sp.entity_id),
                    metadata_url: Some(sp.metadata_url),
                    signing_certificate: s.published_signing_key().map(certificate_pem),
                    encryption_certificate: s.published_encryption_key().map(certificate_pem),
                    slo_url: Some(sp.slo_url),
                    redirect_uri: None,
                    post_logout_redirect_uri: None,
                }
            }
            IdpProtocol::Oidc(_) => Self {
                acs_url: None,
                entity_id: None,
                metadata_url: None,
                signing_certificate: None,
                encryption_certificate: None,
                slo_url: None,
                redirect_uri: Some(crate::sso::oidc_redirect_uri(public_url, idp.id)),
                post_logout_redirect_uri: Some(crate::sso::logout::oidc_post_logout_uri(
                    public_url, idp.id,
                )),
            },
        }
    }
}

impl IdpJson {
    /// The view of an IdP.
    pub fn of(idp: &IdentityProvider, public_url: &str) -> Self {
        let (saml, oidc) = match &idp.protocol {
            IdpProtocol::Saml(s) => (
                Some(SamlJson {
                    entity_id: s.idp_entity_id.clone(),
                    sso_url: s.sso_url.clone(),
                    certificates: s.signing_certificates.clone(),
                    metadata_url: s.metadata_url.clone(),
                    idp_initiated: s.idp_initiated,
                    sign_authn_requests: s.sign_authn_requests,
                    encrypted_assertions: s.encrypted_assertions.as_str().to_owned(),
                    previous_encryption_key_until: s
                        .sp_encryption_keys
                        .as_ref()
                        .and_then(|k| k.previous.as_ref())
                        .map(|(_, until)| *until),
                    slo_url: s.slo_url.clone(),
                }),
                None,
            ),
            IdpProtocol::Oidc(o) => (
                None,
                Some(OidcJson {
                    issuer: o.issuer.clone(),
                    client_id: o.client_id.clone(),
                    client_secret_set: !o.client_secret.is_empty(),
                    scopes: o.scopes.clone(),
                    trust_unverified_email: o.trust_unverified_email,
                }),
            ),
        };
        Self {
            id: idp.id.to_string(),
            description: idp.description.clone(),
            enabled: idp.enabled,
            protocol: idp.kind().to_owned(),
            created_at: idp.created_at,
            saml,
            oidc,
            copy_into_idp: SpJson::of(idp, public_url),
        }
    }
}
