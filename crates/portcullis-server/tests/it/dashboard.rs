//! The dashboard's settings pages over HTTP: who may see them, CSRF on every form, and
//! the domain's refusals shown as readable messages on the page (never JSON).

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use serde_json::json;
use serde_json::Value;

use crate::admin_api::{add_person, session};
use crate::admin_fixtures::{idp_key, saml_metadata};
use crate::support::env;
use crate::{app, sign_in};
use portcullis_domain::Role;

/// Sends a request and returns the status, the Location header and the body text.
#[macro_export]
macro_rules! fetch {
    ($app:expr, $req:expr) => {{
        let resp = actix_web::test::call_service(&$app, $req.to_request()).await;
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let ctype = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = String::from_utf8(actix_web::test::read_body(resp).await.to_vec()).unwrap();
        (status, location, ctype, body)
    }};
}

pub fn form(uri: &str, cookie: &str, fields: &[(&str, &str)]) -> TestRequest {
    session(TestRequest::post().uri(uri), cookie).set_form(fields)
}

#[actix_web::test]
async fn only_signed_in_admins_see_settings() {
    let env = env();
    let app = app!(env);
    for section in [
        "sso",
        "scim",
        "members",
        "domains",
        "role-rules",
        "webhooks",
        "api-keys",
        "setup-links",
        "ip-restrictions",
        "audit",
    ] {
        let uri = format!("/a/default/settings/{section}");
        let (s, location, _, _) = fetch!(app, TestRequest::get().uri(&uri));
        assert_eq!(s, StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(location.as_deref(), Some("/a/default/login"));
    }
    add_person(
        &env,
        "m@acme.test",
        Role::Member,
        "a member's long passphrase",
    );
    let (cookie, _) = sign_in!(app, "m@acme.test", "a member's long passphrase");
    let (s, _, ctype, body) = fetch!(
        app,
        session(TestRequest::get().uri("/a/default/settings/sso"), &cookie)
    );
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(body.contains("only account admins"), "{body}");

    let (cookie, _) = sign_in!(app, "admin@localhost", &env.admin.password);
    let (s, _, _, home) = fetch!(app, session(TestRequest::get().uri("/a/default/"), &cookie));
    assert_eq!(s, StatusCode::OK);
    for section in [
        "sso",
        "scim",
        "members",
        "domains",
        "role-rules",
        "webhooks",
        "api-keys",
        "ip-restrictions",
        "audit",
    ] {
        assert!(
            home.contains(&format!("/a/default/settings/{section}")),
            "home links {section}"
        );
        let uri = format!("/a/default/settings/{section}");
        let (s, _, _, body) = fetch!(app, session(TestRequest::get().uri(&uri), &cookie));
        assert_eq!(s, StatusCode::OK, "{uri}: {body}");
        assert!(!body.contains("<script"), "no JavaScript on {uri}");
        assert!(!body.contains("style="), "no inline style on {uri}");
    }
    // Another account's pages send the admin to that account's login.
    crate::support::ops::create_account(
        &env.state.store,
        "other",
        "Other",
        "o@other.test",
        chrono::Utc::now(),
    )
    .unwrap();
    let (s, location, _, _) = fetch!(
        app,
        session(TestRequest::get().uri("/a/other/settings/sso"), &cookie)
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/a/other/login"));
}

#[actix_web::test]
async fn sso_settings_forms_and_refusals() {
    let env = env();
    let app = app!(env);
    let (cookie, csrf) = sign_in!(app, "admin@localhost", &env.admin.password);
    let metadata = saml_metadata("https://idp.example.test/entity", &idp_key().cert_b64);
    let add = |csrf: &str| {
        form(
            "/a/default/settings/sso/saml",
            &cookie,
            &[
                ("csrf", csrf),
                ("description", "Okta"),
                ("metadata_xml", &metadata),
            ],
        )
    };
    let (s, _, ctype, body) = fetch!(app, add("forged"));
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        ctype.starts_with("text/html") && body.contains("form expired"),
        "{body}"
    );
    assert!(env
        .state
        .store
        .list_idps(env.admin.account.id)
        .unwrap()
        .is_empty());

    let (s, location, _, _) = fetch!(app, add(&csrf));
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/a/default/settings/sso?done=idp-added")
    );
    let idp = env
        .state
        .store
        .list_idps(env.admin.account.id)
        .unwrap()
        .remove(0);
    let (_, _, _, page) = fetch!(
        app,
        session(
            TestRequest::get().uri("/a/default/settings/sso?done=idp-added"),
            &cookie
        )
    );
    assert!(page.contains("The identity provider was added."));
    assert!(
        page.contains(&format!("/sso/saml/{}/acs", idp.id)),
        "ACS URL shown"
    );
    assert!(
        page.contains(&format!("/sso/saml/{}/metadata", idp.id)),
        "SP metadata URL shown"
    );

    // Bad metadata: a readable message on the page, and the form again.
    let (s, _, ctype, body) = fetch!(
        app,
        form(
            "/a/default/settings/sso/saml",
            &cookie,
            &[
                ("csrf", &csrf),
                ("description", "Bad"),
                ("metadata_xml", &saml_metadata("e", ""))
            ]
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(ctype.starts_with("text/html"));
    assert!(
        body.contains("signing certificate") && body.contains("Add a SAML identity provider"),
        "{body}"
    );
    assert!(!body.trim_start().starts_with('{'));

    // Enforcing needs the confirmation, then an SSO sign-in this session.
    let policy = |fields: &[(&str, &str)]| form("/a/default/settings/sso/policy", &cookie, fields);
    let (s, _, _, body) = fetch!(
        app,
        policy(&[
            ("csrf", &csrf),
            ("enforcement", "enforced"),
            ("provisioning", "invite")
        ])
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("confirmation box"), "{body}");
    let (s, _, _, body) = fetch!(
        app,
        policy(&[
            ("csrf", &csrf),
            ("enforcement", "enforced"),
            ("provisioning", "invite"),
            ("confirm", "on")
        ])
    );
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        body.contains("sign in through one of the account"),
        "{body}"
    );
    let (s, _, _, _) = fetch!(
        app,
        policy(&[
            ("csrf", &csrf),
            ("enforcement", "mixed"),
            ("provisioning", "just_in_time")
        ])
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    let account = env
        .state
        .store
        .account(env.admin.account.id)
        .unwrap()
        .unwrap();
    assert_eq!(
        account.provisioning,
        portcullis_domain::ProvisioningMode::JustInTime
    );

    // Edit: disable, then delete.
    let base = format!("/a/default/settings/sso/idps/{}", idp.id);
    let (s, _, _, _) = fetch!(
        app,
        form(
            &base,
            &cookie,
            &[("csrf", &csrf), ("description", "Okta (old)")]
        )
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    let stored = env
        .state
        .store
        .idp(env.admin.account.id, idp.id)
        .unwrap()
        .unwrap();
    assert!(!stored.enabled && stored.description == "Okta (old)");
    let (s, _, _, _) = fetch!(
        app,
        form(&format!("{base}/delete"), &cookie, &[("csrf", &csrf)])
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(env
        .state
        .store
        .list_idps(env.admin.account.id)
        .unwrap()
        .is_empty());
}

#[actix_web::test]
async fn scim_panel_makes_a_bot_key_shown_once() {
    let env = env();
    let app = app!(env);
    let (cookie, csrf) = sign_in!(app, "admin@localhost", &env.admin.password);
    let (_, _, _, page) = fetch!(
        app,
        session(
            TestRequest::get().uri("/a/default/settings/scim?setup=1"),
            &cookie
        )
    );
    assert!(page.contains("bots are never deactivated"), "{page}");
    let on = || {
        form(
            "/a/default/settings/scim",
            &cookie,
            &[
                ("csrf", &csrf),
                ("description", "Okta SCIM"),
                ("owner", "new-bot"),
                ("bot_name", "okta-scim"),
            ],
        )
    };
    let (s, _, _, body) = fetch!(app, on());
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        body.contains("configure a single sign-on identity provider"),
        "{body}"
    );
    assert!(
        env.state
            .store
            .list_api_keys(env.admin.account.id)
            .unwrap()
            .is_empty(),
        "a refusal leaves no key"
    );

    let metadata = saml_metadata("https://idp.example.test/entity", &idp_key().cert_b64);
    fetch!(
        app,
        form(
            "/a/default/settings/sso/saml",
            &cookie,
            &[
                ("csrf", &csrf),
                ("description", "Okta"),
                ("metadata_xml", &metadata)
            ]
        )
    );
    let (s, _, _, body) = fetch!(app, on());
    assert_eq!(s, StatusCode::OK, "{body}");
    let secret = body
        .split("value=\"pcl_")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let secret = format!("pcl_{secret}");
    assert!(body.contains("/scim/v2"), "SCIM base URL shown");
    let keys = env.state.store.list_api_keys(env.admin.account.id).unwrap();
    assert_eq!(keys.len(), 1);
    let owner = env
        .state
        .store
        .user(env.admin.account.id, keys[0].owner)
        .unwrap()
        .unwrap();
    assert!(owner.is_bot());
    // The key is for SCIM only: it provisions, and the admin API refuses it.
    assert_eq!(
        keys[0].scopes,
        portcullis_domain::Scopes::only(portcullis_domain::Scope::Scim)
    );
    let scim = test::call_service(
        &app,
        crate::admin_fixtures::with_key(TestRequest::get().uri("/scim/v2/Users"), &secret)
            .to_request(),
    )
    .await;
    assert_eq!(scim.status(), StatusCode::OK);
    let (s, _) = crate::call!(
        app,
        crate::admin_fixtures::with_key(TestRequest::get().uri("/api/v1/account"), &secret)
    );
    assert_eq!(s, StatusCode::FORBIDDEN);
    let account = env
        .state
        .store
        .account(env.admin.account.id)
        .unwrap()
        .unwrap();
    assert_eq!(account.provisioning.as_str(), "scim");
    // The secret is never shown again.
    for section in ["scim", "api-keys"] {
        let (_, _, _, page) = fetch!(
            app,
            session(
                TestRequest::get().uri(&format!("/a/default/settings/{section}")),
                &cookie
            )
        );
        assert!(!page.contains(&secret), "{section} shows the secret again");
    }
    let _: Value = json!(null);
}

#[actix_web::test]
async fn keys_ip_restrictions_members_and_audit_pages() {
    let env = env();
    let app = app!(env);
    let (cookie, csrf) = sign_in!(app, "admin@localhost", &env.admin.password);
    let (s, _, _, body) = fetch!(
        app,
        form(
            "/a/default/settings/ip-restrictions",
            &cookie,
            &[("csrf", &csrf), ("ranges", "203.0.113.0/24\n10.0.0.0/33")]
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("10.0.0.0/33"), "{body}");
    let (s, _, _, _) = fetch!(
        app,
        form(
            "/a/default/settings/ip-restrictions",
            &cookie,
            &[
                ("csrf", &csrf),
                ("ranges", "203.0.113.0/24\n\n2001:db8::/32")
            ]
        )
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    let account = env
        .state
        .store
        .account(env.admin.account.id)
        .unwrap()
        .unwrap();
    assert_eq!(account.api_ip_restrictions.ranges().len(), 2);

    let admin_id = env.admin.admin.id.to_string();
    let (s, _, _, body) = fetch!(
        app,
        form(
            "/a/default/settings/api-keys",
            &cookie,
            &[("csrf", &csrf), ("description", "CI"), ("owner", &admin_id)]
        )
    );
    // A key needs a scope.
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("choose at least one scope"), "{body}");
    assert!(env
        .state
        .store
        .list_api_keys(env.admin.account.id)
        .unwrap()
        .is_empty());
    let (s, _, _, body) = fetch!(
        app,
        form(
            "/a/default/settings/api-keys",
            &cookie,
            &[
                ("csrf", &csrf),
                ("description", "CI"),
                ("owner", &admin_id),
                ("scope_admin", "on")
            ]
        )
    );
    assert_eq!(s, StatusCode::OK);
    let made = env.state.store.list_api_keys(env.admin.account.id).unwrap();
    assert_eq!(
        made[0].scopes,
        portcullis_domain::Scopes::only(portcullis_domain::Scope::Admin)
    );
    assert!(
        body.contains("shown only this once") && body.contains("value=\"pcl_"),
        "{body}"
    );
    let key = env
        .state
        .store
        .list_api_keys(env.admin.account.id)
        .unwrap()
        .remove(0);
    let (s, _, _, _) = fetch!(
        app,
        form(
            &format!("/a/default/settings/api-keys/{}/revoke", key.id),
            &cookie,
            &[("csrf", &csrf)]
        )
    );
    assert_eq!(s, StatusCode::SEE_OTHER);

    let (s, _, _, body) = fetch!(
        app,
        form(
            &format!("/a/default/settings/members/{admin_id}"),
            &cookie,
            &[("csrf", &csrf), ("active", "false")]
        )
    );
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("last active admin"), "{body}");
    let (_, _, _, audit) = fetch!(
        app,
        session(TestRequest::get().uri("/a/default/settings/audit"), &cookie)
    );
    assert!(
        audit.contains("api_key.revoked") && audit.contains("account.ip_restrictions.changed"),
        "{audit}"
    );
    assert!(
        audit.contains("198.51.100.4"),
        "the client address is recorded"
    );
}

#[actix_web::test]
async fn sso_settings_sign_authn_requests() {
    let env = env();
    let app = app!(env);
    let (cookie, csrf) = sign_in!(app, "admin@localhost", &env.admin.password);
    let metadata = saml_metadata("https://idp.example.test/entity", &idp_key().cert_b64);
    let sp_key = || {
        let idp = env
            .state
            .store
            .list_idps(env.admin.account.id)
            .unwrap()
            .remove(0);
        match idp.protocol {
            portcullis_domain::IdpProtocol::Saml(s) => {
                (idp.id, s.sign_authn_requests, s.sp_signing_key)
            }
            _ => panic!("not SAML"),
        }
    };
    let (s, _, _, _) = fetch!(
        app,
        form(
            "/a/default/settings/sso/saml",
            &cookie,
            &[
                ("csrf", &csrf),
                ("description", "Okta"),
                ("metadata_xml", &metadata),
                ("sign_authn_requests", "on"),
            ]
        )
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (id, true, Some(first)) = sp_key() else {
        panic!("signing not switched on with a key");
    };
    let page = |app_uri: &str| session(TestRequest::get().uri(app_uri), &cookie);
    let (_, _, _, body) = fetch!(app, page("/a/default/settings/sso"));
    assert!(body.contains("SP signing certificate"), "{body}");
    assert!(body.contains(&first.certificate[..64]), "{body}");
    assert!(!body.contains("PRIVATE KEY"), "{body}");

    // The edit form without the box switches signing off; the key stays for later.
    let base = format!("/a/default/settings/sso/idps/{id}");
    let (s, _, _, _) = fetch!(
        app,
        form(
            &base,
            &cookie,
            &[("csrf", &csrf), ("description", "Okta"), ("enabled", "on")]
        )
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(sp_key(), (id, false, Some(first.clone())));
    let (_, _, _, body) = fetch!(app, page("/a/default/settings/sso"));
    assert!(!body.contains("SP signing certificate"), "{body}");

    // On again, then the key is replaced from the card's button.
    let (s, _, _, _) = fetch!(
        app,
        form(
            &base,
            &cookie,
            &[
                ("csrf", &csrf),
                ("description", "Okta"),
                ("enabled", "on"),
                ("sign_authn_requests", "on")
            ]
        )
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(sp_key(), (id, true, Some(first.clone())));
    let (s, _, _, _) = fetch!(
        app,
        form(
            &format!("{base}/rotate-sp-key"),
            &cookie,
            &[("csrf", "forged")]
        )
    );
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(sp_key(), (id, true, Some(first.clone())));
    let (s, location, _, _) = fetch!(
        app,
        form(
            &format!("{base}/rotate-sp-key"),
            &cookie,
            &[("csrf", &csrf)]
        )
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/a/default/settings/sso?done=sp-key-rotated")
    );
    let (_, _, Some(second)) = sp_key() else {
        panic!("the key is gone");
    };
    assert_ne!(second.certificate, first.certificate);
    let (_, _, _, body) = fetch!(app, page("/a/default/settings/sso?done=sp-key-rotated"));
    assert!(body.contains("The SP signing key was replaced"), "{body}");
    assert!(body.contains(&second.certificate[..64]), "{body}");
}

#[actix_web::test]
async fn encrypted_assertions_are_chosen_and_their_key_replaced_on_the_dashboard() {
    let env = env();
    let app = app!(env);
    let (cookie, csrf) = sign_in!(app, "admin@localhost", &env.admin.password);
    let metadata = saml_metadata("https://idp.example.test/entity", &idp_key().cert_b64);
    let add = |choice: &str| {
        form(
            "/a/default/settings/sso/saml",
            &cookie,
            &[
                ("csrf", csrf.as_str()),
                ("description", "Okta"),
                ("metadata_xml", &metadata),
                ("encrypted_assertions", choice),
            ],
        )
    };
    // An unknown choice: a readable refusal on the page, nothing made.
    let (s, _, ctype, body) = fetch!(app, add("sometimes"));
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        ctype.starts_with("text/html") && body.contains("off, accept or require"),
        "{body}"
    );
    let store = &env.state.store;
    assert!(store.list_idps(env.admin.account.id).unwrap().is_empty());

    let (s, _, _, _) = fetch!(app, add("require"));
    assert_eq!(s, StatusCode::SEE_OTHER);
    let idp = store.list_idps(env.admin.account.id).unwrap().remove(0);
    let keys = |idp: &portcullis_domain::IdentityProvider| match &idp.protocol {
        portcullis_domain::IdpProtocol::Saml(s) => {
            (s.encrypted_assertions, s.sp_encryption_keys.clone())
        }
        _ => unreachable!(),
    };
    let (mode, Some(first)) = keys(&idp) else {
        panic!("no key made")
    };
    assert_eq!(mode, portcullis_domain::AssertionEncryption::Require);
    let (_, _, _, page) = fetch!(
        app,
        session(TestRequest::get().uri("/a/default/settings/sso"), &cookie)
    );
    assert!(page.contains("SP encryption certificate"), "{page}");
    assert!(
        page.contains(&first.current.certificate[..64]),
        "certificate shown"
    );

    // Replacing the key needs the form's CSRF token.
    let rotate = |token: &str| {
        form(
            &format!(
                "/a/default/settings/sso/idps/{}/rotate-sp-encryption-key",
                idp.id
            ),
            &cookie,
            &[("csrf", token)],
        )
    };
    let (s, _, _, _) = fetch!(app, rotate("forged"));
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        keys(&store.idp_by_id(idp.id).unwrap().unwrap()).1,
        Some(first.clone())
    );
    let (s, location, _, _) = fetch!(app, rotate(&csrf));
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/a/default/settings/sso?done=sp-encryption-key-rotated")
    );
    let (_, Some(second)) = keys(&store.idp_by_id(idp.id).unwrap().unwrap()) else {
        panic!()
    };
    assert_ne!(second.current, first.current);
    assert_eq!(second.previous.map(|(k, _)| k), Some(first.current));
}
