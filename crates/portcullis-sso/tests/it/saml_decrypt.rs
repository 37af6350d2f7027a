//! `saml::decrypt_assertion` alone: encrypted assertions made with OpenSSL as an IdP
//! makes them, then decrypted; and every refusal, including that a broken padding
//! answers like another key.

use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use portcullis_sso::saml::{decrypt_assertion, SamlRejection, MAX_CIPHERTEXT};

use crate::saml_fixture::*;

const ASSERTION: &str = r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" IssueInstant="2026-12-06T00:00:00Z"><saml:Issuer>https://idp.example.test</saml:Issuer></saml:Assertion>"#;

/// The SP's key, and another one.
fn keys() -> (&'static PKey<Private>, &'static PKey<Private>) {
    (&sp_encryption_key().key, &other_key().key)
}

#[test]
fn every_offered_algorithm_decrypts() {
    let (sp, _) = keys();
    for content in CONTENTS {
        for (transport, digest, mgf) in [
            (MGF1P, None, None),
            (MGF1P, Some(SHA256), None),
            (OAEP11, Some(SHA256), Some(MGF1SHA256)),
            (OAEP11, None, None),
        ] {
            let spec = Spec {
                transport,
                digest,
                mgf,
                ..Spec::oaep(content)
            };
            let xml = encrypt(ASSERTION, sp, &spec);
            assert_eq!(
                decrypt_assertion(&xml, std::slice::from_ref(sp)).as_deref(),
                Ok(ASSERTION),
                "{content} {transport} {digest:?} {mgf:?}"
            );
        }
    }
}

#[test]
fn another_key_and_broken_paddings_and_tags_answer_alike() {
    let (sp, other) = keys();
    let cbc = encrypt(ASSERTION, sp, &Spec::oaep(AES256_CBC));
    let gcm = encrypt(ASSERTION, sp, &Spec::oaep(AES256_GCM));
    // Encrypted to another key.
    let foreign = decrypt_assertion(&cbc, std::slice::from_ref(other)).unwrap_err();
    assert_eq!(foreign, SamlRejection::Undecryptable);
    // During a rollover the previous key is tried too.
    assert!(decrypt_assertion(&cbc, &[other.clone(), sp.clone()]).is_ok());
    // The last ciphertext byte changed: the padding (or its length byte) breaks.
    let tamper =
        |xml: &str| with_content_ciphertext(xml, |bytes| *bytes.last_mut().unwrap() ^= 0x5a);
    for broken in [tamper(&cbc), tamper(&gcm)] {
        let e = decrypt_assertion(&broken, std::slice::from_ref(sp)).unwrap_err();
        assert_eq!(e, foreign);
        assert_eq!(e.to_string(), foreign.to_string());
        assert_eq!(e.reason(), foreign.reason());
    }
    // A plaintext that is no assertion is no different.
    let not_an_assertion = encrypt("<x/>", sp, &Spec::oaep(AES128_CBC));
    assert_eq!(
        decrypt_assertion(&not_an_assertion, std::slice::from_ref(sp)),
        Err(SamlRejection::Undecryptable)
    );
}

#[test]
fn weak_and_unknown_algorithms_are_refused_by_name() {
    let (sp, _) = keys();
    let pkcs1 = Spec {
        transport: RSA_1_5,
        padding: Padding::PKCS1,
        ..Spec::oaep(AES128_CBC)
    };
    let xml = encrypt(ASSERTION, sp, &pkcs1);
    assert!(matches!(
        decrypt_assertion(&xml, std::slice::from_ref(sp)),
        Err(SamlRejection::EncryptionAlgorithmRefused(a)) if a.ends_with("rsa-1_5")
    ));
    let triple_des =
        encrypt(ASSERTION, sp, &Spec::oaep(AES128_CBC)).replace(AES128_CBC, TRIPLE_DES);
    assert!(matches!(
        decrypt_assertion(&triple_des, std::slice::from_ref(sp)),
        Err(SamlRejection::EncryptionAlgorithmRefused(a)) if a.ends_with("tripledes-cbc")
    ));
    let md5 = Spec {
        digest: Some("http://www.w3.org/2001/04/xmldsig-more#md5"),
        ..Spec::oaep(AES128_CBC)
    };
    let xml = encrypt(ASSERTION, sp, &md5);
    assert!(matches!(
        decrypt_assertion(&xml, std::slice::from_ref(sp)),
        Err(SamlRejection::EncryptionAlgorithmRefused(_))
    ));
}

#[test]
fn oversize_doctype_and_foreign_documents_are_refused() {
    let (sp, _) = keys();
    let xml = encrypt(ASSERTION, sp, &Spec::oaep(AES128_CBC));
    let huge = with_content_ciphertext(&xml, |bytes| *bytes = vec![0; MAX_CIPHERTEXT + 16]);
    assert_eq!(
        decrypt_assertion(&huge, std::slice::from_ref(sp)),
        Err(SamlRejection::TooLarge {
            limit: MAX_CIPHERTEXT
        })
    );
    let doctype = format!("<!DOCTYPE x [<!ENTITY e \"e\">]>{xml}");
    assert_eq!(
        decrypt_assertion(&doctype, std::slice::from_ref(sp)),
        Err(SamlRejection::DoctypeRefused)
    );
    assert!(matches!(
        decrypt_assertion(ASSERTION, std::slice::from_ref(sp)),
        Err(SamlRejection::Malformed(_))
    ));
    // Sanity: the untouched document decrypts, so the refusals above are the changes'.
    assert!(decrypt_assertion(&xml, std::slice::from_ref(sp)).is_ok());
}
