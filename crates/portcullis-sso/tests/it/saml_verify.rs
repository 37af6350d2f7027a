//! Every check of `saml::verify_response`, each with the forged or stale response it
//! refuses.

use chrono::{DateTime, Duration, Utc};
use portcullis_domain::SamlSettings;
use portcullis_sso::saml::{
    peek_in_response_to, verify_response, Expected, SamlRejection, SpConfig, VerifiedAssertion,
};

use crate::saml_fixture::*;

const SKEW: Duration = Duration::seconds(60);

fn pending() -> Vec<String> {
    vec!["_req1".to_owned()]
}

fn verify_with(
    settings: &SamlSettings,
    sp: &SpConfig,
    b64: &str,
    expected: Expected<'_>,
    now: DateTime<Utc>,
) -> Result<VerifiedAssertion, SamlRejection> {
    verify_response(settings, idp_id(1), sp, b64, expected, now, SKEW)
}

/// Verifies the response `mutate` makes from a valid one, SP-initiated, at wall-clock now.
fn sp_initiated(mutate: impl FnOnce(&mut Params)) -> Result<VerifiedAssertion, SamlRejection> {
    let now = wall_clock();
    let sp = sp(1);
    let mut params = Params::valid(&sp, now);
    mutate(&mut params);
    let ids = pending();
    verify_with(
        &settings(&[idp_key()]),
        &sp,
        &params.b64(),
        Expected::SpInitiated {
            pending_request_ids: &ids,
        },
        now,
    )
}

/// Verifies a valid SP-initiated response, at wall-clock now, against `settings`.
fn valid_against(settings: &SamlSettings) -> Result<VerifiedAssertion, SamlRejection> {
    let now = wall_clock();
    let sp = sp(1);
    let ids = pending();
    verify_with(
        settings,
        &sp,
        &Params::valid(&sp, now).b64(),
        Expected::SpInitiated {
            pending_request_ids: &ids,
        },
        now,
    )
}

fn email(result: Result<VerifiedAssertion, SamlRejection>) -> Result<String, SamlRejection> {
    result.map(|v| v.identity.email.to_string())
}

/// Every attribute reaches the identity's claims by name, repeated attributes together
/// (Okta sends one `groups` attribute per group in some setups), for role rules.
#[test]
fn attributes_reach_the_identity_as_claims() {
    let verified = sp_initiated(|p| {
        p.attributes
            .push(("groups".into(), "Portcullis Admins".into()));
        p.attributes.push(("groups".into(), "Staff".into()));
        p.attributes.push((
            "http://schemas.microsoft.com/ws/2008/06/identity/claims/role".into(),
            "Approver".into(),
        ));
    })
    .unwrap();
    let claims = &verified.identity.claims;
    assert_eq!(
        claims.get("groups"),
        Some(&vec!["Portcullis Admins".to_owned(), "Staff".to_owned()])
    );
    assert_eq!(
        claims.get("http://schemas.microsoft.com/ws/2008/06/identity/claims/role"),
        Some(&vec!["Approver".to_owned()])
    );
    assert!(claims.contains_key("email"), "{claims:?}");
}

#[test]
fn valid_sp_initiated_login() {
    let now = wall_clock();
    let sp = sp(1);
    let params = Params::valid(&sp, now);
    let ids = vec!["_other".to_owned(), "_req1".to_owned()];
    let verified = verify_with(
        &settings(&[idp_key()]),
        &sp,
        &params.b64(),
        Expected::SpInitiated {
            pending_request_ids: &ids,
        },
        now,
    )
    .unwrap();
    assert_eq!(verified.identity.idp, idp_id(1));
    assert_eq!(verified.identity.subject, "alice@acme.test");
    assert_eq!(verified.identity.email.as_str(), "alice@acme.test");
    assert_eq!(
        verified.identity.display_name.as_deref(),
        Some("Alice Liddell")
    );
    assert_eq!(verified.assertion_id, "_assert1");
    assert_eq!(verified.in_response_to.as_deref(), Some("_req1"));
    assert_eq!(verified.not_on_or_after, now + Duration::minutes(5));
    assert_eq!(
        verified.replay_expires_at(SKEW),
        now + Duration::minutes(5) + SKEW
    );
}

