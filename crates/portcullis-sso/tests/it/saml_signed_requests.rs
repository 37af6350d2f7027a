//! Signed AuthnRequests on the HTTP-Redirect binding: the signature covers exactly
//! `SAMLRequest=…&RelayState=…&SigAlg=…` as sent, verifies with the certificate the SP
//! metadata publishes, and nothing is signed when signing is off.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Duration, TimeZone, Utc};
use openssl::asn1::Asn1Time;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Verifier;
use openssl::x509::X509;
use portcullis_domain::{SamlSettings, SpKeyPair};
use portcullis_sso::saml::{
    certificate_pem, sp_key_pair, sp_metadata_xml, start_login, SpConfig, SpKeyUse,
    SIG_ALG_RSA_SHA256, SP_CERTIFICATE_VALIDITY,
};
use portcullis_sso::SsoError;

use crate::saml_fixture::*;

const RELAY: &str = "attempt_123-x";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap()
}

fn rsa_2048() -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
}

/// The SP key pair of IdP 1, made once.
pub fn sp_key() -> &'static SpKeyPair {
    static KEY: OnceLock<SpKeyPair> = OnceLock::new();
    KEY.get_or_init(|| {
        sp_key_pair(&rsa_2048(), idp_id(1), SpKeyUse::Signing, [0xa5; 16], now()).unwrap()
    })
}

/// Another SP key pair: the one an IdP holds after the SP rotated away from it.
pub fn other_sp_key() -> &'static SpKeyPair {
    static KEY: OnceLock<SpKeyPair> = OnceLock::new();
    KEY.get_or_init(|| {
        sp_key_pair(&rsa_2048(), idp_id(1), SpKeyUse::Signing, [0x11; 16], now()).unwrap()
    })
}

fn signing(sso_url: &str) -> SamlSettings {
    SamlSettings {
        sso_url: sso_url.into(),
        sign_authn_requests: true,
        sp_signing_key: Some(sp_key().clone()),
        ..settings(&[idp_key()])
    }
}

/// The certificate the SP metadata publishes for signing, and `AuthnRequestsSigned`.
fn published(sp: &SpConfig, settings: &SamlSettings) -> (Option<X509>, String) {
    let xml = sp_metadata_xml(sp, settings);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let descriptor = doc
        .descendants()
        .find(|n| n.tag_name().name() == "SPSSODescriptor")
        .unwrap();
    let signed = descriptor
        .attribute("AuthnRequestsSigned")
        .unwrap()
        .to_owned();
    let keys: Vec<_> = descriptor
        .children()
        .filter(|n| n.tag_name().name() == "KeyDescriptor")
        .collect();
    assert!(keys.len() <= 1, "{xml}");
    let cert = keys.first().map(|key| {
        assert_eq!(key.attribute("use"), Some("signing"));
        let text = key
            .descendants()
            .find(|n| n.tag_name().name() == "X509Certificate")
            .unwrap()
            .text()
            .unwrap();
        X509::from_der(&STANDARD.decode(text).unwrap()).unwrap()
    });
    (cert, signed)
}

/// The octets §3.4.4.1 says are signed: the three parameters as sent, in this order.
fn signed_octets(saml_request: &str, relay_state: &str, sig_alg: &str) -> String {
    format!("SAMLRequest={saml_request}&RelayState={relay_state}&SigAlg={sig_alg}")
}

fn verifies(cert: &X509, octets: &str, signature: &[u8]) -> bool {
    let public = cert.public_key().unwrap();
    let mut verifier = Verifier::new(MessageDigest::sha256(), &public).unwrap();
    verifier.update(octets.as_bytes()).unwrap();
    verifier.verify(signature).unwrap_or(false)
}

