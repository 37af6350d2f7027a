//! `saml::verify_response` on encrypted assertions (`EncryptedAssertion`), end to end:
//! IdP responses encrypted here with OpenSSL as IdPs encrypt them, the IdP's encryption
//! setting, the SP key rotation, where the signature must be, and each forgery with the
//! rejection it gets.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use portcullis_domain::{AssertionEncryption, SamlSettings, PREVIOUS_ENCRYPTION_KEY_GRACE};
use portcullis_sso::saml::SamlRejection as R;
use portcullis_sso::saml::{verify_response, Expected, VerifiedAssertion, MAX_ENCODED_RESPONSE};
use samael::crypto::{CertificateDer, Crypto, CryptoProvider, ReduceMode};

use crate::saml_fixture::*;

const SKEW: Duration = Duration::seconds(60);
const ALICE: &str = "alice@acme.test";
const REQUESTER: &str = "urn:oasis:names:tc:SAML:2.0:status:Requester";

fn verify_full(
    settings: &SamlSettings,
    xml: &str,
    now: DateTime<Utc>,
) -> Result<VerifiedAssertion, R> {
    let ids = vec!["_req1".to_owned()];
    let expected = Expected::SpInitiated {
        pending_request_ids: &ids,
    };
    verify_response(settings, idp_id(1), &sp(1), &b64(xml), expected, now, SKEW)
}

/// The verified email, or the rejection.
fn verify(settings: &SamlSettings, xml: &str, now: DateTime<Utc>) -> Result<String, R> {
    verify_full(settings, xml, now).map(|v| v.identity.email.to_string())
}

/// IdP 1 with encryption `mode`: its settings, the SP key it encrypts to, and a valid
/// answer to `_req1` (assertion signed, Response not), at wall-clock now.
fn world(
    mode: AssertionEncryption,
) -> (SamlSettings, &'static PKey<Private>, Params, DateTime<Utc>) {
    let now = wall_clock();
    let (settings, key) = encrypting_settings(&[idp_key()], mode, now);
    (settings, key, Params::valid(&sp(1), now), now)
}

/// The Response signed, the assertion in it not.
fn response_signed(params: &Params) -> Params {
    Params {
        sign_assertion: false,
        sign_response: true,
        ..params.clone()
    }
}

/// Mallory's forgery: an unsigned assertion for admin@acme.test.
fn forged(now: DateTime<Utc>) -> Params {
    let mut p = Params::valid(&sp(1), now);
    p.name_id = "admin@acme.test".into();
    p.attributes = vec![("email".into(), "admin@acme.test".into())];
    p.assertion_id = "_evil".into();
    p.sign_assertion = false;
    p
}

#[test]
fn encrypted_assertions_signed_either_way_are_accepted() {
    for mode in [AssertionEncryption::Accept, AssertionEncryption::Require] {
        let (settings, key, params, now) = world(mode);
        let oaep_sha256 = Spec {
            transport: OAEP11,
            digest: Some(SHA256),
            mgf: Some(MGF1SHA256),
            ..Spec::oaep(AES256_GCM)
        };
        // RSA-OAEP's default digest, SHA-1, named as many IdPs do: not a signature's.
        let oaep_sha1 = Spec {
            digest: Some(SHA1),
            ..Spec::oaep(AES256_CBC)
        };
        // The assertion signed inside the ciphertext, the Response unsigned.
        let specs = [
            Spec::oaep(AES256_CBC),
            Spec::oaep(AES128_GCM),
            oaep_sha256,
            oaep_sha1,
        ];
        for spec in specs {
            let xml = params.encrypted_xml(key, &spec);
            assert!(!xml.contains(ALICE), "the identity travels encrypted");
            let verified = verify_full(&settings, &xml, now).unwrap();
            assert_eq!(verified.identity.email.to_string(), ALICE, "{mode:?}");
            assert_eq!(verified.identity.subject, ALICE);
            assert_eq!(verified.assertion_id, "_assert1");
            assert_eq!(verified.in_response_to.as_deref(), Some("_req1"));
        }
        // An unsigned assertion inside a signed Response, and both signed.
        let both = Params {
            sign_response: true,
            ..params.clone()
        };
        for (p, content) in [(response_signed(&params), AES256_CBC), (both, AES128_GCM)] {
            let xml = p.encrypted_xml(key, &Spec::oaep(content));
            assert_eq!(
                verify(&settings, &xml, now).as_deref(),
                Ok(ALICE),
                "{mode:?}"
            );
        }
    }
}

