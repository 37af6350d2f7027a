//! Encrypted assertions over the admin API: `encrypted_assertions` off, accept or
//! require; the SP encryption key pair made when it is first switched on, published in the
//! SP metadata and the answers, rotated keeping the replaced key for 7 days, never shown;
//! refused for OIDC, for unknown values, without a key to rotate, and across accounts (`admin_api`) and with a SCIM-only key (`scopes`).

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use chrono::Utc;
use portcullis_domain::{AssertionEncryption, IdpId, IdpProtocol, SpEncryptionKeys};
use portcullis_server::state::AppState;
use portcullis_sso::saml::certificate_pem;
use serde_json::{json, Value};

use crate::admin_api::{admin_key, saml_body};
use crate::admin_fixtures::with_key;
use crate::admin_sp_keys::assert_no_private_key;
use crate::support::env;
use crate::{app, call};

fn stored(state: &AppState, id: &str) -> (AssertionEncryption, Option<SpEncryptionKeys>) {
    let id: IdpId = id.parse().unwrap();
    let idp = state.store.idp_by_id(id).unwrap().unwrap();
    let IdpProtocol::Saml(s) = idp.protocol else {
        panic!("not SAML");
    };
    (s.encrypted_assertions, s.sp_encryption_keys)
}

#[actix_web::test]
async fn encryption_keys_are_made_published_rotated_and_never_shown() {
    let env = env();
    let app = app!(env);
    let key = admin_key(&env);
    let metadata = |id: &str| TestRequest::get().uri(&format!("/sso/saml/{id}/metadata"));
    let public = env.state.config.public_url.trim_end_matches('/').to_owned();

    let mut body = saml_body("Okta");
    body["encrypted_assertions"] = json!("require");
    let (s, created) = call!(
        app,
        with_key(TestRequest::post().uri("/api/v1/idps").set_json(body), &key)
    );
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (mode, Some(first)) = stored(&env.state, &id) else {
        panic!("no encryption key made");
    };
    assert_eq!(mode, AssertionEncryption::Require);
    assert_eq!(created["saml"]["encrypted_assertions"], "require");
    assert_eq!(
        created["copy_into_idp"]["encryption_certificate"],
        certificate_pem(&first.current)
    );
    assert_eq!(
        created["copy_into_idp"]["slo_url"],
        format!("{public}/sso/saml/{id}/slo")
    );
    let resp = test::call_service(&app, metadata(&id).to_request()).await;
    let xml = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(
        xml.contains(r#"<md:KeyDescriptor use="encryption">"#),
        "{xml}"
    );
    assert!(xml.contains(&first.current.certificate), "{xml}");
    assert!(xml.contains("xmlenc11#aes256-gcm"), "{xml}");
    assert!(
        xml.contains(&format!(
            r#"<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{public}/sso/saml/{id}/slo"/>"#
        )),
        "{xml}"
    );

    // Off: nothing published, the key kept; accept: the same certificate again.
    let patch = |mode: &str| {
        with_key(
            TestRequest::patch()
                .uri(&format!("/api/v1/idps/{id}"))
                .set_json(json!({"encrypted_assertions": mode})),
            &key,
        )
    };
    let (s, off) = call!(app, patch("off"));
    assert_eq!(s, StatusCode::OK, "{off}");
    assert_eq!(off["copy_into_idp"]["encryption_certificate"], Value::Null);
    let resp = test::call_service(&app, metadata(&id).to_request()).await;
    let xml = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(!xml.contains("KeyDescriptor"), "{xml}");
    let (s, accept) = call!(app, patch("accept"));
    assert_eq!(s, StatusCode::OK, "{accept}");
    assert_eq!(
        stored(&env.state, &id),
        (AssertionEncryption::Accept, Some(first.clone()))
    );

    // Rotated: a new pair published, the replaced one decrypting for 7 days more.
    let before = Utc::now();
    let (s, rotated) = call!(
        app,
        with_key(
            TestRequest::post().uri(&format!("/api/v1/idps/{id}/rotate-sp-encryption-key")),
            &key
        )
    );
    assert_eq!(s, StatusCode::OK, "{rotated}");
    let (_, Some(second)) = stored(&env.state, &id) else {
        panic!("the keys are gone");
    };
    assert_ne!(second.current, first.current);
    let (previous, until) = second.previous.clone().unwrap();
    assert_eq!(previous, first.current);
    assert!(until >= before + chrono::Duration::days(7), "{until}");
    assert!(until <= Utc::now() + chrono::Duration::days(7), "{until}");
    assert_eq!(
        rotated["copy_into_idp"]["encryption_certificate"],
        certificate_pem(&second.current)
    );
    assert!(
        rotated["saml"]["previous_encryption_key_until"].is_string(),
        "{rotated}"
    );
    let idp = env
        .state
        .store
        .idp_by_id(id.parse().unwrap())
        .unwrap()
        .unwrap();
    let IdpProtocol::Saml(settings) = &idp.protocol else {
        unreachable!()
    };
    assert_eq!(settings.decryption_keys(Utc::now()).len(), 2);
    assert_eq!(settings.decryption_keys(until).len(), 1);

    // No answer shows a private key.
    let pairs = [first.current.clone(), second.current.clone()];
    for (what, text) in [
        ("create", &created),
        ("rotate", &rotated),
        ("accept", &accept),
    ] {
        assert_no_private_key(what, &text.to_string(), &pairs);
    }

    let (s, audit) = call!(app, with_key(TestRequest::get().uri("/api/v1/audit"), &key));
    assert_eq!(s, StatusCode::OK, "{audit}");
    assert!(
        audit.to_string().contains("idp.sp_encryption_key.rotated"),
        "{audit}"
    );
}

#[actix_web::test]
async fn encryption_settings_are_refused_where_they_do_not_apply() {
    let env = env();
    let app = app!(env);
    let key = admin_key(&env);

    // An unknown value is a JSON error, and nothing is made.
    let mut body = saml_body("Okta");
    body["encrypted_assertions"] = json!("sometimes");
    let (s, b) = call!(
        app,
        with_key(TestRequest::post().uri("/api/v1/idps").set_json(body), &key)
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    // Not for OIDC (refused before any discovery).
    let (s, b) = call!(
        app,
        with_key(
            TestRequest::post().uri("/api/v1/idps").set_json(json!({
                "description": "x", "encrypted_assertions": "accept",
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

    // Nothing to rotate while encryption was never on.
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
    let id = plain["id"].as_str().unwrap().to_owned();
    assert_eq!(plain["saml"]["encrypted_assertions"], "off");
    let rotate = format!("/api/v1/idps/{id}/rotate-sp-encryption-key");
    let (s, b) = call!(app, with_key(TestRequest::post().uri(&rotate), &key));
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(stored(&env.state, &id), (AssertionEncryption::Off, None));
}