#[test]
fn signed_redirect_verifies_with_the_published_certificate() {
    let sp = sp(1);
    let s = signing("https://idp.example.test/saml/sso");
    let redirect = start_login(&s, &sp, [0xab; 16], RELAY, now()).unwrap();
    let params = raw_params(&redirect.url);
    let names: Vec<_> = params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["SAMLRequest", "RelayState", "SigAlg", "Signature"]);
    let (saml_request, relay, sig_alg) = (
        raw(&params, "SAMLRequest"),
        raw(&params, "RelayState"),
        raw(&params, "SigAlg"),
    );
    assert_eq!(decoded(sig_alg), SIG_ALG_RSA_SHA256);
    assert_eq!(
        SIG_ALG_RSA_SHA256,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    );
    assert_eq!(decoded(relay), RELAY);
    let signature = STANDARD.decode(decoded(raw(&params, "Signature"))).unwrap();

    let (cert, signed) = published(&sp, &s);
    let cert = cert.expect("the metadata publishes the SP certificate");
    assert_eq!(signed, "true");
    assert_eq!(
        STANDARD.encode(cert.to_der().unwrap()),
        sp_key().certificate
    );
    let octets = signed_octets(saml_request, relay, sig_alg);
    assert!(redirect.url.starts_with(&format!(
        "https://idp.example.test/saml/sso?{octets}&Signature="
    )));
    assert!(verifies(&cert, &octets, &signature));

    // samael's own verifier, which rebuilds the octets from the decoded values, agrees.
    let verifier = samael::crypto::UrlVerifier::from_x509(&samael::crypto::CertificateDer::from(
        cert.to_der().unwrap(),
    ))
    .unwrap();
    assert!(verifier
        .verify_signed_request_url(&url::Url::parse(&redirect.url).unwrap())
        .unwrap());

    // Any other octets fail: a changed request, another RelayState, a dropped RelayState,
    // another order, another SigAlg.
    let flipped = {
        let mut chars: Vec<char> = saml_request.chars().collect();
        chars[20] = if chars[20] == 'A' { 'B' } else { 'A' };
        chars.into_iter().collect::<String>()
    };
    let rsa_sha512 = "http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha512";
    for tampered in [
        signed_octets(&flipped, relay, sig_alg),
        signed_octets(saml_request, "attempt_124-x", sig_alg),
        format!("SAMLRequest={saml_request}&SigAlg={sig_alg}"),
        format!("RelayState={relay}&SAMLRequest={saml_request}&SigAlg={sig_alg}"),
        signed_octets(saml_request, relay, rsa_sha512),
    ] {
        assert!(!verifies(&cert, &tampered, &signature), "{tampered}");
    }
    // Only the SP's key signed it: another certificate does not verify it.
    let other = X509::from_der(&STANDARD.decode(&other_sp_key().certificate).unwrap()).unwrap();
    assert!(!verifies(&other, &octets, &signature));

    // Signing changes nothing else: the same request unsigned has the same parameters.
    let unsigned_settings = SamlSettings {
        sign_authn_requests: false,
        ..s.clone()
    };
    let unsigned = start_login(&unsigned_settings, &sp, [0xab; 16], RELAY, now()).unwrap();
    assert_eq!(redirect.url.split_once("&SigAlg=").unwrap().0, unsigned.url);
    assert_eq!(unsigned.request_id, redirect.request_id);
}

#[test]
fn parameters_of_the_sso_url_stay_outside_the_signature() {
    // Google Workspace's SSO URL carries its own parameter.
    let sp = sp(1);
    let s = signing("https://accounts.google.test/o/saml2/idp?idpid=C01abc");
    let redirect = start_login(&s, &sp, [0xab; 16], RELAY, now()).unwrap();
    assert!(
        redirect
            .url
            .starts_with("https://accounts.google.test/o/saml2/idp?idpid=C01abc&SAMLRequest="),
        "{}",
        redirect.url
    );
    let params = raw_params(&redirect.url);
    let signature = STANDARD.decode(decoded(raw(&params, "Signature"))).unwrap();
    let cert = published(&sp, &s).0.unwrap();
    let octets = signed_octets(
        raw(&params, "SAMLRequest"),
        raw(&params, "RelayState"),
        raw(&params, "SigAlg"),
    );
    assert!(verifies(&cert, &octets, &signature));
    // What samael's `signed_redirect` signs (the whole query) is not what was signed.
    assert!(!verifies(
        &cert,
        &format!("idpid=C01abc&{octets}"),
        &signature
    ));
}