#[test]
fn the_encryption_setting_decides_which_form_is_accepted() {
    // `off` with the keys still stored (switched off after use): the refusal is the
    // setting's, not a missing key's.
    let (mut settings, key, params, now) = world(AssertionEncryption::Off);
    let encrypted = params.encrypted_xml(key, &Spec::oaep(AES256_CBC));
    let clear = params.xml();
    assert_eq!(
        verify(&settings, &encrypted, now),
        Err(R::EncryptedAssertion)
    );
    assert_eq!(verify(&settings, &clear, now).as_deref(), Ok(ALICE));

    settings.encrypted_assertions = AssertionEncryption::Require;
    assert_eq!(verify(&settings, &clear, now), Err(R::EncryptionRequired));
    let signed_response = response_signed(&params).xml();
    assert_eq!(
        verify(&settings, &signed_response, now),
        Err(R::EncryptionRequired)
    );
    assert_eq!(verify(&settings, &encrypted, now).as_deref(), Ok(ALICE));

    settings.encrypted_assertions = AssertionEncryption::Accept;
    for xml in [&clear, &signed_response, &encrypted] {
        assert_eq!(verify(&settings, xml, now).as_deref(), Ok(ALICE));
    }
}

#[test]
fn only_the_sp_keys_decrypt_and_a_replaced_key_for_seven_days() {
    let (settings, key, params, now) = world(AssertionEncryption::Accept);
    let fresh = &other_key().key;
    let to_old = params.encrypted_xml(key, &Spec::oaep(AES256_CBC));
    let to_fresh = params.encrypted_xml(fresh, &Spec::oaep(AES256_CBC));
    // Encrypted to a key the SP does not hold.
    assert_eq!(verify(&settings, &to_fresh, now), Err(R::Undecryptable));
    // Rotated `ago`: `fresh` is current, the SP key previous.
    let rotated = |ago: Duration| {
        let mut s = settings.clone();
        let keys = s.sp_encryption_keys.take().unwrap();
        s.sp_encryption_keys = Some(keys.rotated(sp_encryption_pair(fresh, 1, now), now - ago));
        s
    };
    let last_second = PREVIOUS_ENCRYPTION_KEY_GRACE - Duration::seconds(1);
    for ago in [Duration::zero(), Duration::days(3), last_second] {
        assert_eq!(verify(&rotated(ago), &to_old, now).as_deref(), Ok(ALICE));
        assert_eq!(verify(&rotated(ago), &to_fresh, now).as_deref(), Ok(ALICE));
    }
    for ago in [PREVIOUS_ENCRYPTION_KEY_GRACE, Duration::days(8)] {
        assert_eq!(
            verify(&rotated(ago), &to_old, now),
            Err(R::Undecryptable),
            "{ago}"
        );
        assert_eq!(verify(&rotated(ago), &to_fresh, now).as_deref(), Ok(ALICE));
    }
}

#[test]
fn an_encrypted_assertion_counts_only_with_the_idps_signature() {
    let (settings, key, params, now) = world(AssertionEncryption::Require);
    // Anyone can encrypt to the SP's certificate: unsigned inside and out.
    let unsigned = forged(now).encrypted_xml(key, &Spec::oaep(AES256_CBC));
    assert_eq!(verify(&settings, &unsigned, now), Err(R::Unsigned));
    // Signed by another key, inside the ciphertext or on the Response.
    let mallorys = Params {
        key: other_key(),
        ..params.clone()
    };
    for p in [mallorys.clone(), response_signed(&mallorys)] {
        let xml = p.encrypted_xml(key, &Spec::oaep(AES128_GCM));
        assert_eq!(verify(&settings, &xml, now), Err(R::BadSignature));
    }
    // The algorithms refused on a clear response are refused with an encrypted assertion:
    // on the Response by the early scan, inside the ciphertext by samael's allowed list.
    let sha1 = Params {
        signature_algorithm: RSA_SHA1,
        digest_algorithm: SHA1,
        ..params.clone()
    };
    let inside = sha1.encrypted_xml(key, &Spec::oaep(AES128_GCM));
    assert_eq!(verify(&settings, &inside, now), Err(R::BadSignature));
    let outside = response_signed(&sha1).encrypted_xml(key, &Spec::oaep(AES128_GCM));
    assert!(matches!(
        verify(&settings, &outside, now),
        Err(R::WeakAlgorithm(_))
    ));
    // The ciphertext of a signed Response changed: refused before anything is decrypted.
    let signed = response_signed(&params).encrypted_xml(key, &Spec::oaep(AES256_CBC));
    let changed = with_content_ciphertext(&signed, |b| *b.last_mut().unwrap() ^= 1);
    assert_eq!(verify(&settings, &changed, now), Err(R::BadSignature));
}

