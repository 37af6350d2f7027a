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
pub fn api(
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
pub fn status(r: &Resp, expected: StatusCode) {
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

/// Stores `domain` as verified by `account` (the DNS steps have their own test).
fn verified(store: &portcullis_store::Store, account: portcullis_domain::AccountId, domain: &str) {
    let mut claim = portcullis_domain::AccountDomain::new(
        portcullis_domain::DomainId::from_uuid(uuid::Uuid::new_v4()),
        account,
        portcullis_domain::EmailDomain::parse(domain).unwrap(),
        "token".into(),
        chrono::Utc::now(),
    );
    store.insert_domain(&claim).unwrap();
    claim.checked(&[claim.challenge_value()], chrono::Utc::now());
    store.save_domain(&claim).unwrap();
}

/// "Provision only verified domains": SCIM creates and userName changes, and invitations,
/// outside the account's verified domains are refused naming the domain; another
/// account's verified domain does not count; switched off, anything goes again.
#[actix_web::test]
async fn provisioning_holds_to_the_verified_domains() {
    for env in crate::scim_support::envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let store = &env.state.store;
        verified(store, env.account.id, "acme-verified.test");
        let other = store
            .account_by_slug(&portcullis_domain::AccountSlug::parse("other").unwrap())
            .unwrap()
            .unwrap();
        verified(store, other.id, "theirs.test");
        let set = |on: bool| {
            api(
                Method::PATCH,
                "/api/v1/account",
                t,
                Some(json!({"provision_only_verified_domains": on})),
            )
        };
        let r = send(&app, set(true).to_request()).await;
        status(&r, StatusCode::OK);
        assert_eq!(r.body["provision_only_verified_domains"], true);

        let create = |user: &str| {
            crate::scim_support::req(
                Method::POST,
                "/Users",
                t,
                Some(
                    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                            "userName": user}),
                ),
            )
        };
        for outside in [
            "kim@elsewhere.test",
            "kim@theirs.test",
            "kim@sub.acme-verified.test",
        ] {
            let r = send(&app, create(outside).to_request()).await;
            r.assert_error(400, Some("invalidValue"));
            let domain = outside.split_once('@').unwrap().1;
            assert!(
                r.body["detail"].as_str().unwrap().contains(domain),
                "{}",
                r.text
            );
        }
        let r = send(&app, create("kim@ACME-verified.test").to_request()).await;
        status(&r, StatusCode::CREATED);
        let kim = r.body["id"].as_str().unwrap().to_owned();
        let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                            "Operations": [{"op": "replace", "path": "userName",
                                            "value": "kim@elsewhere.test"}]});
        let path = format!("/Users/{kim}");
        let r = send(
            &app,
            crate::scim_support::req(Method::PATCH, &path, t, Some(rename.clone())).to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidValue"));
        let r = send(
            &app,
            crate::scim_support::req(Method::GET, &path, t, None).to_request(),
        )
        .await;
        assert_eq!(
            r.body["userName"], "kim@ACME-verified.test",
            "nothing changed"
        );

        let invite = |email: &str| {
            api(
                Method::POST,
                "/api/v1/invitations",
                t,
                Some(json!({"email": email})),
            )
        };
        let r = send(&app, invite("lee@elsewhere.test").to_request()).await;
        status(&r, StatusCode::BAD_REQUEST);
        assert!(r.text.contains("elsewhere.test"), "{}", r.text);
        let r = send(&app, invite("lee@acme-verified.test").to_request()).await;
        status(&r, StatusCode::CREATED);

        let r = send(&app, set(false).to_request()).await;
        assert_eq!(r.body["provision_only_verified_domains"], false);
        let r = send(
            &app,
            crate::scim_support::req(Method::PATCH, &path, t, Some(rename)).to_request(),
        )
        .await;
        status(&r, StatusCode::OK);
        let r = send(&app, invite("lee@elsewhere.test").to_request()).await;
        status(&r, StatusCode::CREATED);
    }
}

