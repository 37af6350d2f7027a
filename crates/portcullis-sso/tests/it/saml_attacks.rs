//! XML-level attacks: signature wrapping (XSW1–XSW8), comment injection, DOCTYPE/XXE,
//! oversize documents and constructs no IdP sends.

use chrono::{DateTime, Duration, Utc};
use portcullis_sso::saml::{
    verify_response, Expected, SamlRejection, VerifiedAssertion, MAX_DECODED_RESPONSE,
    MAX_ENCODED_RESPONSE,
};

use crate::saml_fixture::*;

fn verify(xml: &str, now: DateTime<Utc>) -> Result<VerifiedAssertion, SamlRejection> {
    verify_b64(&b64(xml), now)
}

fn verify_b64(b64: &str, now: DateTime<Utc>) -> Result<VerifiedAssertion, SamlRejection> {
    let ids = vec!["_req1".to_owned()];
    verify_response(
        &settings(&[idp_key()]),
        idp_id(1),
        &sp(1),
        b64,
        Expected::SpInitiated {
            pending_request_ids: &ids,
        },
        now,
        Duration::seconds(60),
    )
}

/// Mallory has a genuine account at the IdP; she wants to become admin@acme.test.
fn genuine(now: DateTime<Utc>) -> Params {
    let mut p = Params::valid(&sp(1), now);
    p.name_id = "mallory@evil.test".into();
    p.attributes = vec![("email".into(), "mallory@evil.test".into())];
    p
}

fn evil(now: DateTime<Utc>) -> Params {
    let mut p = Params::valid(&sp(1), now);
    p.name_id = "admin@acme.test".into();
    p.attributes = vec![("email".into(), "admin@acme.test".into())];
    p.assertion_id = "_evil".into();
    p.sign_assertion = false;
    p
}

