//! The logout messages the SP sends on the HTTP-Redirect binding: the SP-initiated
//! `LogoutRequest` and the `LogoutResponse` to an IdP's request. Each inflates to the
//! expected XML, and its signature covers exactly the parameters as sent and verifies with
//! the SP certificate.

use chrono::Duration;
use portcullis_domain::{SamlSettings, SpKeyPair};
use portcullis_sso::saml::{
    logout_request, logout_response, verify_logout_request, verify_logout_response, LogoutRedirect,
    LOGOUT_REQUEST_VALIDITY,
};
use portcullis_sso::SsoError;
use roxmltree::{Document, Node};

use crate::saml_fixture::*;
use crate::saml_logout_fixture::*;
use crate::saml_signed_requests::{other_sp_key, sp_key};

const PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

fn request(
    idp_slo_url: &str,
    key: Option<&SpKeyPair>,
    name_id: &str,
    format: Option<&str>,
    session_index: Option<&str>,
    relay_state: &str,
) -> Result<LogoutRedirect, SsoError> {
    logout_request(
        &sp(1),
        idp_slo_url,
        key,
        name_id,
        format,
        session_index,
        [0xc3; 16],
        relay_state,
        now(),
    )
}

fn response(
    in_response_to: &str,
    success: bool,
    relay_state: Option<&str>,
) -> Result<String, SsoError> {
    logout_response(
        &sp(1),
        IDP_SLO,
        sp_key(),
        in_response_to,
        success,
        [0x5a; 16],
        relay_state,
        now(),
    )
}

fn child<'a, 'input>(node: Node<'a, 'input>, ns: &str, name: &str) -> Vec<Node<'a, 'input>> {
    node.children()
        .filter(|n| n.tag_name().namespace() == Some(ns) && n.tag_name().name() == name)
        .collect()
}

fn text_of(node: Node<'_, '_>, ns: &str, name: &str) -> Option<String> {
    let found = child(node, ns, name);
    assert!(found.len() <= 1);
    found
        .first()
        .map(|n| n.text().unwrap_or_default().to_owned())
}

/// Settings under which the SP itself is the IdP: the SP's entity id as issuer and its
/// certificate as the signing certificate. The SP's messages, sent to its own SLO URL,
/// must then pass the SP's own verification.
fn sp_as_idp() -> SamlSettings {
    SamlSettings {
        idp_entity_id: sp(1).entity_id,
        signing_certificates: vec![sp_key().certificate.clone()],
        ..settings(&[idp_key()])
    }
}

#[test]
fn the_logout_request_carries_the_subject_and_verifies_with_the_sp_certificate() {
    let redirect = request(
        IDP_SLO,
        Some(sp_key()),
        "alice&co <x>@acme.test",
        Some(EMAIL_FORMAT),
        Some("_s1&\"2\""),
        "logout_1",
    )
    .unwrap();
    assert_eq!(redirect.request_id, format!("_{}", "c3".repeat(16)));
    assert!(redirect.url.starts_with(&format!("{IDP_SLO}?SAMLRequest=")));
    let params = raw_params(&redirect.url);
    assert_eq!(
        names(&params),
        ["SAMLRequest", "RelayState", "SigAlg", "Signature"]
    );
    assert_eq!(decoded(raw(&params, "RelayState")), "logout_1");

    let xml = decode_message(raw(&params, "SAMLRequest"));
    let doc = Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().namespace(), Some(PROTOCOL));
    assert_eq!(root.tag_name().name(), "LogoutRequest");
    assert_eq!(root.attribute("ID"), Some(redirect.request_id.as_str()));
    assert_eq!(root.attribute("Version"), Some("2.0"));
    assert_eq!(root.attribute("IssueInstant"), Some(ts(now()).as_str()));
    assert_eq!(
        root.attribute("NotOnOrAfter"),
        Some(ts(now() + LOGOUT_REQUEST_VALIDITY).as_str())
    );
    assert_eq!(LOGOUT_REQUEST_VALIDITY, Duration::minutes(5));
    assert_eq!(root.attribute("Destination"), Some(IDP_SLO));
    assert_eq!(
        text_of(root, ASSERTION, "Issuer"),
        Some(sp(1).entity_id.clone())
    );
    // The NameID and the SessionIndex come back exactly, escaping and all.
    let name_id = child(root, ASSERTION, "NameID");
    assert_eq!(name_id.len(), 1);
    assert_eq!(name_id[0].text(), Some("alice&co <x>@acme.test"));
    assert_eq!(name_id[0].attribute("Format"), Some(EMAIL_FORMAT));
    assert_eq!(
        text_of(root, PROTOCOL, "SessionIndex").as_deref(),
        Some("_s1&\"2\"")
    );
    // Issuer, NameID, SessionIndex: the schema's order.
    let order: Vec<_> = root
        .children()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name())
        .collect();
    assert_eq!(order, ["Issuer", "NameID", "SessionIndex"]);

    assert!(sp_signature_verifies(
        &redirect.url,
        "SAMLRequest",
        sp_key()
    ));
    // Not with another certificate, and not once the RelayState is changed.
    assert!(!sp_signature_verifies(
        &redirect.url,
        "SAMLRequest",
        other_sp_key()
    ));
    let tampered = redirect
        .url
        .replace("RelayState=logout_1", "RelayState=logout_2");
    assert_ne!(tampered, redirect.url);
    assert!(!sp_signature_verifies(&tampered, "SAMLRequest", sp_key()));

    // The SP's own verification, with the SP in the IdP's place, reads the same request.
    let own = request(
        &sp(1).slo_url,
        Some(sp_key()),
        "alice&co <x>@acme.test",
        Some(EMAIL_FORMAT),
        Some("_s1"),
        "logout_1",
    )
    .unwrap();
    let query = own.url.split_once('?').unwrap().1;
    let verified = verify_logout_request(&sp_as_idp(), &sp(1), query, now(), skew()).unwrap();
    assert_eq!(verified.id, own.request_id);
    assert_eq!(verified.name_id, "alice&co <x>@acme.test");
    assert_eq!(verified.name_id_format.as_deref(), Some(EMAIL_FORMAT));
    assert_eq!(verified.session_indexes, ["_s1"]);
    assert_eq!(verified.relay_state.as_deref(), Some("logout_1"));
}