#[test]
fn signed_response_and_assertion_both_verify() {
    let r = sp_initiated(|p| p.sign_response = true);
    assert_eq!(email(r), Ok("alice@acme.test".into()));
    let r = sp_initiated(|p| {
        p.sign_response = true;
        p.sign_assertion = false;
    });
    assert_eq!(email(r), Ok("alice@acme.test".into()));
}

#[test]
fn ecdsa_sha256_is_accepted() {
    let now = wall_clock();
    let sp = sp(1);
    let mut params = Params::valid(&sp, now);
    params.key = ec_key();
    params.signature_algorithm = ECDSA_SHA256;
    let ids = pending();
    let r = verify_with(
        &settings(&[ec_key()]),
        &sp,
        &params.b64(),
        Expected::SpInitiated {
            pending_request_ids: &ids,
        },
        now,
    );
    assert_eq!(email(r), Ok("alice@acme.test".into()));
}

/// The table of forged, stale and misaddressed responses. Each row would be accepted if
/// its check were removed.
#[test]
fn forged_and_stale_responses_are_refused() {
    let now = wall_clock();
    let sp1 = sp(1);
    let other_sp = sp(2);
    type Mutation = Box<dyn Fn(&mut Params)>;
    let cases: Vec<(&str, Mutation, SamlRejection)> = vec![
        (
            "unsigned",
            Box::new(|p| p.sign_assertion = false),
            SamlRejection::Unsigned,
        ),
        (
            "signed by another key",
            Box::new(|p| p.key = other_key()),
            SamlRejection::BadSignature,
        ),
        (
            "SHA-1 signature",
            Box::new(|p| {
                p.signature_algorithm = RSA_SHA1;
                p.digest_algorithm = SHA1;
            }),
            SamlRejection::WeakAlgorithm(RSA_SHA1.into()),
        ),
        (
            "SHA-1 digest under an RSA-SHA256 signature",
            Box::new(|p| p.digest_algorithm = SHA1),
            SamlRejection::WeakAlgorithm(SHA1.into()),
        ),
        (
            "missing Destination",
            Box::new(|p| p.destination = None),
            SamlRejection::MissingDestination,
        ),
        (
            "signed response without Destination",
            Box::new(|p| {
                p.destination = None;
                p.sign_response = true;
            }),
            SamlRejection::MissingDestination,
        ),
        (
            "wrong Destination",
            Box::new(|p| p.destination = Some("https://evil.test/acs".into())),
            SamlRejection::WrongDestination {
                found: "https://evil.test/acs".into(),
            },
        ),
        (
            "wrong Recipient",
            Box::new(|p| p.recipient = Some("https://evil.test/acs".into())),
            SamlRejection::WrongRecipient,
        ),
        (
            "missing Recipient",
            Box::new(|p| p.recipient = None),
            SamlRejection::WrongRecipient,
        ),
        (
            "wrong Audience",
            Box::new(|p| p.audience = Some("https://other-sp.test".into())),
            SamlRejection::WrongAudience,
        ),
        (
            "no AudienceRestriction",
            Box::new(|p| p.audience = None),
            SamlRejection::MissingAudience,
        ),
        (
            "no Conditions",
            Box::new(|p| p.conditions = false),
            SamlRejection::MissingAudience,
        ),
        (
            "expired conditions",
            Box::new(move |p| p.not_on_or_after = Some(now - Duration::minutes(3))),
            SamlRejection::Expired,
        ),
        (
            "expired bearer confirmation",
            Box::new(move |p| p.sc_not_on_or_after = Some(now - Duration::minutes(3))),
            SamlRejection::Expired,
        ),
        (
            "bearer confirmation without NotOnOrAfter",
            Box::new(|p| p.sc_not_on_or_after = None),
            SamlRejection::MissingSubjectConfirmation,
        ),
        (
            "not yet valid",
            Box::new(move |p| p.not_before = Some(now + Duration::minutes(3))),
            SamlRejection::NotYetValid,
        ),
        (
            "response issued in the future",
            Box::new(move |p| p.response_issue_instant = now + Duration::minutes(3)),
            SamlRejection::IssuedInFuture,
        ),
        (
            "assertion issued in the future",
            Box::new(move |p| p.assertion_issue_instant = now + Duration::minutes(3)),
            SamlRejection::IssuedInFuture,
        ),
        (
            "response issued too long ago",
            Box::new(move |p| p.response_issue_instant = now - Duration::minutes(10)),
            SamlRejection::IssuedTooLongAgo,
        ),
        (
            "assertion issued too long ago",
            Box::new(move |p| p.assertion_issue_instant = now - Duration::minutes(10)),
            SamlRejection::IssuedTooLongAgo,
        ),
        (
            "wrong InResponseTo",
            Box::new(|p| {
                p.in_response_to = Some("_foreign".into());
                p.sc_in_response_to = Some("_foreign".into());
            }),
            SamlRejection::UnknownInResponseTo,
        ),
        (
            "assertion answers another request than the response",
            Box::new(|p| p.sc_in_response_to = Some("_foreign".into())),
            SamlRejection::UnknownInResponseTo,
        ),
        (
            "assertion answers no request",
            Box::new(|p| p.sc_in_response_to = None),
            SamlRejection::UnknownInResponseTo,
        ),
        (
            "response without InResponseTo on the SP-initiated path",
            Box::new(|p| p.in_response_to = None),
            SamlRejection::MissingInResponseTo,
        ),
        (
            "wrong assertion issuer",
            Box::new(|p| p.assertion_issuer = "https://evil.test".into()),
            SamlRejection::WrongIssuer,
        ),
        (
            "wrong response issuer on a signed response",
            Box::new(|p| {
                p.sign_response = true;
                p.response_issuer = "https://evil.test".into();
            }),
            SamlRejection::WrongIssuer,
        ),
        (
            "failure status",
            Box::new(|p| {
                p.sign_response = true;
                p.status = "urn:oasis:names:tc:SAML:2.0:status:Requester".into();
            }),
            SamlRejection::IdpStatus("urn:oasis:names:tc:SAML:2.0:status:Requester".into()),
        ),
        (
            "no email anywhere",
            Box::new(|p| {
                p.attributes.clear();
                p.name_id = "00u1abcd".into();
                p.name_id_format = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into();
            }),
            SamlRejection::MissingEmail,
        ),
        (
            "a response for IdP 2's SP at IdP 1's ACS",
            Box::new(move |p| *p = Params::valid(&other_sp, now)),
            SamlRejection::WrongDestination {
                found: sp(2).acs_url,
            },
        ),
    ];
    let ids = pending();
    for (name, mutate, expected) in cases {
        let mut params = Params::valid(&sp1, now);
        mutate(&mut params);
        let result = verify_with(
            &settings(&[idp_key()]),
            &sp1,
            &params.b64(),
            Expected::SpInitiated {
                pending_request_ids: &ids,
            },
            now,
        );
        assert_eq!(result.map(|v| v.identity), Err(expected.clone()), "{name}");
        assert!(!expected.reason().is_empty());
    }
}

