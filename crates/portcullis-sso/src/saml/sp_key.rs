//! The SP's own key pairs for one IdP: the self-signed certificates published in the SP
//! metadata, the private key that signs AuthnRequests and logout messages, and the one
//! that decrypts assertions.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509NameBuilder, X509};
use portcullis_domain::{IdpId, SpKeyPair};

use crate::SsoError;

/// What an SP key pair is for; its certificate's key usage says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpKeyUse {
    /// Signing AuthnRequests and logout messages (`digitalSignature`).
    Signing,
    /// Decrypting the content keys of encrypted assertions (`keyEncipherment`).
    Encryption,
}

/// Smallest RSA key accepted for signing AuthnRequests or decrypting assertions.
pub const MIN_SP_KEY_BITS: u32 = 2048;

/// How long an SP certificate is valid. IdPs pin the certificate from the metadata and
/// few check its dates; a new one comes with a key rotation, not with expiry.
pub const SP_CERTIFICATE_VALIDITY: Duration = Duration::days(3650);

/// How far before `now` the certificate starts to be valid, for IdPs whose clock is
/// behind ours.
const BACKDATE: Duration = Duration::hours(1);

/// Only RSA keys of at least [`MIN_SP_KEY_BITS`] bits are used (RSA-SHA256 is the one
/// algorithm every IdP verifies on the HTTP-Redirect binding, RSA-OAEP the one key
/// transport every IdP encrypts with).
fn check_strength(key: &PKey<Private>) -> Result<(), SsoError> {
    let rsa = key
        .rsa()
        .map_err(|_| SsoError::InvalidSpKey("not an RSA key".into()))?;
    if rsa.size() * 8 < MIN_SP_KEY_BITS {
        return Err(SsoError::InvalidSpKey(format!(
            "shorter than {MIN_SP_KEY_BITS} bits"
        )));
    }
    Ok(())
}

fn key_error(e: impl std::fmt::Display) -> SsoError {
    SsoError::InvalidSpKey(e.to_string())
}

/// Wraps a freshly generated RSA private key (the caller draws it, at least
/// [`MIN_SP_KEY_BITS`] bits) into an SP key pair of `idp` for `key_use`: the key as
/// PKCS#8 PEM and a self-signed SHA-256 certificate valid from `now` (less an hour) for
/// [`SP_CERTIFICATE_VALIDITY`], with the random `serial`.
pub fn sp_key_pair(
    private_key: &PKey<Private>,
    idp: IdpId,
    key_use: SpKeyUse,
    serial: [u8; 16],
    now: DateTime<Utc>,
) -> Result<SpKeyPair, SsoError> {
    check_strength(private_key)?;
    let mut name = X509NameBuilder::new().map_err(key_error)?;
    name.append_entry_by_text("O", "Portcullis")
        .map_err(key_error)?;
    let purpose = match key_use {
        SpKeyUse::Signing => "",
        SpKeyUse::Encryption => " encryption",
    };
    name.append_entry_by_text("CN", &format!("Portcullis SP{purpose} {idp}"))
        .map_err(key_error)?;
    let name = name.build();
    // A positive serial: the top bit of the first byte cleared.
    let mut serial = serial;
    serial[0] &= 0x7f;
    let serial = BigNum::from_slice(&serial)
        .and_then(|n| Asn1Integer::from_bn(&n))
        .map_err(key_error)?;
    let not_before = Asn1Time::from_unix((now - BACKDATE).timestamp()).map_err(key_error)?;
    let not_after =
        Asn1Time::from_unix((now + SP_CERTIFICATE_VALIDITY).timestamp()).map_err(key_error)?;

    let mut builder = X509::builder().map_err(key_error)?;
    builder.set_version(2).map_err(key_error)?;
    builder.set_serial_number(&serial).map_err(key_error)?;
    builder.set_subject_name(&name).map_err(key_error)?;
    builder.set_issuer_name(&name).map_err(key_error)?;
    builder.set_pubkey(private_key).map_err(key_error)?;
    builder.set_not_before(&not_before).map_err(key_error)?;
    builder.set_not_after(&not_after).map_err(key_error)?;
    let constraints = BasicConstraints::new()
        .critical()
        .build()
        .map_err(key_error)?;
    builder.append_extension(constraints).map_err(key_error)?;
    let mut usage = KeyUsage::new();
    match key_use {
        SpKeyUse::Signing => usage.digital_signature(),
        SpKeyUse::Encryption => usage.key_encipherment(),
    };
    let usage = usage.critical().build().map_err(key_error)?;
    builder.append_extension(usage).map_err(key_error)?;
    builder
        .sign(private_key, MessageDigest::sha256())
        .map_err(key_error)?;
    let certificate = builder.build().to_der().map_err(key_error)?;

    let pem = private_key
        .private_key_to_pem_pkcs8()
        .map_err(key_error)
        .and_then(|pem| String::from_utf8(pem).map_err(key_error))?;
    Ok(SpKeyPair {
        private_key_pem: pem,
        certificate: STANDARD.encode(certificate),
    })
}

/// The SP certificate of `key` as PEM, the form IdP admin consoles take as an upload.
pub fn certificate_pem(key: &SpKeyPair) -> String {
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    let body = key.certificate.as_bytes();
    for line in body.chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// The private key of `key`, checked to be RSA of at least [`MIN_SP_KEY_BITS`] bits and
/// to belong to the certificate that the metadata publishes: a request is never signed
/// with a key the IdP cannot verify, and an assertion is decrypted only with a key
/// whose certificate was published.
pub(crate) fn private_key(key: &SpKeyPair) -> Result<PKey<Private>, SsoError> {
    let private = PKey::private_key_from_pem(key.private_key_pem.as_bytes())
        .map_err(|_| SsoError::InvalidSpKey("the private key is not PEM".into()))?;
    check_strength(&private)?;
    let der = STANDARD
        .decode(&key.certificate)
        .map_err(|_| SsoError::InvalidSpKey("the certificate is not base64".into()))?;
    let certificate = X509::from_der(&der)
        .map_err(|_| SsoError::InvalidSpKey("the certificate is not X.509".into()))?;
    let public = certificate.public_key().map_err(key_error)?;
    if !private.public_eq(&public) {
        return Err(SsoError::InvalidSpKey(
            "the private key does not belong to the published certificate".into(),
        ));
    }
    Ok(private)
}
