//! The service provider Portcullis is towards one IdP, and the samael `ServiceProvider`
//! built from it.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use portcullis_domain::{IdpId, SamlSettings};
use samael::crypto::AllowedSignatureAlgorithm;
use samael::key_info::{KeyInfo, X509Data};
use samael::metadata::{
    Endpoint, EntityDescriptor, IdpSsoDescriptor, KeyDescriptor, HTTP_REDIRECT_BINDING,
};
use samael::service_provider::ServiceProvider;

use crate::SsoError;

/// The SP identity Portcullis uses towards one IdP of one account.
///
/// Every IdP gets its own entity id and ACS URL, so the Audience, Destination and
/// Recipient checks bind a response to exactly one IdP: a response Okta signed for IdP A
/// is refused at IdP B's ACS even if both trust the same certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpConfig {
    /// The SP entity id (the audience assertions must name).
    pub entity_id: String,
    /// The Assertion Consumer Service URL (HTTP-POST binding).
    pub acs_url: String,
    /// Where the SP metadata is published.
    pub metadata_url: String,
    /// The SingleLogoutService URL (HTTP-Redirect binding): IdP-initiated
    /// `LogoutRequest`s and the IdP's `LogoutResponse`s arrive here.
    pub slo_url: String,
}

impl SpConfig {
    /// The URLs the server publishes for `idp`: `{public_base}/sso/saml/{idp}/metadata`
    /// (also the entity id), `{public_base}/sso/saml/{idp}/acs` and
    /// `{public_base}/sso/saml/{idp}/slo`. `public_base` is the
    /// server's configured public origin such as `https://id.example.com`, never taken
    /// from a request header.
    pub fn for_idp(public_base: &str, idp: IdpId) -> Self {
        let base = public_base.trim_end_matches('/');
        let metadata_url = format!("{base}/sso/saml/{idp}/metadata");
        Self {
            entity_id: metadata_url.clone(),
            acs_url: format!("{base}/sso/saml/{idp}/acs"),
            slo_url: format!("{base}/sso/saml/{idp}/slo"),
            metadata_url,
        }
    }
}

/// Signature algorithms accepted: RSA and ECDSA with SHA-256 or stronger. samael's
/// default (`None`) would accept SHA-1.
pub(crate) const ALLOWED_ALGORITHMS: [AllowedSignatureAlgorithm; 6] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// Signature and digest algorithm URIs accepted, for the early scan.
pub(crate) fn allowed_algorithm_uris() -> Vec<&'static str> {
    let mut uris: Vec<&'static str> = ALLOWED_ALGORITHMS
        .iter()
        .flat_map(|a| [a.signature_uri(), a.digest_uri()])
        .collect();
    uris.sort_unstable();
    uris.dedup();
    uris
}

/// Turns a PEM or base64 DER certificate into base64 DER (no line breaks), checking that
/// it really is an X.509 certificate.
pub fn normalize_certificate(text: &str) -> Result<String, SsoError> {
    let (compact, der) = compact_and_der(text)?;
    openssl::x509::X509::from_der(&der)
        .map_err(|_| SsoError::InvalidCertificate("not an X.509 certificate".into()))?;
    Ok(compact)
}

/// [`normalize_certificate`] without reading the certificate as X.509: for certificates
/// that were checked when they were stored, on the paths every sign-in takes. Reading
/// X.509 costs OpenSSL 3 more than verifying a response's signature with the key (it sets
/// up its key decoders anew each time), and xmlsec reads the certificate once more to
/// verify with it, refusing the response if it cannot.
pub fn compact_certificate(text: &str) -> Result<String, SsoError> {
    compact_and_der(text).map(|(compact, _)| compact)
}

/// The certificate's base64 DER text without line breaks, and the DER.
fn compact_and_der(text: &str) -> Result<(String, Vec<u8>), SsoError> {
    let body = match text.split_once("-----BEGIN CERTIFICATE-----") {
        Some((_, rest)) => rest
            .split_once("-----END CERTIFICATE-----")
            .map(|(body, _)| body)
            .ok_or_else(|| SsoError::InvalidCertificate("unterminated PEM".into()))?,
        None => text,
    };
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(SsoError::NoSigningCertificate);
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .map_err(|_| SsoError::InvalidCertificate("not base64".into()))?;
    Ok((compact, der))
}

/// When a certificate (PEM or base64 DER, as [`normalize_certificate`] takes it) stops
/// being valid.
pub fn certificate_expiry(text: &str) -> Result<DateTime<Utc>, SsoError> {
    let (_, der) = compact_and_der(text)?;
    let cert = openssl::x509::X509::from_der(&der)
        .map_err(|_| SsoError::InvalidCertificate("not an X.509 certificate".into()))?;
    let invalid = |_| SsoError::InvalidCertificate("unreadable validity".into());
    let epoch = openssl::asn1::Asn1Time::from_unix(0).map_err(invalid)?;
    let diff = epoch.diff(cert.not_after()).map_err(invalid)?;
    let seconds = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| SsoError::InvalidCertificate("validity out of range".into()))
}

/// Builds the samael service provider for one verification. `idp_initiated` switches off
/// samael's own InResponseTo check, so the caller must do it (see `verify`).
pub(crate) fn service_provider(
    settings: &SamlSettings,
    sp: &SpConfig,
    idp_initiated: bool,
    skew: Duration,
    max_age: Duration,
) -> Result<ServiceProvider, SsoError> {
    let certificates = settings
        .signing_certificates
        .iter()
        .filter(|c| !c.trim().is_empty())
        .map(|c| compact_certificate(c))
        .collect::<Result<Vec<_>, _>>()?;
    if certificates.is_empty() {
        return Err(SsoError::NoSigningCertificate);
    }
    let descriptor = IdpSsoDescriptor {
        id: None,
        valid_until: None,
        cache_duration: None,
        protocol_support_enumeration: Some(super::guard::PROTOCOL_NS.to_owned()),
        error_url: None,
        signature: None,
        key_descriptors: vec![KeyDescriptor {
            key_use: Some("signing".to_owned()),
            key_info: KeyInfo {
                id: None,
                x509_data: Some(X509Data { certificates }),
            },
            encryption_methods: None,
        }],
        organization: None,
        contact_people: vec![],
        artifact_resolution_service: vec![],
        single_logout_services: vec![],
        manage_name_id_services: vec![],
        name_id_formats: vec![],
        want_authn_requests_signed: None,
        single_sign_on_services: vec![Endpoint {
            binding: HTTP_REDIRECT_BINDING.to_owned(),
            location: settings.sso_url.clone(),
            response_location: None,
        }],
        name_id_mapping_services: vec![],
        assertion_id_request_services: vec![],
        attribute_profiles: vec![],
        attributes: vec![],
    };
    let idp_metadata = EntityDescriptor {
        entity_id: Some(settings.idp_entity_id.clone()),
        idp_sso_descriptors: Some(vec![descriptor]),
        ..EntityDescriptor::default()
    };
    Ok(ServiceProvider {
        entity_id: Some(sp.entity_id.clone()),
        metadata_url: Some(sp.metadata_url.clone()),
        acs_url: Some(sp.acs_url.clone()),
        slo_url: None,
        idp_metadata,
        allow_idp_initiated: idp_initiated,
        max_issue_delay: max_age + skew,
        max_clock_skew: skew,
        allowed_signature_algorithms: Some(ALLOWED_ALGORITHMS.to_vec()),
        ..ServiceProvider::default()
    })
}