#[test]
fn tampering_after_signing_breaks_the_signature() {
    let now = wall_clock();
    let sp = sp(1);
    let ids = pending();
    let xml = Params::valid(&sp, now).xml();
    for forged in [
        xml.replace(">alice@acme.test<", ">admin@acme.test<"),
        xml.replace("Alice Liddell", "Mallory"),
    ] {
        assert_ne!(forged, xml);
        let r = verify_with(
            &settings(&[idp_key()]),
            &sp,
            &b64(&forged),
            Expected::SpInitiated {
                pending_request_ids: &ids,
            },
            now,
        );
        assert_eq!(r, Err(SamlRejection::BadSignature));
    }
}

#[test]
fn stripped_signature_is_refused() {
    let now = wall_clock();
    let sp = sp(1);
    let xml = Params::valid(&sp, now).xml();
    let start = xml.find("<ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let stripped = format!("{}{}", &xml[..start], &xml[end..]);
    let ids = pending();
    let r = verify_with(
        &settings(&[idp_key()]),
        &sp,
        &b64(&stripped),
        Expected::SpInitiated {
            pending_request_ids: &ids,
        },
        now,
    );
    assert_eq!(r, Err(SamlRejection::Unsigned));
}

#[test]
fn certificate_rollover_accepts_either_certificate() {
    let now = wall_clock();
    let sp = sp(1);
    let ids = pending();
    let both = settings(&[idp_key(), other_key()]);
    for key in [idp_key(), other_key()] {
        let mut params = Params::valid(&sp, now);
        params.key = key;
        let r = verify_with(
            &both,
            &sp,
            &params.b64(),
            Expected::SpInitiated {
                pending_request_ids: &ids,
            },
            now,
        );
        assert_eq!(email(r), Ok("alice@acme.test".into()));
    }
    // PEM works as well as base64 DER.
    let mut pem = settings(&[]);
    pem.signing_certificates = vec![idp_key().cert_pem.clone()];
    let r = valid_against(&pem);
    assert!(r.is_ok(), "{r:?}");
}

/// Certificates are read as X.509 when an IdP is saved, not at each sign-in: one that is
/// base64 but not X.509 (stored some other way) still verifies nothing.
#[test]
fn a_configured_certificate_that_is_not_x509_verifies_nothing() {
    let not_x509 = "bm90IGEgY2VydGlmaWNhdGU=".to_owned();
    assert!(portcullis_sso::saml::normalize_certificate(&not_x509).is_err());
    let mut s = settings(&[]);
    s.signing_certificates = vec![not_x509];
    let r = valid_against(&s);
    assert!(r.is_err(), "{r:?}");
    // The same settings with the real certificate verify (the refusal is the certificate's).
    s.signing_certificates = vec![idp_key().cert_b64.clone()];
    assert!(valid_against(&s).is_ok());
}

#[test]
fn an_idp_without_certificates_is_refused_even_for_unsigned_responses() {
    let now = wall_clock();
    let sp = sp(1);
    let ids = pending();
    for certs in [vec![], vec!["  ".to_owned()]] {
        let mut s = settings(&[]);
        s.signing_certificates = certs;
        let mut params = Params::valid(&sp, now);
        params.sign_assertion = false;
        params.sign_response = false;
        // An unsigned response: refused before anything else could accept it.
        let unsigned_xml = params.xml();
        let r = verify_with(
            &s,
            &sp,
            &b64(&unsigned_xml),
            Expected::SpInitiated {
                pending_request_ids: &ids,
            },
            now,
        );
        assert!(
            matches!(
                r,
                Err(SamlRejection::Unsigned | SamlRejection::MissingCertificate)
            ),
            "{r:?}"
        );
        // A signed one is refused too: there is nothing to verify it with.
        let r = verify_with(
            &s,
            &sp,
            &Params::valid(&sp, now).b64(),
            Expected::SpInitiated {
                pending_request_ids: &ids,
            },
            now,
        );
        assert_eq!(r, Err(SamlRejection::MissingCertificate));
    }
}

#[test]
fn cross_idp_responses_are_refused() {
    // IdP 1 and IdP 2 trust the same certificate (two apps in one Okta org); a response
    // Okta made for IdP 1 must not log anyone in at IdP 2.
    let now = wall_clock();
    let for_one = sp(1);
    let at_two = sp(2);
    let ids = pending();
    let s = settings(&[idp_key()]);
    let expected = Expected::SpInitiated {
        pending_request_ids: &ids,
    };
    let genuine = Params::valid(&for_one, now);
    let r = verify_with(&s, &at_two, &genuine.b64(), expected, now);
    assert_eq!(
        r,
        Err(SamlRejection::WrongDestination {
            found: for_one.acs_url.clone()
        })
    );
    // The unsigned Response envelope readdressed to IdP 2: the signed Recipient still
    // names IdP 1.
    let readdressed = genuine.xml().replacen(
        &format!(r#"Destination="{}""#, for_one.acs_url),
        &format!(r#"Destination="{}""#, at_two.acs_url),
        1,
    );
    let r = verify_with(&s, &at_two, &b64(&readdressed), expected, now);
    assert!(
        matches!(
            r,
            Err(SamlRejection::WrongRecipient | SamlRejection::WrongAudience)
        ),
        "{r:?}"
    );
    // Even with a Recipient for IdP 2 the audience names IdP 1's SP.
    let mut p = Params::valid(&at_two, now);
    p.audience = Some(for_one.entity_id.clone());
    let r = verify_with(&s, &at_two, &p.b64(), expected, now);
    assert_eq!(r, Err(SamlRejection::WrongAudience));
}

#[test]
fn idp_initiated_login() {
    let now = wall_clock();
    let sp = sp(1);
    let mut allowed = settings(&[idp_key()]);
    allowed.idp_initiated = true;
    let refused = settings(&[idp_key()]);

    let unsolicited = Params::unsolicited(&sp, now);
    let r = verify_with(
        &allowed,
        &sp,
        &unsolicited.b64(),
        Expected::IdpInitiated,
        now,
    );
    let verified = r.unwrap();
    assert_eq!(verified.identity.email.as_str(), "alice@acme.test");
    assert_eq!(verified.in_response_to, None);

    let r = verify_with(
        &refused,
        &sp,
        &unsolicited.b64(),
        Expected::IdpInitiated,
        now,
    );
    assert_eq!(r, Err(SamlRejection::UnsolicitedNotAllowed));

    // A solicited response must never be accepted through the unsolicited path, whether
    // the InResponseTo sits on the response or only inside the signed assertion (samael
    // checks neither once IdP-initiated login is allowed).
    let solicited = Params::valid(&sp, now);
    let r = verify_with(&allowed, &sp, &solicited.b64(), Expected::IdpInitiated, now);
    assert_eq!(r, Err(SamlRejection::UnsolicitedWithInResponseTo));
    let mut inner_only = Params::unsolicited(&sp, now);
    inner_only.sc_in_response_to = Some("_req1".into());
    let r = verify_with(
        &allowed,
        &sp,
        &inner_only.b64(),
        Expected::IdpInitiated,
        now,
    );
    assert_eq!(r, Err(SamlRejection::UnsolicitedWithInResponseTo));

    // An unsolicited response on the SP-initiated path is refused too.
    let ids = pending();
    let r = verify_with(
        &allowed,
        &sp,
        &unsolicited.b64(),
        Expected::SpInitiated {
            pending_request_ids: &ids,
        },
        now,
    );
    assert_eq!(r, Err(SamlRejection::MissingInResponseTo));
}

#[test]
fn no_pending_request_means_no_sp_initiated_login() {
    let now = wall_clock();
    let sp = sp(1);
    let r = verify_with(
        &settings(&[idp_key()]),
        &sp,
        &Params::valid(&sp, now).b64(),
        Expected::SpInitiated {
            pending_request_ids: &[],
        },
        now,
    );
    assert_eq!(r, Err(SamlRejection::UnknownInResponseTo));
}

#[test]
fn peek_only_routes() {
    let now = wall_clock();
    let sp = sp(1);
    assert_eq!(
        peek_in_response_to(&Params::valid(&sp, now).b64()).as_deref(),
        Some("_req1")
    );
    assert_eq!(
        peek_in_response_to(&Params::unsolicited(&sp, now).b64()),
        None
    );
    assert_eq!(peek_in_response_to("not base64 at all!"), None);
}

#[test]
fn the_same_assertion_twice_has_the_same_replay_key() {
    // Replay is refused by the server's unique (idp, assertion_id) row; the library's part
    // is to give the same key and an expiry for the row each time.
    let now = wall_clock();
    let sp = sp(1);
    let b64 = Params::valid(&sp, now).b64();
    let ids = pending();
    let expected = Expected::SpInitiated {
        pending_request_ids: &ids,
    };
    let s = settings(&[idp_key()]);
    let first = verify_with(&s, &sp, &b64, expected, now).unwrap();
    let second = verify_with(&s, &sp, &b64, expected, now).unwrap();
    assert_eq!(first.assertion_id, second.assertion_id);
    assert_eq!(first.not_on_or_after, second.not_on_or_after);
}
