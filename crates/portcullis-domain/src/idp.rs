//! Identity providers an account signs in through.

use chrono::{DateTime, Utc};

use crate::{AccountId, DomainError, IdpId};

/// An identity provider configured on an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProvider {
    /// Stable id; also part of the IdP's own SP entity id and ACS / redirect URL.
    pub id: IdpId,
    /// The account it belongs to.
    pub account: AccountId,
    /// What people see when they choose between several IdPs.
    pub description: String,
    /// Disabled IdPs are kept but cannot be used to sign in.
    pub enabled: bool,
    /// Protocol settings.
    pub protocol: IdpProtocol,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl IdentityProvider {
    /// Longest description accepted.
    pub const MAX_DESCRIPTION: usize = 255;

    /// Checks a description for the chooser.
    pub fn validate_description(description: &str) -> Result<String, DomainError> {
        let description = description.trim();
        if description.is_empty() {
            return Err(DomainError::Empty("description"));
        }
        if description.chars().count() > Self::MAX_DESCRIPTION {
            return Err(DomainError::TooLong {
                field: "description",
                max: Self::MAX_DESCRIPTION,
            });
        }
        Ok(description.to_owned())
    }

    /// Whether IdP-initiated login is allowed. Only SAML IdPs can allow it; the type
    /// makes it impossible to switch on for OIDC.
    pub fn allows_idp_initiated(&self) -> bool {
        match &self.protocol {
            IdpProtocol::Saml(saml) => saml.idp_initiated,
            IdpProtocol::Oidc(_) => false,
        }
    }

    /// `"saml"` or `"oidc"`.
    pub fn kind(&self) -> &'static str {
        match self.protocol {
            IdpProtocol::Saml(_) => "saml",
            IdpProtocol::Oidc(_) => "oidc",
        }
    }
}

/// The protocol an IdP speaks, with its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdpProtocol {
    /// SAML 2.0.
    Saml(SamlSettings),
    /// OpenID Connect.
    Oidc(OidcSettings),
}

/// Settings of a SAML 2.0 identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlSettings {
    /// The IdP's entity id (the `Issuer` of its responses).
    pub idp_entity_id: String,
    /// Where AuthnRequests are sent (HTTP-Redirect binding).
    pub sso_url: String,
    /// PEM or base64 DER certificates the IdP signs with; several during a rollover.
    pub signing_certificates: Vec<String>,
    /// Whether unsolicited (IdP-initiated) responses are accepted.
    pub idp_initiated: bool,
    /// Where the metadata came from, when it was fetched from a URL.
    pub metadata_url: Option<String>,
    /// The metadata XML last read, when the IdP was created from metadata.
    pub metadata_xml: Option<String>,
    /// Attribute that carries the email (defaults work for Okta, Entra ID and Google).
    pub email_attribute: Option<String>,
    /// Attribute that carries the display name.
    pub name_attribute: Option<String>,
}

impl SamlSettings {
    /// Checks the settings. An IdP without a signing certificate is refused: samael does
    /// not verify signatures at all when it has none.
    pub fn validate(self) -> Result<Self, DomainError> {
        if self.idp_entity_id.trim().is_empty() {
            return Err(DomainError::Empty("IdP entity id"));
        }
        check_url(&self.sso_url, "SSO URL")?;
        if self
            .signing_certificates
            .iter()
            .all(|c| c.trim().is_empty())
        {
            return Err(DomainError::NoSigningCertificate);
        }
        Ok(self)
    }
}

/// Settings of an OpenID Connect identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// The issuer URL (discovery document at `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    /// The client id registered at the IdP.
    pub client_id: String,
    /// The client secret; never returned by any API.
    pub client_secret: String,
    /// Scopes requested besides `openid`.
    pub scopes: Vec<String>,
}

impl OidcSettings {
    /// Checks the settings.
    pub fn validate(self) -> Result<Self, DomainError> {
        check_url(&self.issuer, "issuer")?;
        if self.client_id.trim().is_empty() {
            return Err(DomainError::Empty("client id"));
        }
        Ok(self)
    }
}

fn check_url(url: &str, field: &'static str) -> Result<(), DomainError> {
    let ok = url.starts_with("https://")
        || url.starts_with("http://localhost")
        || url.starts_with("http://127.0.0.1")
        || url.starts_with("http://[::1]");
    let has_host = url.split_once("://").is_some_and(|(_, rest)| {
        !rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace)
    });
    if ok && has_host {
        Ok(())
    } else {
        Err(DomainError::InvalidUrl { field })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saml(certs: &[&str]) -> SamlSettings {
        SamlSettings {
            idp_entity_id: "http://www.okta.com/exk1".into(),
            sso_url: "https://acme.okta.com/app/sso/saml".into(),
            signing_certificates: certs.iter().map(|c| c.to_string()).collect(),
            idp_initiated: false,
            metadata_url: None,
            metadata_xml: None,
            email_attribute: None,
            name_attribute: None,
        }
    }

    #[test]
    fn saml_without_a_signing_certificate_is_refused() {
        assert_eq!(saml(&[]).validate(), Err(DomainError::NoSigningCertificate));
        assert_eq!(
            saml(&["  "]).validate(),
            Err(DomainError::NoSigningCertificate)
        );
        assert!(saml(&["MIIC..."]).validate().is_ok());
    }

    #[test]
    fn urls_must_be_https_except_loopback() {
        let mut s = saml(&["MIIC"]);
        s.sso_url = "http://idp.example.com/sso".into();
        assert_eq!(
            s.validate(),
            Err(DomainError::InvalidUrl { field: "SSO URL" })
        );
        let mut s = saml(&["MIIC"]);
        s.sso_url = "http://localhost:8088/sso".into();
        assert!(s.validate().is_ok());
        let mut s = saml(&["MIIC"]);
        s.sso_url = "https://".into();
        assert!(s.validate().is_err());
        let oidc = OidcSettings {
            issuer: "javascript:alert(1)".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            scopes: vec![],
        };
        assert!(oidc.validate().is_err());
    }

    #[test]
    fn descriptions() {
        assert_eq!(
            IdentityProvider::validate_description("  Okta  ").unwrap(),
            "Okta"
        );
        assert_eq!(
            IdentityProvider::validate_description(" "),
            Err(DomainError::Empty("description"))
        );
        assert!(IdentityProvider::validate_description(&"x".repeat(256)).is_err());
    }
}