fn signature_of(xml: &str) -> &str {
    let start = xml.find("<ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    &xml[start..end]
}

fn without_signature(xml: &str) -> String {
    xml.replacen(signature_of(xml), "", 1)
}

/// Puts `inner` just before the closing tag of `xml`'s first `ds:Signature`.
fn inside_signature(xml: &str, inner: &str) -> String {
    xml.replacen("</ds:Signature>", &format!("{inner}</ds:Signature>"), 1)
}

/// Inserts `what` right after the first `</saml:Issuer>` of `xml`.
fn after_issuer(xml: &str, what: &str) -> String {
    xml.replacen("</saml:Issuer>", &format!("</saml:Issuer>{what}"), 1)
}

#[test]
fn signature_wrapping_never_yields_an_unsigned_identity() {
    let now = wall_clock();
    let g = genuine(now);
    let e = evil(now);
    let signed_assertion = g.assertion();
    let evil_assertion = e.assertion();

    let mut signed_response_params = g.clone();
    signed_response_params.sign_assertion = false;
    signed_response_params.sign_response = true;
    let signed_response = signed_response_params.xml();
    let response_signature = signature_of(&signed_response).to_owned();
    let assertion_signature = signature_of(&signed_assertion).to_owned();

    let mut evil_response = e.clone();
    evil_response.response_id = "_evilresp".into();
    let evil_shell = evil_response.response_around(&evil_assertion);

    let variants: Vec<(&str, String)> = vec![
        (
            "XSW1: signed response moved into the evil response's signature",
            after_issuer(
                &evil_shell,
                &inside_signature(&response_signature, &signed_response),
            ),
        ),
        (
            "XSW2: signed response as a detached sibling of the signature",
            after_issuer(
                &evil_shell,
                &format!("{signed_response}{response_signature}"),
            ),
        ),
        (
            "XSW3: evil assertion before the signed one",
            g.response_around(&format!("{evil_assertion}{signed_assertion}")),
        ),
        (
            "XSW4: signed assertion inside the evil assertion",
            g.response_around(&evil_assertion.replacen(
                "</saml:Assertion>",
                &format!("{signed_assertion}</saml:Assertion>"),
                1,
            )),
        ),
        (
            "XSW5: signature copied into the evil assertion, signed one appended",
            g.response_around(&format!(
                "{}{}",
                after_issuer(&evil_assertion, &assertion_signature),
                without_signature(&signed_assertion)
            )),
        ),
        (
            "XSW6: signed assertion inside the copied signature of the evil one",
            g.response_around(&after_issuer(
                &evil_assertion,
                &inside_signature(&assertion_signature, &without_signature(&signed_assertion)),
            )),
        ),
        (
            "XSW7: signed assertion hidden in Extensions",
            g.response_around(&format!(
                "<samlp:Extensions>{signed_assertion}</samlp:Extensions>{evil_assertion}"
            )),
        ),
        (
            "XSW8: original in a ds:Object of the copied signature",
            g.response_around(&after_issuer(
                &evil_assertion,
                &inside_signature(
                    &assertion_signature,
                    &format!(
                        "<ds:Object>{}</ds:Object>",
                        without_signature(&signed_assertion)
                    ),
                ),
            )),
        ),
        (
            "evil assertion after the signed one",
            g.response_around(&format!("{signed_assertion}{evil_assertion}")),
        ),
    ];
    for (name, xml) in variants {
        assert!(xml.contains("admin@acme.test"), "{name}: not an attack");
        match verify(&xml, now) {
            Err(_) => {}
            Ok(v) => assert_eq!(
                v.identity.email.as_str(),
                "mallory@evil.test",
                "{name}: an unsigned identity was accepted"
            ),
        }
    }
}

#[test]
fn comment_injection_in_the_name_id_is_refused() {
    // Canonicalization drops comments, so the IdP's signature over
    // `admin@acme.test.evil.test` still holds after the comment is added; a parser that
    // stops at the comment would read `admin@acme.test`.
    let now = wall_clock();
    let mut p = Params::valid(&sp(1), now);
    p.name_id = "admin@acme.test<!---->.evil.test".into();
    p.attributes = vec![("email".into(), "admin@acme.test<!---->.evil.test".into())];
    assert_eq!(
        verify(&p.xml(), now).map(|v| v.identity),
        Err(SamlRejection::CommentRefused)
    );
    // Inserted after signing, too.
    let xml = Params::valid(&sp(1), now).xml().replacen(
        ">alice@acme.test<",
        ">alice@acme.test<!---->.evil.test<",
        1,
    );
    assert_eq!(
        verify(&xml, now).map(|v| v.identity),
        Err(SamlRejection::CommentRefused)
    );
    // CDATA splits text the same way.
    let xml = Params::valid(&sp(1), now).xml().replacen(
        ">alice@acme.test<",
        "><![CDATA[alice@acme.test]]><",
        1,
    );
    assert_eq!(
        verify(&xml, now).map(|v| v.identity),
        Err(SamlRejection::UnsupportedXml("CDATA section"))
    );
}

#[test]
fn doctype_xxe_and_entity_expansion_are_refused_before_parsing() {
    let now = wall_clock();
    let xml = Params::valid(&sp(1), now).xml();
    let xxe = format!(
        r#"<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>{}"#,
        xml.replacen("Alice Liddell", "&xxe;", 1)
    );
    let remote = format!(
        r#"<!DOCTYPE r [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd">%remote;]>{xml}"#
    );
    let laughs = format!(
        r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>{}"#,
        xml.replacen("Alice Liddell", "&lol2;", 1)
    );
    let plain = format!("<!DOCTYPE samlp:Response>{xml}");
    for doc in [xxe, remote, laughs, plain] {
        assert_eq!(
            verify(&doc, now).map(|v| v.identity),
            Err(SamlRejection::DoctypeRefused)
        );
    }
}

#[test]
fn oversize_responses_are_refused() {
    let now = wall_clock();
    let mut p = Params::valid(&sp(1), now);
    p.attributes
        .push(("padding".into(), "x".repeat(MAX_DECODED_RESPONSE)));
    // Base64 grows by a third, so the form-value limit is what trips first.
    let r = verify(&p.xml(), now);
    assert!(matches!(r, Err(SamlRejection::TooLarge { .. })), "{r:?}");
    let r = verify_b64(&"A".repeat(MAX_ENCODED_RESPONSE + 4), now);
    assert_eq!(
        r.map(|v| v.identity),
        Err(SamlRejection::TooLarge {
            limit: MAX_ENCODED_RESPONSE
        })
    );
}

#[test]
fn documents_that_are_not_plain_signed_responses_are_refused() {
    let now = wall_clock();
    let p = Params::valid(&sp(1), now);
    // A bare signed assertion instead of a Response.
    assert_eq!(
        verify(&p.assertion(), now).map(|v| v.identity),
        Err(SamlRejection::NotAResponse)
    );
    // An encrypted assertion.
    let encrypted = p.response_around(
        r#"<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>"#,
    );
    let signed = after_issuer(&encrypted, signature_of(&p.assertion()));
    assert_eq!(
        verify(&signed, now).map(|v| v.identity),
        Err(SamlRejection::EncryptedAssertion)
    );
    // A processing instruction.
    let pi = p
        .xml()
        .replacen("<saml:Subject>", "<?evil x?><saml:Subject>", 1);
    assert_eq!(
        verify(&pi, now).map(|v| v.identity),
        Err(SamlRejection::UnsupportedXml("processing instruction"))
    );
    // Garbage.
    assert!(matches!(
        verify("<samlp:Response", now),
        Err(SamlRejection::Malformed(_))
    ));
}

#[test]
fn rejection_reasons_are_stable_and_distinct() {
    let all = [
        SamlRejection::TooLarge { limit: 1 },
        SamlRejection::Malformed(String::new()),
        SamlRejection::DoctypeRefused,
        SamlRejection::CommentRefused,
        SamlRejection::UnsupportedXml(""),
        SamlRejection::NotAResponse,
        SamlRejection::EncryptedAssertion,
        SamlRejection::MissingCertificate,
        SamlRejection::Unsigned,
        SamlRejection::WeakAlgorithm(String::new()),
        SamlRejection::BadSignature,
        SamlRejection::MissingDestination,
        SamlRejection::WrongDestination {
            found: String::new(),
        },
        SamlRejection::WrongIssuer,
        SamlRejection::IdpStatus(String::new()),
        SamlRejection::IssuedInFuture,
        SamlRejection::IssuedTooLongAgo,
        SamlRejection::Expired,
        SamlRejection::NotYetValid,
        SamlRejection::MissingExpiry,
        SamlRejection::MissingAudience,
        SamlRejection::WrongAudience,
        SamlRejection::MissingSubjectConfirmation,
        SamlRejection::WrongRecipient,
        SamlRejection::MissingInResponseTo,
        SamlRejection::UnknownInResponseTo,
        SamlRejection::UnsolicitedNotAllowed,
        SamlRejection::UnsolicitedWithInResponseTo,
        SamlRejection::MissingSubject,
        SamlRejection::MissingEmail,
        SamlRejection::InvalidEmail,
    ];
    let mut reasons: Vec<&str> = all.iter().map(SamlRejection::reason).collect();
    assert_eq!(SamlRejection::Expired.reason(), "saml_expired");
    reasons.sort_unstable();
    reasons.dedup();
    assert_eq!(reasons.len(), all.len());
}

#[test]
fn skew_is_honoured_for_small_clock_differences() {
    let now = wall_clock();
    // Issued 30 s "in the future" by an IdP whose clock runs ahead: within the skew.
    let mut p = Params::valid(&sp(1), now);
    p.response_issue_instant = now + Duration::seconds(30);
    p.assertion_issue_instant = now + Duration::seconds(30);
    assert!(verify(&p.xml(), now).is_ok());
}
