//! The SAML response path up to and including signature verification: whatever bytes an
//! attacker posts to an ACS must be refused or accepted without a panic, a hang or
//! unbounded memory. The input is used both as the decoded XML and as the raw
//! `SAMLResponse` form value; IdP metadata parsing is fuzzed on the same bytes.

#![no_main]

use std::sync::LazyLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{Duration, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509NameBuilder, X509};
use portcullis_domain::{IdpId, SamlSettings};
use portcullis_sso::saml::{self, Expected, SpConfig};
use uuid::Uuid;

struct Setup {
    settings: SamlSettings,
    sp: SpConfig,
    idp: IdpId,
}

fn certificate() -> String {
    let key = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey");
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", "fuzz-idp").expect("cn");
    let name = name.build();
    let mut builder = X509::builder().expect("builder");
    builder.set_version(2).expect("version");
    builder.set_subject_name(&name).expect("subject");
    builder.set_issuer_name(&name).expect("issuer");
    builder.set_pubkey(&key).expect("pubkey");
    builder.set_not_before(&Asn1Time::days_from_now(0).expect("t")).expect("nb");
    builder.set_not_after(&Asn1Time::days_from_now(365).expect("t")).expect("na");
    builder.sign(&key, MessageDigest::sha256()).expect("sign");
    String::from_utf8(builder.build().to_pem().expect("pem")).expect("utf8")
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let idp = IdpId::from_uuid(Uuid::from_u128(1));
    Setup {
        settings: SamlSettings {
            idp_entity_id: "https://idp.example.com/metadata".into(),
            sso_url: "https://idp.example.com/sso".into(),
            signing_certificates: vec![certificate()],
            idp_initiated: true,
            metadata_url: None,
            metadata_xml: None,
            email_attribute: None,
            name_attribute: None,
            sign_authn_requests: false,
            sp_signing_key: None,
            encrypted_assertions: portcullis_domain::AssertionEncryption::Off,
            sp_encryption_keys: None,
            slo_url: None,
        },
        sp: SpConfig::for_idp("https://portcullis.example.com", idp),
        idp,
    }
});

fuzz_target!(|data: &[u8]| {
    let setup = &*SETUP;
    let now = Utc.timestamp_opt(1_700_000_000, 0).single().expect("time");
    let skew = Duration::minutes(2);
    let encoded = STANDARD.encode(data);
    let _ = saml::peek_in_response_to(&encoded);
    for expected in [Expected::IdpInitiated, Expected::SpInitiated { pending_request_ids: &["_abc".to_owned()] }] {
        let _ = saml::verify_response(&setup.settings, setup.idp, &setup.sp, &encoded, expected, now, skew);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = saml::peek_in_response_to(text);
        let _ = saml::verify_response(&setup.settings, setup.idp, &setup.sp, text, Expected::IdpInitiated, now, skew);
        let _ = saml::parse_idp_metadata(text);
    }
});
