//! The dashboard's newer settings pages over HTTP: Domains, Roles from the IdP and
//! Webhooks, through the same use cases as the API, with CSRF on every form.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;

use crate::admin_api::session;
use crate::dashboard::form;
use crate::support::env;
use crate::{app, fetch, sign_in};

#[actix_web::test]
async fn domains_and_role_rules_pages() {
    let dns = crate::dns_support::TestDns::start().await;
    let env = crate::support::env_with(&[("PORTCULLIS_DNS_SERVERS", dns.addr.to_string())]);
    let app = app!(env);
    let (cookie, csrf) = sign_in!(app, "admin@localhost", &env.admin.password);
    let page = "/a/default/settings/domains";
    let post = |uri: &str, fields: &[(&str, &str)]| form(uri, &cookie, fields);

    let (s, location, _, _) = fetch!(
        app,
        post(
            "/a/default/settings/domains/add",
            &[("csrf", &csrf), ("domain", "Example-Corp.test")]
        )
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/a/default/settings/domains?done=domain-added")
    );
    let (s, _, _, _) = fetch!(
        app,
        post(
            "/a/default/settings/domains/add",
            &[("csrf", "forged"), ("domain", "other-corp.test")]
        )
    );
    assert_eq!(s, StatusCode::FORBIDDEN, "a forged CSRF token");
    let (s, _, ctype, body) = fetch!(
        app,
        post(
            "/a/default/settings/domains/add",
            &[("csrf", &csrf), ("domain", "co.uk")]
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        ctype.starts_with("text/html") && body.contains("public suffix"),
        "{body}"
    );

    let (_, _, _, body) = fetch!(app, session(TestRequest::get().uri(page), &cookie));
    assert!(
        body.contains("_portcullis-challenge.example-corp.test"),
        "{body}"
    );
    let claims = env.state.store.domains(env.admin.account.id).unwrap();
    let claim = &claims[0];
    assert!(body.contains(&claim.challenge_value()));
    assert!(body.contains("Not verified"));
    let verify = format!("{page}/{}/verify", claim.id);
    let (s, _, _, body) = fetch!(app, post(&verify, &[("csrf", &csrf)]));
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("no TXT record"), "{body}");
    dns.set_txt(&claim.domain.challenge_name(), &[&claim.challenge_value()])
        .await;
    let (s, _, _, _) = fetch!(app, post(&verify, &[("csrf", &csrf)]));
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, _, body) = fetch!(app, session(TestRequest::get().uri(page), &cookie));
    assert!(body.contains("Verified since"), "{body}");

    // SSO required needs an IdP (and a session that signed in through one).
    let policy = format!("{page}/{}", claim.id);
    let (s, _, _, body) = fetch!(
        app,
        post(
            &policy,
            &[("csrf", &csrf), ("idp", ""), ("sso_required", "on")]
        )
    );
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, _, _, _) = fetch!(app, post(&policy, &[("csrf", &csrf), ("idp", "")]));
    assert_eq!(s, StatusCode::SEE_OTHER);

    let strict = || {
        env.state
            .store
            .account(env.admin.account.id)
            .unwrap()
            .unwrap()
            .provision_only_verified_domains
    };
    let provisioning = format!("{page}/provisioning");
    let (s, _, _, _) = fetch!(
        app,
        post(&provisioning, &[("csrf", &csrf), ("only_verified", "on")])
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(strict());
    let (s, _, _, _) = fetch!(app, post(&provisioning, &[("csrf", &csrf)]));
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(!strict());

    let (s, _, _, _) = fetch!(
        app,
        post(&format!("{page}/{}/delete", claim.id), &[("csrf", &csrf)])
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(env
        .state
        .store
        .domains(env.admin.account.id)
        .unwrap()
        .is_empty());

    // Roles from the IdP.
    let rules = "/a/default/settings/role-rules";
    let (s, _, _, _) = fetch!(
        app,
        post(
            rules,
            &[
                ("csrf", &csrf),
                ("source", "scim_group"),
                ("claim", ""),
                ("value", "Portcullis Admins"),
                ("role", "admin")
            ]
        )
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _, _, body) = fetch!(
        app,
        post(
            rules,
            &[
                ("csrf", &csrf),
                ("source", "ldap"),
                ("value", "X"),
                ("role", "admin")
            ]
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (_, _, _, body) = fetch!(app, session(TestRequest::get().uri(rules), &cookie));
    assert!(body.contains("<td>Portcullis Admins</td>"), "{body}");
    let operator = portcullis_app::Caller::operator(
        env.state
            .store
            .account(env.admin.account.id)
            .unwrap()
            .unwrap(),
    );
    let rule = portcullis_app::role_rules::list(&env.state.store, &operator).unwrap()[0].clone();
    let (s, _, _, _) = fetch!(
        app,
        post(&format!("{rules}/{}/delete", rule.id), &[("csrf", &csrf)])
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, _, body) = fetch!(app, session(TestRequest::get().uri(rules), &cookie));
    assert!(!body.contains("<td>Portcullis Admins</td>"), "{body}");
}

#[actix_web::test]
async fn webhooks_page_shows_the_secret_once_and_the_delivery_log() {
    let env = env();
    let app = app!(env);
    let receiver = crate::webhook_support::Receiver::start().await;
    let (cookie, csrf) = sign_in!(app, "admin@localhost", &env.admin.password);
    let page = "/a/default/settings/webhooks";
    let (s, _, _, body) = fetch!(
        app,
        form(
            page,
            &cookie,
            &[
                ("csrf", &csrf),
                ("url", "https://169.254.169.254/x"),
                ("events", "*")
            ]
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("link-local"), "{body}");
    let (s, _, _, body) = fetch!(
        app,
        form(
            page,
            &cookie,
            &[
                ("csrf", &csrf),
                ("url", &receiver.url),
                ("events", "member.created, ping"),
                ("description", "HR")
            ]
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "ping is no subscription");
    assert!(body.contains("ping"), "{body}");
    let (s, _, _, body) = fetch!(
        app,
        form(
            page,
            &cookie,
            &[
                ("csrf", &csrf),
                ("url", &receiver.url),
                ("events", "member.created, login.failed"),
                ("description", "HR")
            ]
        )
    );
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("whsec_"), "shown once: {body}");
    let (_, _, _, body) = fetch!(app, session(TestRequest::get().uri(page), &cookie));
    assert!(!body.contains("whsec_"));
    assert!(body.contains("member.created, login.failed"));
    let operator = portcullis_app::Caller::operator(
        env.state
            .store
            .account(env.admin.account.id)
            .unwrap()
            .unwrap(),
    );
    let hook = portcullis_app::webhooks::list(&env.state.store, &operator).unwrap()[0].clone();
    let (s, _, _, _) = fetch!(
        app,
        form(
            &format!("{page}/{}/test", hook.id),
            &cookie,
            &[("csrf", &csrf)]
        )
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    portcullis_server::webhook_sender::deliver_due(
        &env.state,
        &env.state.webhooks,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(receiver.received().len(), 1);
    let (_, _, _, body) = fetch!(app, session(TestRequest::get().uri(page), &cookie));
    assert!(body.contains("<td>ping</td><td>delivered</td>"), "{body}");
    let delivery = env
        .state
        .store
        .deliveries(env.admin.account.id, hook.id, 1)
        .unwrap()[0]
        .id;
    let (s, _, _, _) = fetch!(
        app,
        form(
            &format!("{page}/{}/deliveries/{delivery}/resend", hook.id),
            &cookie,
            &[("csrf", &csrf)]
        )
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    portcullis_server::webhook_sender::deliver_due(
        &env.state,
        &env.state.webhooks,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(receiver.received().len(), 2, "sent again");
    let (s, _, _, _) = fetch!(
        app,
        form(
            &format!("{page}/{}/delete", hook.id),
            &cookie,
            &[("csrf", &csrf)]
        )
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(env
        .state
        .store
        .webhooks(env.admin.account.id)
        .unwrap()
        .is_empty());
}

#[actix_web::test]
async fn the_audit_page_reads_as_sentences_with_filters_and_exports() {
    let env = env();
    let app = app!(env);
    let (cookie, _) = sign_in!(app, "admin@localhost", &env.admin.password);
    let page = "/a/default/settings/audit";
    let (s, _, _, body) = fetch!(app, session(TestRequest::get().uri(page), &cookie));
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("admin@localhost signed in (password)"),
        "{body}"
    );
    assert!(body.contains("format=csv"), "{body}");
    let (_, _, _, body) = fetch!(
        app,
        session(
            TestRequest::get().uri(&format!("{page}?action=account.")),
            &cookie
        )
    );
    assert!(!body.contains("signed in (password)"), "filtered: {body}");
    let (s, _, _, body) = fetch!(
        app,
        session(
            TestRequest::get().uri(&format!("{page}?actor=nobody%40localhost")),
            &cookie
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("no member is nobody@localhost"), "{body}");
    // The home page has the settings pages' navigation.
    let (_, _, _, home) = fetch!(app, session(TestRequest::get().uri("/a/default/"), &cookie));
    assert!(home.contains(r#"<nav class="settings">"#), "{home}");
    let (s, _, ctype, csv) = fetch!(
        app,
        session(TestRequest::get().uri("/api/v1/audit?format=csv"), &cookie)
    );
    assert_eq!(s, StatusCode::OK);
    assert!(
        ctype.starts_with("text/csv") && csv.starts_with("at,actor,"),
        "{csv}"
    );
}

#[actix_web::test]
async fn the_setup_links_page_makes_shows_once_and_revokes() {
    let env = env();
    let app = app!(env);
    let (cookie, csrf) = sign_in!(app, "admin@localhost", &env.admin.password);
    let page = "/a/default/settings/setup-links";
    let (s, _, _, body) = fetch!(
        app,
        form(
            page,
            &cookie,
            &[("csrf", &csrf), ("sso", "on"), ("hours", "500")]
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("between 1 and 168 hours"), "{body}");
    let (s, _, _, body) = fetch!(
        app,
        form(
            page,
            &cookie,
            &[
                ("csrf", &csrf),
                ("sso", "on"),
                ("domains", "on"),
                ("hours", "24")
            ]
        )
    );
    assert_eq!(s, StatusCode::OK, "{body}");
    let url = body
        .split("value=\"")
        .find(|v| v.contains("/setup/"))
        .map(|v| v.split('"').next().unwrap().to_owned())
        .expect("the link");
    let token = url.rsplit('/').next().unwrap().to_owned();
    assert!(body.contains("sso, domains"), "{body}");
    // Shown once: the page does not show it again.
    let (_, _, _, again) = fetch!(app, session(TestRequest::get().uri(page), &cookie));
    assert!(!again.contains(&token));
    let link = env
        .state
        .store
        .list_setup_links(env.admin.account.id)
        .unwrap()
        .remove(0);
    let (s, location, _, _) = fetch!(
        app,
        form(
            &format!("{page}/{}/revoke", link.id),
            &cookie,
            &[("csrf", &csrf)]
        )
    );
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some(&*format!("{page}?done=link-revoked"))
    );
    let (s, _, _, _) = fetch!(app, TestRequest::get().uri(&format!("/setup/{token}")));
    assert_eq!(s, StatusCode::GONE);
}
