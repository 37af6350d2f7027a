//! Logout messages from the IdP arriving at the SP's SLO URL: its `LogoutResponse` to the
//! SP's request and its own `LogoutRequest`. Accepted only with a query signature by the
//! IdP over the octets as received, and only when issuer, destination, request id and
//! times hold; every refusal has its precise reason.

use chrono::{DateTime, Duration, Utc};
use portcullis_sso::saml::{
    verify_logout_request, verify_logout_response, IdpLogoutRequest, LoggedOutAtIdp, SamlRejection,
    MAX_DECODED_RESPONSE, MAX_ENCODED_RESPONSE, MAX_RESPONSE_AGE,
};

use crate::saml_fixture::*;
use crate::saml_logout_fixture::*;

fn verify_response_at(query: &str, now: DateTime<Utc>) -> Result<LoggedOutAtIdp, SamlRejection> {
    verify_logout_response(&settings(&[idp_key()]), &sp(1), query, PENDING, now, skew())
}

fn verify_response(query: &str) -> Result<LoggedOutAtIdp, SamlRejection> {
    verify_response_at(query, now())
}

/// A response built from the valid one changed by `mutate`, signed by the IdP.
fn response_with(mutate: impl FnOnce(&mut ResponseXml)) -> String {
    let mut xml = ResponseXml::valid(&sp(1));
    mutate(&mut xml);
    idp_response(&xml)
}

fn verify_request_at(query: &str, now: DateTime<Utc>) -> Result<IdpLogoutRequest, SamlRejection> {
    verify_logout_request(&settings(&[idp_key()]), &sp(1), query, now, skew())
}

fn verify_request(query: &str) -> Result<IdpLogoutRequest, SamlRejection> {
    verify_request_at(query, now())
}

fn request_with(mutate: impl FnOnce(&mut RequestXml)) -> String {
    let mut xml = RequestXml::valid(&sp(1));
    mutate(&mut xml);
    idp_request(&xml)
}

