//! Signed AuthnRequests over the admin API: the SP key pair is made when signing is first
//! switched on, its certificate is published and can be replaced, and no answer ever
//! carries the private key.

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use portcullis_domain::{IdpId, IdpProtocol, SpKeyPair};
use portcullis_server::state::AppState;
use portcullis_sso::saml::certificate_pem;
use serde_json::{json, Value};

use crate::admin_api::{admin_key, saml_body};
use crate::admin_fixtures::with_key;
use crate::support::env;
use crate::{app, call};

fn stored(state: &AppState, id: &str) -> (bool, Option<SpKeyPair>) {
    let id: IdpId = id.parse().unwrap();
    let idp = state.store.idp_by_id(id).unwrap().unwrap();
    let IdpProtocol::Saml(s) = idp.protocol else {
        panic!("not SAML");
    };
    (s.sign_authn_requests, s.sp_signing_key)
}

/// Fails when `text` shows any part of a private key: any of its base64 lines. Left out
/// are the short last line of a PEM (a few characters, such as `5Q==`, which turn up by
/// chance in any long base64 text) and lines that also stand in the key's certificate:
/// the key holds the public modulus too, and when its bytes fall on the same base64
/// boundaries in both, the certificate the answer rightly shows holds those lines.
pub fn assert_no_private_key(what: &str, text: &str, keys: &[SpKeyPair]) {
    assert!(!text.contains("PRIVATE KEY"), "{what}: {text}");
    for key in keys {
        for line in key
            .private_key_pem
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 16 && !key.certificate.contains(l))
        {
            assert!(!text.contains(line), "{what} shows the private key: {text}");
        }
    }
}

#[actix_web::test]
async fn sp_keys_are_made_published_rotated_and_never_shown() {
    let env = env();
    let app = app!(env);
    let key = admin_key(&env);
    let mut answers: Vec<(String, String)> = Vec::new();
    let mut keep = |what: &str, text: String| answers.push((what.to_owned(), text));

    // Created with signing on: the key pair is made, the certificate offered for upload.
    let mut body = saml_body("Okta");
    body["sign_authn_requests"] = json!(true);
    let (s, created) = call!(
        app,
        with_key(TestRequest::post().uri("/api/v1/idps").set_json(body), &key)
    );
    assert_eq!(s, StatusCode::CREATED, "{created}");
    keep("create", created.to_string());
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/idps/{id}");
    assert_eq!(created["saml"]["sign_authn_requests"], true);
    let (on, Some(first)) = stored(&env.state, &id) else {
        panic!("no SP key made");
    };
    assert!(on);
    assert_eq!(
        created["copy_into_idp"]["signing_certificate"],
        certificate_pem(&first)
    );

    // The SP metadata publishes the certificate and says requests are signed.
    let metadata_uri = format!("/sso/saml/{id}/metadata");
    let resp = test::call_service(&app, TestRequest::get().uri(&metadata_uri).to_request()).await;
    let xml = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(xml.contains(r#"AuthnRequestsSigned="true""#), "{xml}");
    assert!(xml.contains(&first.certificate), "{xml}");
    keep("metadata", xml);

    for (what, request) in [
        ("get", TestRequest::get().uri(&path)),
        ("list", TestRequest::get().uri("/api/v1/idps")),
    ] {
        let (s, b) = call!(app, with_key(request, &key));
        assert_eq!(s, StatusCode::OK, "{b}");
        keep(what, b.to_string());
    }

    // Switched off: nothing published, the key kept; on again: the same certificate.
    let patch = |sign: bool| {
        with_key(
            TestRequest::patch()
                .uri(&path)
                .set_json(json!({"sign_authn_requests": sign})),
            &key,
        )
    };
    let (s, off) = call!(app, patch(false));
    assert_eq!(s, StatusCode::OK, "{off}");
    keep("switch off", off.to_string());
    assert_eq!(off["saml"]["sign_authn_requests"], false);
    assert_eq!(off["copy_into_idp"]["signing_certificate"], Value::Null);
    assert_eq!(stored(&env.state, &id), (false, Some(first.clone())));
    let resp = test::call_service(&app, TestRequest::get().uri(&metadata_uri).to_request()).await;
    let xml = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(xml.contains(r#"AuthnRequestsSigned="false""#), "{xml}");
    assert!(!xml.contains("KeyDescriptor"), "{xml}");
    let (s, again) = call!(app, patch(true));
    assert_eq!(s, StatusCode::OK, "{again}");
    keep("switch on", again.to_string());
    assert_eq!(stored(&env.state, &id), (true, Some(first.clone())));

    // Replaced: a new key pair and certificate.
    let (s, rotated) = call!(
        app,
        with_key(
            TestRequest::post().uri(&format!("{path}/rotate-sp-key")),
            &key
        )
    );
    assert_eq!(s, StatusCode::OK, "{rotated}");
    keep("rotate", rotated.to_string());
    let (_, Some(second)) = stored(&env.state, &id) else {
        panic!("the key is gone");
    };
    assert_ne!(second.certificate, first.certificate);
    assert_ne!(second.private_key_pem, first.private_key_pem);
    assert_eq!(
        rotated["copy_into_idp"]["signing_certificate"],
        certificate_pem(&second)
    );

    // An IdP made without signing gets its key when signing is first switched on.
    let (s, plain) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/idps")
                .set_json(saml_body("Entra")),
            &key
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{plain}");
    let plain_id = plain["id"].as_str().unwrap().to_owned();
    assert_eq!(stored(&env.state, &plain_id), (false, None));
    assert_eq!(plain["copy_into_idp"]["signing_certificate"], Value::Null);
    let (s, switched) = call!(
        app,
        with_key(
            TestRequest::patch()
                .uri(&format!("/api/v1/idps/{plain_id}"))
                .set_json(json!({"sign_authn_requests": true})),
            &key
        )
    );
    assert_eq!(s, StatusCode::OK, "{switched}");
    keep("first switch on", switched.to_string());
    let (true, Some(third)) = stored(&env.state, &plain_id) else {
        panic!("no SP key made on switching on");
    };

    // Not for OIDC (refused before any discovery).
    let (s, b) = call!(
        app,
        with_key(
            TestRequest::post().uri("/api/v1/idps").set_json(json!({
                "description": "x", "sign_authn_requests": true,
                "oidc": {"issuer": "https://issuer.invalid", "client_id": "c", "client_secret": "s"}
            })),
            &key
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("only available for SAML"),
        "{b}"
    );

    let (s, audit) = call!(app, with_key(TestRequest::get().uri("/api/v1/audit"), &key));
    assert_eq!(s, StatusCode::OK, "{audit}");
    assert!(audit.to_string().contains("idp.sp_key.rotated"), "{audit}");
    keep("audit", audit.to_string());

    let keys = [first, second, third];
    for (what, text) in &answers {
        assert_no_private_key(what, text, &keys);
    }
}