#[test]
fn unsigned_when_switched_off() {
    let sp = sp(1);
    for s in [
        settings(&[idp_key()]),
        // A key kept from before signing was switched off is not used or published.
        SamlSettings {
            sign_authn_requests: false,
            ..signing("https://idp.example.test/saml/sso")
        },
    ] {
        let redirect = start_login(&s, &sp, [0xab; 16], RELAY, now()).unwrap();
        let names: Vec<_> = raw_params(&redirect.url)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(names, ["SAMLRequest", "RelayState"]);
        let (cert, signed) = published(&sp, &s);
        assert!(cert.is_none());
        assert_eq!(signed, "false");
    }
}

#[test]
fn unusable_sp_keys_are_refused() {
    let sp = sp(1);
    let no_key = SamlSettings {
        sp_signing_key: None,
        ..signing("https://idp.example.test/saml/sso")
    };
    assert_eq!(
        start_login(&no_key, &sp, [1; 16], RELAY, now()),
        Err(SsoError::NoSpSigningKey)
    );

    // A private key that does not match the published certificate never signs: the IdP
    // could not verify it.
    let mismatched = SpKeyPair {
        certificate: other_sp_key().certificate.clone(),
        ..sp_key().clone()
    };
    let garbage = SpKeyPair {
        private_key_pem: "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n".into(),
        ..sp_key().clone()
    };
    for key in [mismatched, garbage] {
        let s = SamlSettings {
            sp_signing_key: Some(key),
            ..signing("https://idp.example.test/saml/sso")
        };
        assert!(matches!(
            start_login(&s, &sp, [1; 16], RELAY, now()),
            Err(SsoError::InvalidSpKey(_))
        ));
    }

    // Only RSA of 2048 bits or more.
    let ec = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let short = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
    for key in [ec, short] {
        assert!(matches!(
            sp_key_pair(&key, idp_id(1), SpKeyUse::Signing, [1; 16], now()),
            Err(SsoError::InvalidSpKey(_))
        ));
    }
}

#[test]
fn generated_sp_certificates() {
    let key = sp_key();
    assert!(key
        .private_key_pem
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    let cert = X509::from_der(&STANDARD.decode(&key.certificate).unwrap()).unwrap();
    // Self-signed with SHA-256, for the key it certifies.
    assert!(cert.verify(&cert.public_key().unwrap()).unwrap());
    assert_eq!(
        cert.signature_algorithm().object().nid(),
        Nid::SHA256WITHRSAENCRYPTION
    );
    let private = PKey::private_key_from_pem(key.private_key_pem.as_bytes()).unwrap();
    assert!(private.public_eq(&cert.public_key().unwrap()));
    // Valid from an hour before `now` for ten years; named after the IdP.
    let at = |t: DateTime<Utc>| Asn1Time::from_unix(t.timestamp()).unwrap();
    assert_eq!(
        cert.not_before()
            .compare(&at(now() - Duration::hours(1)))
            .unwrap(),
        std::cmp::Ordering::Equal
    );
    assert_eq!(
        cert.not_after()
            .compare(&at(now() + SP_CERTIFICATE_VALIDITY))
            .unwrap(),
        std::cmp::Ordering::Equal
    );
    let cn = cert
        .subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .next()
        .unwrap()
        .data()
        .as_slice()
        .to_vec();
    let cn = String::from_utf8(cn).unwrap();
    assert_eq!(cn, format!("Portcullis SP {}", idp_id(1)));
    // The PEM offered for upload to the IdP is the same certificate.
    let pem = certificate_pem(key);
    assert!(pem.lines().all(|l| l.len() <= 64), "{pem}");
    assert_eq!(X509::from_pem(pem.as_bytes()).unwrap(), cert);
    // The serial is the random bytes given, made positive.
    let serial = cert.serial_number().to_bn().unwrap().to_vec();
    assert_eq!(serial, [&[0x25][..], &[0xa5; 15][..]].concat());
    // Another serial, another certificate; the key alone decides what verifies.
    assert_ne!(key.certificate, other_sp_key().certificate);
}
