//! Verified domains: claimed through the admin API, proved with a TXT record that the
//! tests' own DNS server holds, verified by one account at most; names no one owns are
//! refused; another account's claims are not found.

use actix_web::http::{Method, StatusCode};
use portcullis_domain::{Email, Role, User, UserId};
use serde_json::json;

use crate::app;
use crate::dns_support::TestDns;
use crate::scim_support::{envs_with, send, Resp};

/// An admin API request with a bearer key.
fn api(
    method: Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> actix_web::test::TestRequest {
    let mut r = actix_web::test::TestRequest::default()
        .method(method)
        .uri(path)
        .peer_addr("203.0.113.7:40000".parse().unwrap())
        .insert_header(("Authorization", format!("Bearer {token}")));
    if let Some(body) = body {
        r = r.set_json(body);
    }
    r
}

#[track_caller]
fn status(r: &Resp, expected: StatusCode) {
    assert_eq!(r.status, expected, "{}", r.text);
}

#[actix_web::test]
async fn a_domain_is_verified_by_its_txt_record_and_by_one_account() {
    let dns = TestDns::start().await;
    for env in envs_with(&[("PORTCULLIS_DNS_SERVERS", dns.addr.to_string())]) {
        let app = app!(env);
        let (t, other) = (env.token.as_str(), env.other_token.as_str());
        let domain = format!("acme-{}.test", env.backend);
        let r = send(
            &app,
            api(
                Method::POST,
                "/api/v1/domains",
                t,
                Some(json!({"domain": domain.to_uppercase()})),
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::CREATED);
        let id = r.body["id"].as_str().unwrap().to_owned();
        assert_eq!(r.body["domain"], domain.as_str());
        assert_eq!(r.body["verified"], false);
        let record = r.body["verification"].clone();
        assert_eq!(record["type"], "TXT");
        assert_eq!(record["name"], format!("_portcullis-challenge.{domain}"));
        let value = record["value"].as_str().unwrap().to_owned();
        let token = value.strip_prefix("portcullis-verification=").unwrap();
        assert!(token.len() >= 32, "{value}: 128 bits or more");

        // Names no account can own.
        for bad in ["com", "co.uk", "192.0.2.1", "not a name", "localhost"] {
            let r = send(
                &app,
                api(
                    Method::POST,
                    "/api/v1/domains",
                    t,
                    Some(json!({"domain": bad})),
                )
                .to_request(),
            )
            .await;
            status(&r, StatusCode::BAD_REQUEST);
        }
        let r = send(
            &app,
            api(
                Method::POST,
                "/api/v1/domains",
                t,
                Some(json!({"domain": domain})),
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::CONFLICT);

        // Not there, wrong, then right.
        let verify = format!("/api/v1/domains/{id}/verify");
        let r = send(&app, api(Method::POST, &verify, t, None).to_request()).await;
        status(&r, StatusCode::CONFLICT);
        assert!(r.text.contains("no TXT record"), "{}", r.text);
        dns.set_txt(
            &format!("_portcullis-challenge.{domain}"),
            &["v=spf1 -all", "portcullis-verification=forged"],
        )
        .await;
        let r = send(&app, api(Method::POST, &verify, t, None).to_request()).await;
        status(&r, StatusCode::CONFLICT);
        assert!(
            r.text.contains("portcullis-verification=forged"),
            "{}",
            r.text
        );
        dns.set_txt(
            &format!("_portcullis-challenge.{domain}"),
            &["v=spf1 -all", &value],
        )
        .await;
        let r = send(&app, api(Method::POST, &verify, t, None).to_request()).await;
        status(&r, StatusCode::OK);
        assert_eq!(r.body["verified"], true);

        // Another account cannot claim a verified domain, nor see or remove this claim.
        let r = send(
            &app,
            api(
                Method::POST,
                "/api/v1/domains",
                other,
                Some(json!({"domain": domain})),
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::CONFLICT);
        for method in [Method::GET, Method::DELETE] {
            let r = send(
                &app,
                api(method, &format!("/api/v1/domains/{id}"), other, None).to_request(),
            )
            .await;
            status(&r, StatusCode::NOT_FOUND);
        }
        let r = send(
            &app,
            api(Method::GET, "/api/v1/domains", other, None).to_request(),
        )
        .await;
        assert_eq!(r.body["domains"], json!([]));

        // Two members with passwords: one on the domain, one not.
        let store = &env.state.store;
        let hash = portcullis_app::password::hash("correct horse battery").unwrap();
        let mut kim = User::just_in_time(
            UserId::from_uuid(uuid::Uuid::new_v4()),
            env.account.id,
            Email::parse(&format!("kim@{domain}")).unwrap(),
            "Kim".into(),
            Role::Member,
            chrono::Utc::now(),
        );
        kim.password_hash = Some(hash.clone());
        store.insert_user(&kim).unwrap();
        let mut ada = env.admin.clone();
        ada.password_hash = Some(hash);
        store.update_user(&ada).unwrap();
        let login = |email: String| {
            let app = &app;
            async move {
                let body =
                    json!({"account": "acme", "email": email, "password": "correct horse battery"});
                send(
                    app,
                    api(Method::POST, "/api/v1/login", "", Some(body)).to_request(),
                )
                .await
                .status
            }
        };
        assert_eq!(
            login(kim.email.to_string()).await,
            StatusCode::OK,
            "mixed mode"
        );

        // Its policy: an IdP of the account, not another's.
        let idps = send(&app, api(Method::GET, "/api/v1/idps", t, None).to_request()).await;
        let idp = idps.body["idps"][0]["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/domains/{id}");
        let r = send(
            &app,
            api(
                Method::PATCH,
                &path,
                t,
                Some(json!({"sso_required": true, "idp_id": idp})),
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::OK);
        assert_eq!(
            (r.body["sso_required"].clone(), r.body["idp_id"].clone()),
            (json!(true), json!(idp))
        );
        // The account stays in mixed mode: only the domain's members are held to SSO.
        assert_eq!(login(kim.email.to_string()).await, StatusCode::FORBIDDEN);
        assert_eq!(login(ada.email.to_string()).await, StatusCode::OK);
        let theirs = send(
            &app,
            api(Method::GET, "/api/v1/idps", other, None).to_request(),
        )
        .await;
        let foreign = theirs.body["idps"][0]["id"].as_str().unwrap().to_owned();
        let r = send(
            &app,
            api(Method::PATCH, &path, t, Some(json!({"idp_id": foreign}))).to_request(),
        )
        .await;
        status(&r, StatusCode::BAD_REQUEST);
        let r = send(
            &app,
            api(Method::PATCH, &path, t, Some(json!({"idp_id": null}))).to_request(),
        )
        .await;
        assert_eq!(r.body["idp_id"], json!(null));
        let r = send(
            &app,
            api(Method::GET, "/api/v1/domains", t, None).to_request(),
        )
        .await;
        assert_eq!(r.body["domains"][0]["verified"], true);

        // Given up, it can be verified by the other account.
        let r = send(&app, api(Method::DELETE, &path, t, None).to_request()).await;
        status(&r, StatusCode::NO_CONTENT);
        let r = send(
            &app,
            api(
                Method::POST,
                "/api/v1/domains",
                other,
                Some(json!({"domain": domain})),
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::CREATED);
    }
}

/// A lookup that fails (no DNS server answers) is a 409 that says so.
#[actix_web::test]
async fn a_failed_lookup_says_so() {
    let closed = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let env = envs_with(&[("PORTCULLIS_DNS_SERVERS", closed.to_string())]).remove(0);
    let app = app!(env);
    let r = send(
        &app,
        api(
            Method::POST,
            "/api/v1/domains",
            &env.token,
            Some(json!({"domain": "acme.test"})),
        )
        .to_request(),
    )
    .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = send(
        &app,
        api(
            Method::POST,
            &format!("/api/v1/domains/{id}/verify"),
            &env.token,
            None,
        )
        .to_request(),
    )
    .await;
    status(&r, StatusCode::CONFLICT);
    assert!(
        r.text.contains("lookup") && r.text.contains("failed"),
        "{}",
        r.text
    );
    assert_eq!(
        send(
            &app,
            api(
                Method::GET,
                &format!("/api/v1/domains/{id}"),
                &env.token,
                None
            )
            .to_request()
        )
        .await
        .body["verified"],
        false
    );
}