/// Replaces the raw value of `name` in `query` (after signing, as an attacker would).
fn replace_param(query: &str, name: &str, value: &str) -> String {
    raw_params(query)
        .into_iter()
        .map(|(k, v)| {
            let v = if k == name { value.to_owned() } else { v };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn without_param(query: &str, name: &str) -> String {
    raw_params(query)
        .into_iter()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[test]
fn a_signed_successful_logout_response_is_accepted() {
    let answer = verify_response(&idp_response(&ResponseXml::valid(&sp(1)))).unwrap();
    assert_eq!(
        answer,
        LoggedOutAtIdp {
            response_id: "_idp-response-1".into(),
            relay_state: Some("back-1".into()),
        }
    );

    let xml = ResponseXml::valid(&sp(1)).xml();
    let accepted = [
        // Every allowed algorithm, ECDSA signatures as DER and as XML Signature's r || s.
        query(
            "SAMLResponse",
            &xml,
            None,
            Sign::With(idp_key(), RSA_SHA512),
        ),
        query(
            "SAMLResponse",
            &xml,
            Some("b"),
            Sign::With(idp_key(), RSA_SHA256),
        ),
        // A top-level Success with a second-level PartialLogout is still a success.
        response_with(|r| r.inner_status = Some(PARTIAL_LOGOUT.into())),
        // Destination is optional on the Redirect binding.
        response_with(|r| r.destination = None),
        // The clock-skew boundaries.
        response_with(|r| r.issue_instant = now() + skew()),
        response_with(|r| r.issue_instant = now() - MAX_RESPONSE_AGE - skew()),
    ];
    for query in accepted {
        assert!(verify_response(&query).is_ok(), "{query}");
    }
    for sign in [
        Sign::With(ec_key(), ECDSA_SHA256),
        Sign::RawEcdsa(ec_key(), ECDSA_SHA256),
    ] {
        let query = query("SAMLResponse", &xml, None, sign);
        let settings = settings(&[ec_key()]);
        assert!(
            verify_logout_response(&settings, &sp(1), &query, PENDING, now(), skew()).is_ok(),
            "{query}"
        );
    }
    // During a certificate rollover either certificate verifies.
    let rollover = settings(&[other_key(), idp_key()]);
    let query = idp_response(&ResponseXml::valid(&sp(1)));
    assert!(verify_logout_response(&rollover, &sp(1), &query, PENDING, now(), skew()).is_ok());
}

#[test]
fn forged_or_stale_logout_responses_are_refused() {
    let xml = ResponseXml::valid(&sp(1)).xml();
    let signed = idp_response(&ResponseXml::valid(&sp(1)));
    let cases: Vec<(&str, String, SamlRejection)> = vec![
        (
            "unsigned",
            query("SAMLResponse", &xml, Some("back-1"), Sign::No),
            SamlRejection::Unsigned,
        ),
        (
            "signature stripped",
            without_param(&without_param(&signed, "Signature"), "SigAlg"),
            SamlRejection::Unsigned,
        ),
        (
            "SigAlg stripped",
            without_param(&signed, "SigAlg"),
            SamlRejection::Malformed("Signature without SigAlg".into()),
        ),
        (
            "signed by another key",
            query(
                "SAMLResponse",
                &xml,
                None,
                Sign::With(other_key(), RSA_SHA256),
            ),
            SamlRejection::BadSignature,
        ),
        (
            "RSA-SHA1",
            query("SAMLResponse", &xml, None, Sign::With(idp_key(), RSA_SHA1)),
            SamlRejection::WeakAlgorithm(RSA_SHA1.into()),
        ),
        (
            "ECDSA-SHA1",
            query("SAMLResponse", &xml, None, Sign::With(ec_key(), ECDSA_SHA1)),
            SamlRejection::WeakAlgorithm(ECDSA_SHA1.into()),
        ),
        (
            "RelayState changed after signing",
            replace_param(&signed, "RelayState", "back-2"),
            SamlRejection::BadSignature,
        ),
        (
            "RelayState dropped after signing",
            without_param(&signed, "RelayState"),
            SamlRejection::BadSignature,
        ),
        (
            "RelayState added after signing",
            query(
                "SAMLResponse",
                &xml,
                None,
                Sign::With(idp_key(), RSA_SHA256),
            )
            .replacen("&SigAlg=", "&RelayState=x&SigAlg=", 1),
            SamlRejection::BadSignature,
        ),
        (
            "SigAlg changed after signing",
            replace_param(&signed, "SigAlg", &url_encode(RSA_SHA512)),
            SamlRejection::BadSignature,
        ),
        (
            "message swapped after signing",
            replace_param(
                &signed,
                "SAMLResponse",
                &encode_message(&ResponseXml::valid(&sp(2)).xml()),
            ),
            SamlRejection::BadSignature,
        ),
        (
            "wrong InResponseTo",
            response_with(|r| r.in_response_to = Some("_someone-elses".into())),
            SamlRejection::UnknownInResponseTo,
        ),
        (
            "no InResponseTo",
            response_with(|r| r.in_response_to = None),
            SamlRejection::MissingInResponseTo,
        ),
        (
            "wrong Issuer",
            response_with(|r| r.issuer = Some("https://evil.test/idp".into())),
            SamlRejection::WrongIssuer,
        ),
        (
            "no Issuer",
            response_with(|r| r.issuer = None),
            SamlRejection::WrongIssuer,
        ),
        (
            "Destination of another IdP's SLO URL",
            response_with(|r| r.destination = Some(sp(2).slo_url)),
            SamlRejection::WrongDestination {
                found: sp(2).slo_url,
            },
        ),
        (
            "Destination of the ACS URL",
            response_with(|r| r.destination = Some(sp(1).acs_url)),
            SamlRejection::WrongDestination {
                found: sp(1).acs_url,
            },
        ),
        (
            "issued in the future",
            response_with(|r| r.issue_instant = now() + skew() + Duration::seconds(1)),
            SamlRejection::IssuedInFuture,
        ),
        (
            "issued too long ago",
            response_with(|r| {
                r.issue_instant = now() - MAX_RESPONSE_AGE - skew() - Duration::seconds(1)
            }),
            SamlRejection::IssuedTooLongAgo,
        ),
        (
            "Requester status",
            response_with(|r| r.status = REQUESTER.into()),
            SamlRejection::IdpStatus(REQUESTER.into()),
        ),
        (
            "Success only at the second level",
            response_with(|r| {
                r.status = RESPONDER.into();
                r.inner_status = Some(SUCCESS.into());
            }),
            SamlRejection::IdpStatus(RESPONDER.into()),
        ),
        (
            "DOCTYPE",
            response_with(|r| {
                r.prolog = r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>"#.into()
            }),
            SamlRejection::DoctypeRefused,
        ),
        (
            "comment",
            response_with(|r| r.prolog = "<!-- hi -->".into()),
            SamlRejection::CommentRefused,
        ),
        (
            "a LogoutRequest",
            query(
                "SAMLResponse",
                &RequestXml::valid(&sp(1)).xml(),
                None,
                Sign::With(idp_key(), RSA_SHA256),
            ),
            SamlRejection::NotALogoutResponse,
        ),
        (
            "a SAMLRequest parameter",
            query("SAMLRequest", &xml, None, Sign::With(idp_key(), RSA_SHA256)),
            SamlRejection::MissingParameter("SAMLResponse"),
        ),
        (
            "RelayState twice",
            format!("{signed}&RelayState=back-2"),
            SamlRejection::DuplicateParameter("RelayState".into()),
        ),
        (
            "SAMLResponse twice, the second spelled with an escape",
            format!("SAML%52esponse=x&{signed}"),
            SamlRejection::DuplicateParameter("SAMLResponse".into()),
        ),
        (
            "signed garbage instead of DEFLATE",
            query_with(
                "SAMLResponse",
                &url_encode("bm90IGRlZmxhdGU="),
                None,
                Sign::With(idp_key(), RSA_SHA256),
            ),
            SamlRejection::Malformed("not DEFLATE".into()),
        ),
    ];
    for (what, query, expected) in cases {
        assert_eq!(verify_response(&query), Err(expected), "{what}");
    }
    let not_xml = query(
        "SAMLResponse",
        "<a>",
        None,
        Sign::With(idp_key(), RSA_SHA256),
    );
    assert!(matches!(
        verify_response(&not_xml),
        Err(SamlRejection::Malformed(_))
    ));
}

#[test]
fn oversize_and_bombs_are_refused_before_anything_is_allocated() {
    // 64 MiB of spaces, deflated to about 64 KiB and signed by the IdP itself: the
    // inflate stops at the cap.
    let bomb = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        deflate(&vec![b' '; 64 << 20]),
    );
    assert!(bomb.len() < MAX_ENCODED_RESPONSE);
    for param in ["SAMLResponse", "SAMLRequest"] {
        let query = query_with(
            param,
            &url_encode(&bomb),
            None,
            Sign::With(idp_key(), RSA_SHA256),
        );
        let refusal = match param {
            "SAMLResponse" => verify_response(&query).err(),
            _ => verify_request(&query).err(),
        };
        assert_eq!(
            refusal,
            Some(SamlRejection::TooLarge {
                limit: MAX_DECODED_RESPONSE
            }),
            "{param}"
        );
    }
    // A query over the encoded limit is refused before it is even split.
    let huge = format!("SAMLResponse={}", "A".repeat(MAX_ENCODED_RESPONSE));
    assert_eq!(
        verify_response(&huge),
        Err(SamlRejection::TooLarge {
            limit: MAX_ENCODED_RESPONSE
        })
    );
}

#[test]
fn logout_messages_need_a_usable_idp_certificate() {
    let query = idp_response(&ResponseXml::valid(&sp(1)));
    for certificates in [
        vec![],
        vec!["  ".to_owned()],
        vec!["not a certificate".to_owned()],
    ] {
        let mut s = settings(&[idp_key()]);
        s.signing_certificates = certificates;
        assert_eq!(
            verify_logout_response(&s, &sp(1), &query, PENDING, now(), skew()),
            Err(SamlRejection::MissingCertificate)
        );
    }
    // The ECDSA key's signature labelled as RSA does not pass for the EC certificate.
    let xml = ResponseXml::valid(&sp(1)).xml();
    let mislabelled = query_with(
        "SAMLResponse",
        &encode_message(&xml),
        None,
        Sign::With(ec_key(), ECDSA_SHA256),
    )
    .replace(&url_encode(ECDSA_SHA256), &url_encode(RSA_SHA256));
    assert_eq!(
        verify_logout_response(
            &settings(&[ec_key()]),
            &sp(1),
            &mislabelled,
            PENDING,
            now(),
            skew()
        ),
        Err(SamlRejection::BadSignature)
    );
}

#[test]
fn a_signed_idp_logout_request_is_accepted() {
    let verified = verify_request(&idp_request(&RequestXml::valid(&sp(1)))).unwrap();
    assert_eq!(
        verified,
        IdpLogoutRequest {
            id: "_idp-request-1".into(),
            name_id: "alice@acme.test".into(),
            name_id_format: Some(EMAIL_FORMAT.into()),
            session_indexes: vec!["_s1".into()],
            relay_state: Some("idp relay/1".into()),
            // NotOnOrAfter is 10 minutes away: the IssueInstant bound comes first.
            replay_expires_at: now() + MAX_RESPONSE_AGE + skew(),
        }
    );

    let check = |mutate: fn(&mut RequestXml), indexes: &[&str]| {
        let verified = verify_request(&request_with(mutate)).unwrap();
        assert_eq!(verified.session_indexes, indexes);
    };
    check(|r| r.session_indexes = vec![], &[]);
    check(
        |r| r.session_indexes = vec!["_s1".into(), "_s2".into(), "_s3".into()],
        &["_s1", "_s2", "_s3"],
    );

    // Without NotOnOrAfter, a Format or a Destination, and with the NameID escaped.
    let verified = verify_request(&request_with(|r| {
        r.not_on_or_after = None;
        r.destination = None;
        r.subject = "<saml:NameID> bob&amp;co@acme.test </saml:NameID>".into();
    }))
    .unwrap();
    assert_eq!(verified.name_id, "bob&co@acme.test");
    assert_eq!(verified.name_id_format, None);
    assert_eq!(
        verified.replay_expires_at,
        now() + MAX_RESPONSE_AGE + skew()
    );

    // Without a RelayState none comes back.
    let query = query(
        "SAMLRequest",
        &RequestXml::valid(&sp(1)).xml(),
        None,
        Sign::With(idp_key(), RSA_SHA256),
    );
    assert_eq!(verify_request(&query).unwrap().relay_state, None);
}

#[test]
fn the_replay_bound_is_when_the_time_checks_refuse_anyway() {
    // With a NotOnOrAfter sooner than the IssueInstant bound, that one counts.
    let issued = now() - Duration::minutes(1);
    for not_on_or_after in [
        Some(issued + Duration::minutes(2)),
        Some(issued + Duration::hours(1)),
        None,
    ] {
        let query = request_with(|r| {
            r.issue_instant = issued;
            r.not_on_or_after = not_on_or_after;
        });
        let bound = verify_request(&query).unwrap().replay_expires_at;
        let expected = match not_on_or_after {
            Some(t) if t < issued + MAX_RESPONSE_AGE => t + skew(),
            _ => issued + MAX_RESPONSE_AGE + skew(),
        };
        assert_eq!(bound, expected, "{not_on_or_after:?}");
        assert!(verify_request_at(&query, bound - Duration::seconds(1)).is_ok());
        assert!(verify_request_at(&query, bound + Duration::seconds(1)).is_err());
    }
}

#[test]
fn forged_or_stale_idp_logout_requests_are_refused() {
    let xml = RequestXml::valid(&sp(1)).xml();
    let signed = idp_request(&RequestXml::valid(&sp(1)));
    let cases: Vec<(&str, String, SamlRejection)> = vec![
        (
            "unsigned",
            query("SAMLRequest", &xml, Some("r"), Sign::No),
            SamlRejection::Unsigned,
        ),
        (
            "signed by another key",
            query(
                "SAMLRequest",
                &xml,
                None,
                Sign::With(other_key(), RSA_SHA256),
            ),
            SamlRejection::BadSignature,
        ),
        (
            "RSA-SHA1",
            query("SAMLRequest", &xml, None, Sign::With(idp_key(), RSA_SHA1)),
            SamlRejection::WeakAlgorithm(RSA_SHA1.into()),
        ),
        (
            "RelayState changed after signing",
            replace_param(&signed, "RelayState", "other"),
            SamlRejection::BadSignature,
        ),
        (
            "another IdP's request",
            request_with(|r| r.issuer = Some("https://other-idp.test/metadata".into())),
            SamlRejection::WrongIssuer,
        ),
        (
            "no Issuer",
            request_with(|r| r.issuer = None),
            SamlRejection::WrongIssuer,
        ),
        (
            "addressed to another SP",
            request_with(|r| r.destination = Some(sp(2).slo_url)),
            SamlRejection::WrongDestination {
                found: sp(2).slo_url,
            },
        ),
        (
            "issued too long ago",
            request_with(|r| {
                r.issue_instant = now() - MAX_RESPONSE_AGE - skew() - Duration::seconds(1);
                r.not_on_or_after = None;
            }),
            SamlRejection::IssuedTooLongAgo,
        ),
        (
            "issued in the future",
            request_with(|r| r.issue_instant = now() + skew() + Duration::seconds(1)),
            SamlRejection::IssuedInFuture,
        ),
        (
            "NotOnOrAfter passed",
            request_with(|r| r.not_on_or_after = Some(now() - skew())),
            SamlRejection::Expired,
        ),
        (
            "EncryptedID",
            request_with(|r| {
                r.subject = concat!(
                    "<saml:EncryptedID><xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\">",
                    "</xenc:EncryptedData></saml:EncryptedID>"
                )
                .into()
            }),
            SamlRejection::EncryptedNameId,
        ),
        (
            "BaseID",
            request_with(|r| {
                r.subject = r#"<saml:BaseID xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="x"/>"#.into()
            }),
            SamlRejection::Malformed("BaseID subjects are not supported".into()),
        ),
        (
            "SAML 1.1",
            request_with(|r| r.version = "1.1".into()),
            SamlRejection::Malformed("Version is not 2.0".into()),
        ),
        (
            "no NameID",
            request_with(|r| r.subject = String::new()),
            SamlRejection::MissingSubject,
        ),
        (
            "empty NameID",
            request_with(|r| r.subject = "<saml:NameID>  </saml:NameID>".into()),
            SamlRejection::MissingSubject,
        ),
        (
            "two NameIDs",
            request_with(|r| {
                r.subject =
                    "<saml:NameID>a@acme.test</saml:NameID><saml:NameID>b@acme.test</saml:NameID>"
                        .into()
            }),
            SamlRejection::Malformed("more than one NameID".into()),
        ),
        (
            "NameID split by an element",
            request_with(|r| {
                r.subject = "<saml:NameID>admin@acme.test<x/>.evil.test</saml:NameID>".into()
            }),
            SamlRejection::Malformed("NameID holds more than text".into()),
        ),
        (
            "empty SessionIndex",
            request_with(|r| r.session_indexes = vec!["_s1".into(), " ".into()]),
            SamlRejection::Malformed("empty SessionIndex".into()),
        ),
        (
            "no ID",
            request_with(|r| r.id = None),
            SamlRejection::Malformed("no ID".into()),
        ),
        (
            "SigAlg twice",
            format!("{signed}&SigAlg={}", url_encode(RSA_SHA256)),
            SamlRejection::DuplicateParameter("SigAlg".into()),
        ),
        (
            "SAMLRequest twice",
            format!("SAMLRequest={}&{signed}", encode_message(&xml)),
            SamlRejection::DuplicateParameter("SAMLRequest".into()),
        ),
        (
            "a LogoutResponse",
            query(
                "SAMLRequest",
                &ResponseXml::valid(&sp(1)).xml(),
                None,
                Sign::With(idp_key(), RSA_SHA256),
            ),
            SamlRejection::NotALogoutRequest,
        ),
        (
            "both SAMLRequest and SAMLResponse",
            format!("SAMLResponse=x&{signed}"),
            SamlRejection::Malformed("both SAMLRequest and SAMLResponse".into()),
        ),
        (
            "no SAMLRequest",
            String::from("RelayState=x"),
            SamlRejection::MissingParameter("SAMLRequest"),
        ),
        (
            "broken percent-encoding, signed",
            query_with(
                "SAMLRequest",
                "%zz",
                None,
                Sign::With(idp_key(), RSA_SHA256),
            ),
            SamlRejection::Malformed("invalid percent-encoding".into()),
        ),
    ];
    for (what, query, expected) in cases {
        assert_eq!(verify_request(&query), Err(expected), "{what}");
    }
}

#[test]
fn arbitrary_queries_never_panic_and_are_refused() {
    let signed = idp_request(&RequestXml::valid(&sp(1)));
    let mut queries = vec![
        String::new(),
        "&&&".into(),
        "=".into(),
        "SAMLRequest".into(),
        "SAMLRequest=&Signature=&SigAlg=".into(),
        "SAMLRequest=%&SigAlg=%&Signature=%".into(),
        "SAMLRequest=%C3%28".into(),
        "?SAMLRequest=x".into(),
    ];
    // Every prefix of a genuine signed query.
    queries.extend((0..signed.len()).map(|n| signed[..n].to_owned()));
    for query in queries {
        assert!(verify_request(&query).is_err(), "{query}");
        assert!(verify_response(&query).is_err(), "{query}");
    }
}