/// Just in time, an account that provisions only its verified domains creates no one
/// whose email is elsewhere (audited `domain_not_verified`); on a verified domain it does.
#[actix_web::test]
async fn just_in_time_holds_to_the_verified_domains() {
    use crate::sso_support::*;
    for live in Live::on_both().await {
        let idp = live.saml_idp(saml_fixture::idp_key(), true);
        live.set_provisioning(portcullis_domain::ProvisioningMode::JustInTime);
        let mut account = live.account();
        account.provision_only_verified_domains = true;
        live.state.store.update_account(&account).unwrap();
        verified(&live.state.store, account.id, "acme-verified.test");
        let sign_in = |email: &'static str| {
            let live = &live;
            let idp = &idp;
            async move {
                let browser = Browser::new();
                let response = saml_response(live, idp, None, email).b64();
                browser
                    .post_form(&live.acs(idp), &[("SAMLResponse", response.as_str())])
                    .await
            }
        };
        let answer = sign_in("jo@elsewhere.test").await;
        assert_eq!(answer.status, 403, "{answer:?}");
        assert_eq!(live.last_failure(), "domain_not_verified");
        let found = live
            .state
            .store
            .user_by_email(account.id, &Email::parse("jo@elsewhere.test").unwrap())
            .unwrap();
        assert!(found.is_none());
        let answer = sign_in("jo@acme-verified.test").await;
        assert_eq!(answer.status, 303, "{answer:?}");
    }
}

/// The daily re-check: a verified domain whose record is gone stays verified for 7 days
/// (noted once, `domain.record_missing`), then stops being verified
/// (`domain.unverified`); one whose record is still there stays as it was.
#[actix_web::test]
async fn verified_domains_whose_record_is_gone_for_7_days_are_unverified() {
    let dns = TestDns::start().await;
    for env in envs_with(&[("PORTCULLIS_DNS_SERVERS", dns.addr.to_string())]) {
        let state = &env.state;
        let store = &state.store;
        let operator = portcullis_app::Caller::operator(env.account.clone());
        let now = chrono::Utc::now();
        let mut claims = Vec::new();
        for name in ["gone-corp.test", "kept-corp.test"] {
            let claim = portcullis_app::domains::create(store, &operator, name, now).unwrap();
            dns.set_txt(&claim.domain.challenge_name(), &[&claim.challenge_value()])
                .await;
            portcullis_app::domains::verify(state, &state.dns, &operator, claim.id, now)
                .await
                .unwrap();
            claims.push(claim);
        }
        let (gone, kept) = (&claims[0], &claims[1]);
        dns.set_txt(&gone.domain.challenge_name(), &["v=spf1 -all"])
            .await;
        let read = |id| store.domain(env.account.id, id).unwrap().unwrap();
        let actions = || {
            store
                .list_audit(env.account.id, 100, 0)
                .unwrap()
                .into_iter()
                .filter(|e| e.target.as_deref() == Some(gone.id.to_string().as_str()))
                .map(|e| e.action)
                .collect::<Vec<_>>()
        };

        // Not due within a day of the last check.
        let recheck = |at| portcullis_app::domains::recheck_due(state, &state.dns, at);
        assert_eq!(recheck(now + chrono::Duration::hours(12)).await.unwrap(), 0);
        let day = |n| now + chrono::Duration::days(n) + chrono::Duration::minutes(1);
        assert_eq!(recheck(day(1)).await.unwrap(), 2);
        assert!(read(gone.id).is_verified());
        assert!(read(gone.id).missing_since.is_some());
        assert_eq!(actions()[0], "domain.record_missing");
        assert_eq!(recheck(day(5)).await.unwrap(), 2);
        assert_eq!(
            actions()
                .iter()
                .filter(|a| *a == "domain.record_missing")
                .count(),
            1,
            "noted once"
        );
        assert!(read(gone.id).is_verified(), "within the grace");
        recheck(day(9)).await.unwrap();
        assert!(!read(gone.id).is_verified());
        assert_eq!(actions()[0], "domain.unverified");
        assert!(read(kept.id).is_verified());
        assert_eq!(read(kept.id).missing_since, None);
        // Unverified, it is no longer re-checked, and can be verified again.
        assert_eq!(recheck(day(11)).await.unwrap(), 1);
    }
}
