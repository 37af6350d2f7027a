//! IdP metadata in, SP metadata out.

use portcullis_domain::SamlSettings;
use samael::metadata::HTTP_REDIRECT_BINDING;

use super::guard::DSIG_NS;
use super::sp::normalize_certificate;
use super::SpConfig;
use crate::SsoError;

const METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";

/// Largest IdP metadata document accepted (Entra's is about 25 KiB).
pub const MAX_METADATA: usize = 512 * 1024;

/// What Portcullis takes from an IdP's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedIdpMetadata {
    /// The IdP's entity id.
    pub entity_id: String,
    /// The SingleSignOnService location for the HTTP-Redirect binding.
    pub sso_url: String,
    /// The signing certificates as base64 DER, at least one (several during rollover).
    pub signing_certificates: Vec<String>,
    /// Whether the IdP asks for signed AuthnRequests.
    pub want_authn_requests_signed: bool,
    /// The SingleLogoutService location for the HTTP-Redirect binding, when the IdP
    /// has one.
    pub slo_url: Option<String>,
}

/// Reads IdP metadata (an `EntityDescriptor`, or an `EntitiesDescriptor` holding exactly
/// one IdP). Metadata without a signing certificate, with a DOCTYPE, larger than
/// [`MAX_METADATA`] or without an HTTP-Redirect SSO endpoint is refused.
pub fn parse_idp_metadata(xml: &str) -> Result<ParsedIdpMetadata, SsoError> {
    if xml.len() > MAX_METADATA {
        return Err(SsoError::TooLarge {
            limit: MAX_METADATA,
        });
    }
    let lower = xml.to_ascii_lowercase();
    if lower.contains("<!doctype") || lower.contains("<!entity") {
        return Err(SsoError::DoctypeRefused);
    }
    let doc = roxmltree::Document::parse(xml).map_err(|e| match e {
        roxmltree::Error::DtdDetected => SsoError::DoctypeRefused,
        other => SsoError::InvalidMetadata(other.to_string()),
    })?;
    let is_md = |n: &roxmltree::Node<'_, '_>, name: &str| {
        n.is_element()
            && n.tag_name().namespace() == Some(METADATA_NS)
            && n.tag_name().name() == name
    };
    let idps: Vec<_> = doc
        .descendants()
        .filter(|n| is_md(n, "IDPSSODescriptor"))
        .collect();
    let [idp] = idps.as_slice() else {
        return Err(SsoError::InvalidMetadata(format!(
            "expected exactly one IDPSSODescriptor, found {}",
            idps.len()
        )));
    };
    let entity = idp
        .parent_element()
        .filter(|p| is_md(p, "EntityDescriptor"))
        .ok_or_else(|| {
            SsoError::InvalidMetadata("IDPSSODescriptor outside an EntityDescriptor".into())
        })?;
    let entity_id = entity
        .attribute("entityID")
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| SsoError::InvalidMetadata("no entityID".into()))?
        .to_owned();

    let sso_url = idp
        .children()
        .filter(|n| is_md(n, "SingleSignOnService"))
        .find(|n| n.attribute("Binding") == Some(HTTP_REDIRECT_BINDING))
        .and_then(|n| n.attribute("Location"))
        .map(str::trim)
        .ok_or(SsoError::NoRedirectBinding)?
        .to_owned();
    if !sso_url.starts_with("https://") && !sso_url.starts_with("http://") {
        return Err(SsoError::InvalidUrl {
            field: "SSO URL",
            reason: "not an http(s) URL".into(),
        });
    }

    let slo_url = idp
        .children()
        .filter(|n| is_md(n, "SingleLogoutService"))
        .find(|n| n.attribute("Binding") == Some(HTTP_REDIRECT_BINDING))
        .and_then(|n| n.attribute("Location"))
        .map(str::trim)
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
        .map(str::to_owned);

    // Keys marked for signing; when none is marked, keys without a `use` (as samael does).
    let keys: Vec<_> = idp
        .children()
        .filter(|n| is_md(n, "KeyDescriptor"))
        .collect();
    let signing: Vec<_> = keys
        .iter()
        .filter(|k| k.attribute("use") == Some("signing"))
        .collect();
    let chosen: Vec<_> = if signing.is_empty() {
        keys.iter()
            .filter(|k| k.attribute("use").is_none_or(|u| u.trim().is_empty()))
            .collect()
    } else {
        signing
    };
    let mut signing_certificates = Vec::new();
    for key in chosen {
        for cert in key.descendants().filter(|n| {
            n.is_element()
                && n.tag_name().namespace() == Some(DSIG_NS)
                && n.tag_name().name() == "X509Certificate"
        }) {
            let normalized = normalize_certificate(cert.text().unwrap_or_default())?;
            if !signing_certificates.contains(&normalized) {
                signing_certificates.push(normalized);
            }
        }
    }
    if signing_certificates.is_empty() {
        return Err(SsoError::NoSigningCertificate);
    }
    Ok(ParsedIdpMetadata {
        entity_id,
        sso_url,
        signing_certificates,
        want_authn_requests_signed: idp.attribute("WantAuthnRequestsSigned") == Some("true"),
        slo_url,
    })
}