#[test]
fn an_unsigned_logout_request_has_only_what_was_given() {
    let redirect = request(IDP_SLO, None, "alice@acme.test", None, None, "").unwrap();
    let params = raw_params(&redirect.url);
    assert_eq!(names(&params), ["SAMLRequest"]);
    let xml = decode_message(raw(&params, "SAMLRequest"));
    let doc = Document::parse(&xml).unwrap();
    let root = doc.root_element();
    let name_id = child(root, ASSERTION, "NameID");
    assert_eq!(name_id[0].text(), Some("alice@acme.test"));
    assert_eq!(name_id[0].attribute("Format"), None);
    assert!(child(root, PROTOCOL, "SessionIndex").is_empty());

    // The same request signed differs only by the signature.
    let signed = request(IDP_SLO, Some(sp_key()), "alice@acme.test", None, None, "").unwrap();
    assert_eq!(signed.url.split_once("&SigAlg=").unwrap().0, redirect.url);
    assert_eq!(
        names(&raw_params(&signed.url)),
        ["SAMLRequest", "SigAlg", "Signature"]
    );
    assert!(sp_signature_verifies(&signed.url, "SAMLRequest", sp_key()));
}

#[test]
fn parameters_of_the_idp_slo_url_stay_outside_the_signature() {
    let slo = "https://accounts.google.test/o/saml2/slo?idpid=C01abc";
    let redirect = request(slo, Some(sp_key()), "alice@acme.test", None, None, "r1").unwrap();
    assert!(
        redirect.url.starts_with(&format!("{slo}&SAMLRequest=")),
        "{}",
        redirect.url
    );
    let params = raw_params(&redirect.url);
    assert_eq!(
        names(&params),
        ["idpid", "SAMLRequest", "RelayState", "SigAlg", "Signature"]
    );
    assert!(sp_signature_verifies(
        &redirect.url,
        "SAMLRequest",
        sp_key()
    ));
}

#[test]
fn unusable_logout_request_input_is_refused() {
    let key = Some(sp_key());
    assert_eq!(
        request(IDP_SLO, key, "alice@acme.test", None, None, "user input!"),
        Err(SsoError::InvalidRelayState)
    );
    assert!(matches!(
        request(
            "javascript:alert(1)",
            key,
            "alice@acme.test",
            None,
            None,
            ""
        ),
        Err(SsoError::InvalidUrl { .. })
    ));
    for name_id in ["", "  ", "nul\0byte"] {
        assert!(
            matches!(
                request(IDP_SLO, key, name_id, None, None, ""),
                Err(SsoError::LogoutMessage(_))
            ),
            "{name_id:?}"
        );
    }
    // A private key that does not belong to the published certificate never signs.
    let mismatched = SpKeyPair {
        certificate: other_sp_key().certificate.clone(),
        ..sp_key().clone()
    };
    assert!(matches!(
        request(
            IDP_SLO,
            Some(&mismatched),
            "alice@acme.test",
            None,
            None,
            ""
        ),
        Err(SsoError::InvalidSpKey(_))
    ));
}

