//! Identity providers over the admin API: SAML from pasted metadata, from a URL (with
//! refresh keeping the last good copy) and by hand; OIDC checked by discovery against a
//! local issuer; the client secret never shown; IdP-initiated refused for OIDC.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::admin_api::{admin_key, saml_body};
use crate::admin_fixtures::{idp_key, saml_metadata, with_key, StaticServer};
use crate::support::{env, TestEnv};
use crate::{app, call};

/// An environment whose IdP HTTP client may reach 127.0.0.1.
fn local_env() -> TestEnv {
    let mut env = env();
    let mut config = (*env.state.config).clone();
    config.sso_allow_private_addresses = true;
    env.state.config = Arc::new(config);
    env
}

#[actix_web::test]
async fn saml_from_metadata_and_by_hand() {
    let env = env();
    let app = app!(env);
    let key = admin_key(&env);
    let post = |body: Value| with_key(TestRequest::post().uri("/api/v1/idps").set_json(body), &key);
    let (s, idp) = call!(app, post(saml_body("Okta")));
    assert_eq!(s, StatusCode::CREATED, "{idp}");
    let id = idp["id"].as_str().unwrap();
    assert_eq!(idp["saml"]["entity_id"], "https://idp.example.test/entity");
    assert_eq!(
        idp["saml"]["sso_url"],
        "https://idp.example.test/sso/redirect"
    );
    let public = &env.state.config.public_url;
    assert_eq!(
        idp["copy_into_idp"]["acs_url"],
        format!("{public}/sso/saml/{id}/acs")
    );
    assert_eq!(
        idp["copy_into_idp"]["entity_id"],
        format!("{public}/sso/saml/{id}/metadata")
    );
    assert_eq!(
        idp["copy_into_idp"]["metadata_url"],
        format!("{public}/sso/saml/{id}/metadata")
    );

    // Refusals: no signing certificate, a DOCTYPE, garbage, neither protocol, both.
    for (body, needle) in [
        (
            json!({"description": "x", "saml": {"metadata_xml": saml_metadata("e", "")}}),
            "signing certificate",
        ),
        (
            json!({"description": "x", "saml": {"metadata_xml": format!("<!DOCTYPE x>{}", saml_metadata("e", &idp_key().cert_b64))}}),
            "DOCTYPE",
        ),
        (
            json!({"description": "x", "saml": {"metadata_xml": "<nope"}}),
            "metadata",
        ),
        (json!({"description": "x"}), "exactly one"),
        (
            json!({"description": "x", "saml": {}, "oidc": {}}),
            "exactly one",
        ),
        (
            json!({"description": " ", "saml": {"metadata_xml": saml_metadata("e", &idp_key().cert_b64)}}),
            "description",
        ),
        (
            json!({"description": "x", "saml": {"entity_id": "e", "sso_url": "https://idp.test/sso", "certificates": ["not a cert"]}}),
            "certificate",
        ),
        (
            json!({"description": "x", "saml": {"entity_id": "e", "sso_url": "http://idp.test/sso", "certificates": [idp_key().cert_pem]}}),
            "URL",
        ),
    ] {
        let (s, b) = call!(app, post(body.clone()));
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {b}");
        assert!(
            b["message"].as_str().unwrap().contains(needle),
            "{needle}: {b}"
        );
    }

    // By hand, with a PEM certificate and IdP-initiated on.
    let (s, manual) = call!(
        app,
        post(
            json!({"description": "Entra", "idp_initiated": true, "saml": {
        "entity_id": "https://sts.windows.net/t/", "sso_url": "https://login.microsoftonline.com/t/saml2",
        "certificates": [idp_key().cert_pem]}})
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{manual}");
    assert_eq!(manual["saml"]["idp_initiated"], true);
    assert_eq!(
        manual["saml"]["certificates"][0],
        idp_key().cert_b64.as_str()
    );
    let path = format!("/api/v1/idps/{}", manual["id"].as_str().unwrap());
    let (s, b) = call!(
        app,
        with_key(
            TestRequest::patch()
                .uri(&path)
                .set_json(json!({"idp_initiated": false, "description": "Entra ID"})),
            &key
        )
    );
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["saml"]["idp_initiated"], false);
    assert_eq!(b["description"], "Entra ID");
    let (s, b) = call!(
        app,
        with_key(
            TestRequest::patch()
                .uri(&path)
                .set_json(json!({"oidc": {"client_id": "x"}})),
            &key
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (_, list) = call!(app, with_key(TestRequest::get().uri("/api/v1/idps"), &key));
    assert_eq!(list["idps"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn saml_metadata_urls_are_fetched_refreshed_and_kept_on_failure() {
    let server = StaticServer::start();
    server.serve(
        "/metadata",
        200,
        "application/xml",
        &saml_metadata("https://first.test/e", &idp_key().cert_b64),
    );
    let url = format!("{}/metadata", server.base);

    // Without the private-address allowance, loopback URLs are refused.
    let mut strict = env();
    let mut config = (*strict.state.config).clone();
    config.sso_allow_private_addresses = false;
    strict.state.config = Arc::new(config);
    let app = app!(strict);
    let key = admin_key(&strict);
    let (s, b) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/idps")
                .set_json(json!({"description": "x", "saml": {"metadata_url": url}})),
            &key
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    let env = local_env();
    let app = app!(env);
    let key = admin_key(&env);
    let (s, idp) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/idps")
                .set_json(json!({"description": "Okta", "saml": {"metadata_url": url}})),
            &key
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{idp}");
    assert_eq!(idp["saml"]["entity_id"], "https://first.test/e");
    assert_eq!(idp["saml"]["metadata_url"], url.as_str());
    let refresh = format!(
        "/api/v1/idps/{}/refresh-metadata",
        idp["id"].as_str().unwrap()
    );

    server.serve(
        "/metadata",
        200,
        "application/xml",
        &saml_metadata("https://second.test/e", &idp_key().cert_b64),
    );
    let (s, b) = call!(app, with_key(TestRequest::post().uri(&refresh), &key));
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["saml"]["entity_id"], "https://second.test/e");

    for (status, body) in [
        (500, "oops".to_owned()),
        (200, saml_metadata("https://third.test/e", "")),
    ] {
        server.serve("/metadata", status, "application/xml", &body);
        let (s, b) = call!(app, with_key(TestRequest::post().uri(&refresh), &key));
        assert_eq!(s, StatusCode::CONFLICT, "{b}");
        assert!(
            b["message"].as_str().unwrap().contains("last good copy"),
            "{b}"
        );
        let (_, now) = call!(
            app,
            with_key(
                TestRequest::get().uri(&refresh.replace("/refresh-metadata", "")),
                &key
            )
        );
        assert_eq!(now["saml"]["entity_id"], "https://second.test/e");
    }
    // The scheduled round refreshes it once the IdP answers well again.
    server.serve(
        "/metadata",
        200,
        "application/xml",
        &saml_metadata("https://fourth.test/e", &idp_key().cert_b64),
    );
    assert_eq!(
        portcullis_app::idps::refresh_all(&env.state, &env.state.http_policy())
            .await
            .unwrap(),
        1
    );
}

#[actix_web::test]
async fn oidc_is_discovered_and_its_secret_never_shown() {
    let server = StaticServer::start();
    server.serve_openid();
    let env = local_env();
    let app = app!(env);
    let key = admin_key(&env);
    let secret = "very-secret-client-secret-7731";
    let body = |issuer: &str, idp_initiated: Option<bool>| {
        let mut b = json!({"description": "Google", "oidc": {"issuer": issuer, "client_id": "cid", "client_secret": secret}});
        if let Some(v) = idp_initiated {
            b["idp_initiated"] = json!(v);
        }
        b
    };
    let post = |b: Value| with_key(TestRequest::post().uri("/api/v1/idps").set_json(b), &key);
    let (s, b) = call!(app, post(body(&server.base, Some(true))));
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("only available for SAML"),
        "{b}"
    );
    let (s, b) = call!(app, post(body(&format!("{}/other", server.base), None)));
    assert_eq!(s, StatusCode::BAD_REQUEST, "discovery must fail: {b}");
    let (s, idp) = call!(app, post(body(&server.base, None)));
    assert_eq!(s, StatusCode::CREATED, "{idp}");
    let id = idp["id"].as_str().unwrap();
    assert_eq!(idp["oidc"]["client_secret_set"], true);
    assert_eq!(
        idp["copy_into_idp"]["redirect_uri"],
        format!("{}/sso/oidc/{id}/callback", env.state.config.public_url)
    );
    let path = format!("/api/v1/idps/{id}");
    let (s, b) = call!(
        app,
        with_key(
            TestRequest::patch()
                .uri(&path)
                .set_json(json!({"idp_initiated": true})),
            &key
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    // The stored secret belongs to the issuer and client it was given for: changing
    // either without a new secret is refused (it would go to the new token endpoint).
    for change in [
        json!({"oidc": {"client_id": "cid2", "scopes": ["email"]}}),
        json!({"oidc": {"issuer": format!("{}/", server.base)}}),
    ] {
        let (s, b) = call!(
            app,
            with_key(
                TestRequest::patch().uri(&path).set_json(change.clone()),
                &key
            )
        );
        assert_eq!(s, StatusCode::BAD_REQUEST, "{change}: {b}");
        assert_eq!(
            b["message"],
            "client_secret is required when the issuer or client id changes"
        );
    }
    let (s, updated) = call!(
        app,
        with_key(
            TestRequest::patch()
                .uri(&path)
                .set_json(json!({"oidc": {"scopes": ["email"]}})),
            &key
        )
    );
    assert_eq!(s, StatusCode::OK, "{updated}");
    assert_eq!(updated["oidc"]["scopes"], json!(["email"]));
    // The secret was kept though not sent again.
    let stored = env
        .state
        .store
        .idp(env.admin.account.id, id.parse().unwrap())
        .unwrap()
        .unwrap();
    match stored.protocol {
        portcullis_domain::IdpProtocol::Oidc(o) => assert_eq!(o.client_secret, secret),
        other => panic!("{other:?}"),
    }
    // With a new secret, the client id may change.
    let (s, moved) = call!(
        app,
        with_key(
            TestRequest::patch().uri(&path).set_json(
                json!({"oidc": {"client_id": "cid2", "client_secret": "another-secret-of-cid2"}})
            ),
            &key
        )
    );
    assert_eq!(s, StatusCode::OK, "{moved}");
    assert_eq!(moved["oidc"]["client_id"], "cid2");
    let (_, one) = call!(app, with_key(TestRequest::get().uri(&path), &key));
    let (_, list) = call!(app, with_key(TestRequest::get().uri("/api/v1/idps"), &key));
    let (_, audit) = call!(app, with_key(TestRequest::get().uri("/api/v1/audit"), &key));
    for answer in [&idp, &updated, &one, &list, &audit] {
        assert!(
            !answer.to_string().contains(secret),
            "the client secret leaked: {answer}"
        );
    }
}