/// The content encryption and key transport algorithms the SP decrypts, most preferred
/// first, as the encryption `KeyDescriptor` lists them for IdPs that choose from it.
const ENCRYPTION_METHODS: [&str; 6] = [
    "http://www.w3.org/2009/xmlenc11#aes256-gcm",
    "http://www.w3.org/2009/xmlenc11#aes128-gcm",
    "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
    "http://www.w3.org/2009/xmlenc11#rsa-oaep",
    "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
];

fn key_descriptor(key_use: &str, certificate: &str, methods: &[&str]) -> String {
    let methods: String = methods
        .iter()
        .map(|m| format!(r#"<md:EncryptionMethod Algorithm="{m}"/>"#))
        .collect();
    format!(
        concat!(
            r#"<md:KeyDescriptor use="{key_use}">"#,
            r#"<ds:KeyInfo xmlns:ds="{dsig}"><ds:X509Data>"#,
            r#"<ds:X509Certificate>{cert}</ds:X509Certificate>"#,
            r#"</ds:X509Data></ds:KeyInfo>{methods}</md:KeyDescriptor>"#,
        ),
        key_use = key_use,
        dsig = DSIG_NS,
        cert = escape(certificate),
        methods = methods,
    )
}

/// The SP metadata published at `sp.metadata_url` for the IdP of `settings`: entity id,
/// the HTTP-POST ACS, the HTTP-Redirect SingleLogoutService, signed assertions wanted,
/// email NameID preferred. The SP signing certificate as a signing `KeyDescriptor` while
/// AuthnRequests are signed (`AuthnRequestsSigned="true"`) or single logout is on, so the
/// IdP can verify them; the SP encryption certificate as an encryption `KeyDescriptor`
/// with the algorithms it decrypts while assertions are encrypted. Deterministic (no
/// `validUntil`), so it can be cached and compared.
pub fn sp_metadata_xml(sp: &SpConfig, settings: &SamlSettings) -> String {
    let signing = settings
        .published_signing_key()
        .map_or_else(String::new, |key| {
            key_descriptor("signing", &key.certificate, &[])
        });
    let encryption = settings
        .published_encryption_key()
        .map_or_else(String::new, |key| {
            key_descriptor("encryption", &key.certificate, &ENCRYPTION_METHODS)
        });
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">"#,
            r#"<md:SPSSODescriptor AuthnRequestsSigned="{signed}" WantAssertionsSigned="true" "#,
            r#"protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
            r#"{signing}{encryption}"#,
            r#"<md:SingleLogoutService Binding="{redirect}" Location="{slo}"/>"#,
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"#,
            r#"<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" "#,
            r#"Location="{acs}" index="0" isDefault="true"/>"#,
            r#"</md:SPSSODescriptor>"#,
            r#"</md:EntityDescriptor>"#,
        ),
        entity = escape(&sp.entity_id),
        signed = settings.request_signing_key().is_some(),
        signing = signing,
        encryption = encryption,
        redirect = HTTP_REDIRECT_BINDING,
        slo = escape(&sp.slo_url),
        acs = escape(&sp.acs_url),
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