#[test]
fn a_second_or_misplaced_assertion_is_refused() {
    let (settings, key, params, now) = world(AssertionEncryption::Accept);
    let mallorys = encrypt(&forged(now).assertion(), key, &Spec::oaep(AES256_CBC));
    let signed = response_signed(&params).encrypted_xml(key, &Spec::oaep(AES256_CBC));
    assert_eq!(verify(&settings, &signed, now).as_deref(), Ok(ALICE));
    let ours = &signed[signed.find("<saml:EncryptedAssertion").unwrap()..];
    let end = "</saml:EncryptedAssertion>";
    let ours = &ours[..ours.find(end).unwrap() + end.len()];

    // Mallory's EncryptedAssertion added to the signed Response after signing: after
    // ours, before ours, and in a ds:Object of the Response's signature. The assertions
    // are counted on the document as posted, before the signature is checked, so each
    // answers AssertionCount. Without the count the first two would still fail the
    // signature (BadSignature), the third not: the enveloped-signature transform leaves
    // the whole ds:Signature out of the digest (checked below with samael alone).
    let wrapped = [
        signed.replacen(
            "</samlp:Response>",
            &format!("{mallorys}</samlp:Response>"),
            1,
        ),
        signed.replacen(ours, &format!("{mallorys}{ours}"), 1),
        signed.replacen(
            "</ds:Signature>",
            &format!("<ds:Object>{mallorys}</ds:Object></ds:Signature>"),
            1,
        ),
    ];
    for xml in &wrapped {
        assert_eq!(verify(&settings, xml, now), Err(R::AssertionCount));
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(&idp_key().cert_b64)
        .unwrap();
    let certs = [CertificateDer::from(der)];
    assert!(Crypto::reduce_xml_to_signed(&wrapped[2], &certs, ReduceMode::default()).is_ok());
    assert!(Crypto::reduce_xml_to_signed(&wrapped[0], &certs, ReduceMode::default()).is_err());
    // Mallory's in place of ours: the signature covers the ciphertext.
    let swapped = signed.replacen(ours, &mallorys, 1);
    assert_eq!(verify(&settings, &swapped, now), Err(R::BadSignature));

    // A clear assertion beside the encrypted one: Mallory's unsigned one beside a signed
    // Response's, or the IdP's own signed one beside Mallory's encrypted one.
    let clear_forged = forged(now).assertion();
    let beside = [
        signed.replacen(ours, &format!("{ours}{clear_forged}"), 1),
        forged(now).response_around(&format!("{}{mallorys}", params.assertion())),
        forged(now).response_around(&format!("{mallorys}{}", params.assertion())),
    ];
    for xml in &beside {
        assert_eq!(verify(&settings, xml, now), Err(R::AssertionCount));
    }

    // The IdP's genuine encrypted assertion, but not a child of the Response: in
    // samlp:Extensions of an unsigned Response, and of a signed one.
    let genuine = encrypt(&params.assertion(), key, &Spec::oaep(AES256_CBC));
    let nested = format!("<samlp:Extensions>{genuine}</samlp:Extensions>");
    for p in [params.clone(), response_signed(&params)] {
        let xml = p.response_around(&nested);
        assert_eq!(verify(&settings, &xml, now), Err(R::AssertionCount));
    }
}

#[test]
fn a_signed_response_is_checked_before_its_assertion_counts() {
    let (settings, key, params, now) = world(AssertionEncryption::Accept);
    let with = |change: fn(&mut Params)| {
        let mut p = response_signed(&params);
        change(&mut p);
        let xml = p.encrypted_xml(key, &Spec::oaep(AES128_GCM));
        verify(&settings, &xml, now)
    };
    // The Response's Issuer and Status are read only from the Response the signature
    // covers (the assertion is unsigned, and its own Issuer is right): these two show
    // that `check_response` runs on the verified Response.
    assert_eq!(
        with(|p| p.response_issuer = "https://evil.test/saml".into()),
        Err(R::WrongIssuer)
    );
    assert_eq!(
        with(|p| p.status = REQUESTER.into()),
        Err(R::IdpStatus(REQUESTER.into()))
    );
    // Destination and InResponseTo: the same answers, though `verify_response` already
    // gives them from its early look at the unverified root, which is the element the
    // signature covers; `check_response` repeats them on the verified copy.
    let elsewhere = sp(2).acs_url;
    assert_eq!(
        with(|p| p.destination = Some(sp(2).acs_url)),
        Err(R::WrongDestination { found: elsewhere })
    );
    assert_eq!(with(|p| p.destination = None), Err(R::MissingDestination));
    assert_eq!(
        with(|p| p.in_response_to = Some("_req9".into())),
        Err(R::UnknownInResponseTo)
    );
    assert_eq!(
        with(|p| p.in_response_to = None),
        Err(R::MissingInResponseTo)
    );
    // And the unchanged Response passes.
    assert_eq!(with(|_| {}).as_deref(), Ok(ALICE));
}

#[test]
fn refused_algorithms_oversize_and_broken_padding() {
    let (settings, key, params, now) = world(AssertionEncryption::Accept);
    let pkcs1 = Spec {
        transport: RSA_1_5,
        padding: Padding::PKCS1,
        ..Spec::oaep(AES128_CBC)
    };
    let xml = params.encrypted_xml(key, &pkcs1);
    assert_eq!(
        verify(&settings, &xml, now),
        Err(R::EncryptionAlgorithmRefused(RSA_1_5.into()))
    );
    // 3DES named, in an unsigned Response and in one the IdP signed.
    let des =
        encrypt(&params.assertion(), key, &Spec::oaep(AES128_CBC)).replace(AES128_CBC, TRIPLE_DES);
    for xml in [
        params.response_around(&des),
        response_signed(&params).response_around(&des),
    ] {
        assert_eq!(
            verify(&settings, &xml, now),
            Err(R::EncryptionAlgorithmRefused(TRIPLE_DES.into()))
        );
    }
    // A ciphertext over `MAX_CIPHERTEXT` makes the response too large for the ACS: the
    // response limit answers first (the decryption's own limit is not reachable here).
    let xml = params.encrypted_xml(key, &Spec::oaep(AES128_CBC));
    let huge = with_content_ciphertext(&xml, |b| {
        *b = vec![0; portcullis_sso::saml::MAX_CIPHERTEXT + 16]
    });
    assert_eq!(
        verify(&settings, &huge, now),
        Err(R::TooLarge {
            limit: MAX_ENCODED_RESPONSE
        })
    );

    // Another key, and a broken CBC padding: the second-to-last ciphertext block changed
    // so that the last plaintext byte, the padding length, becomes 0 (never valid).
    let foreign = verify(
        &settings,
        &params.encrypted_xml(&other_key().key, &Spec::oaep(AES256_CBC)),
        now,
    )
    .unwrap_err();
    assert_eq!(foreign, R::Undecryptable);
    let assertion = params.assertion();
    let padding = u8::try_from(16 - assertion.len() % 16).unwrap();
    let cbc = encrypt(&assertion, key, &Spec::oaep(AES256_CBC));
    assert_eq!(
        verify(&settings, &params.response_around(&cbc), now).as_deref(),
        Ok(ALICE)
    );
    let broken_padding = with_content_ciphertext(&cbc, |b| {
        let n = b.len();
        b[n - 17] ^= padding;
    });
    // And a GCM tag that does not verify.
    let gcm = encrypt(&assertion, key, &Spec::oaep(AES128_GCM));
    let broken_tag = with_content_ciphertext(&gcm, |b| *b.last_mut().unwrap() ^= 1);
    for broken in [broken_padding, broken_tag] {
        let e = verify(&settings, &params.response_around(&broken), now).unwrap_err();
        assert_eq!(e, foreign);
        assert_eq!(e.reason(), foreign.reason());
        assert_eq!(e.to_string(), foreign.to_string());
    }
}

#[test]
fn a_comment_inside_the_decrypted_assertion_is_refused() {
    let (settings, key, mut params, now) = world(AssertionEncryption::Require);
    // NameID splitting: canonicalization drops the comment, so the IdP's signature over
    // "admin@acme.test.evil.test" would also cover a NameID read as "admin@acme.test".
    let split = "admin@acme.test<!---->.evil.test";
    params.name_id = split.into();
    params.attributes = vec![("email".into(), split.into())];
    let both = Params {
        sign_response: true,
        ..params.clone()
    };
    for p in [params, both] {
        let xml = p.encrypted_xml(key, &Spec::oaep(AES256_GCM));
        assert!(!xml.contains("<!--"), "the comment is encrypted");
        assert_eq!(verify(&settings, &xml, now), Err(R::CommentRefused));
    }
}