#[test]
fn the_logout_response_answers_the_request_and_verifies_with_the_sp_certificate() {
    // Request ids come from the IdP: whatever they hold is escaped.
    let answered = "_idp<&\"req\">";
    for (success, status) in [
        (true, "urn:oasis:names:tc:SAML:2.0:status:Success"),
        (false, "urn:oasis:names:tc:SAML:2.0:status:Responder"),
    ] {
        let url = response(answered, success, Some("idp relay/1 é&x=y")).unwrap();
        assert!(url.starts_with(&format!("{IDP_SLO}?SAMLResponse=")));
        let params = raw_params(&url);
        assert_eq!(
            names(&params),
            ["SAMLResponse", "RelayState", "SigAlg", "Signature"]
        );
        // The IdP's RelayState goes back unchanged.
        assert_eq!(decoded(raw(&params, "RelayState")), "idp relay/1 é&x=y");
        assert!(sp_signature_verifies(&url, "SAMLResponse", sp_key()));
        assert!(!sp_signature_verifies(&url, "SAMLResponse", other_sp_key()));

        let xml = decode_message(raw(&params, "SAMLResponse"));
        let doc = Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().namespace(), Some(PROTOCOL));
        assert_eq!(root.tag_name().name(), "LogoutResponse");
        assert_eq!(root.attribute("InResponseTo"), Some(answered));
        assert_eq!(
            root.attribute("ID"),
            Some(format!("_{}", "5a".repeat(16)).as_str())
        );
        assert_eq!(root.attribute("Version"), Some("2.0"));
        assert_eq!(root.attribute("IssueInstant"), Some(ts(now()).as_str()));
        assert_eq!(root.attribute("Destination"), Some(IDP_SLO));
        assert_eq!(
            text_of(root, ASSERTION, "Issuer"),
            Some(sp(1).entity_id.clone())
        );
        let statuses = child(root, PROTOCOL, "Status");
        assert_eq!(statuses.len(), 1);
        let codes = child(statuses[0], PROTOCOL, "StatusCode");
        assert_eq!(codes.len(), 1);
        assert_eq!(codes[0].attribute("Value"), Some(status));
    }

    // Without a RelayState there is none in the query.
    let url = response("_r1", true, None).unwrap();
    assert_eq!(
        names(&raw_params(&url)),
        ["SAMLResponse", "SigAlg", "Signature"]
    );
    assert!(sp_signature_verifies(&url, "SAMLResponse", sp_key()));
}

#[test]
fn the_sps_own_verification_accepts_its_logout_response() {
    let answer = |success: bool| {
        logout_response(
            &sp(1),
            &sp(1).slo_url,
            sp_key(),
            PENDING,
            success,
            [0x5a; 16],
            Some("r"),
            now(),
        )
        .unwrap()
    };
    let url = answer(true);
    let query = url.split_once('?').unwrap().1;
    let verified =
        verify_logout_response(&sp_as_idp(), &sp(1), query, PENDING, now(), skew()).unwrap();
    assert_eq!(verified.response_id, format!("_{}", "5a".repeat(16)));
    assert_eq!(verified.relay_state.as_deref(), Some("r"));

    let url = answer(false);
    let query = url.split_once('?').unwrap().1;
    assert_eq!(
        verify_logout_response(&sp_as_idp(), &sp(1), query, PENDING, now(), skew()),
        Err(portcullis_sso::saml::SamlRejection::IdpStatus(
            RESPONDER.into()
        ))
    );
}

#[test]
fn unusable_logout_response_input_is_refused() {
    assert!(matches!(
        response("", true, None),
        Err(SsoError::LogoutMessage(_))
    ));
    assert!(matches!(
        response("_r\u{1}", true, None),
        Err(SsoError::LogoutMessage(_))
    ));
    let garbage = SpKeyPair {
        private_key_pem: "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n".into(),
        ..sp_key().clone()
    };
    assert!(matches!(
        logout_response(&sp(1), IDP_SLO, &garbage, "_r1", true, [0; 16], None, now()),
        Err(SsoError::InvalidSpKey(_))
    ));
}
