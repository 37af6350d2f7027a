//! One rule for email identity on every path (`portcullis_domain::email`): an address
//! that Unicode case mapping or normalisation would turn into a member's address
//! (U+212A KELVIN SIGN, U+017F LONG S, dotted and dotless i, full-width letters) is never
//! that member — not through a second IdP, not over SCIM, not by invitation — and a
//! domain is the same in Unicode and in punycode.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use portcullis_domain::{Email, ProvisioningMode, Role};
use serde_json::json;

use crate::admin_api::{add_person, admin_key};
use crate::admin_fixtures::with_key;
use crate::scim_support::{enc, envs, req, send};
use crate::sso_support::*;
use crate::support::env;
use crate::{app, call};

/// A complete IdP-initiated SAML login for `email` in a fresh browser.
async fn sso_login(
    live: &Live,
    idp: &portcullis_domain::IdentityProvider,
    email: &str,
) -> (Browser, Answer) {
    let browser = Browser::new();
    let response = saml_response(live, idp, None, email).b64();
    let answer = browser
        .post_form(&live.acs(idp), &[("SAMLResponse", response.as_str())])
        .await;
    (browser, answer)
}

fn member_id(live: &Live, email: &str) -> Option<portcullis_domain::UserId> {
    live.state
        .store
        .user_by_email(live.admin.account.id, &Email::parse(email).unwrap())
        .unwrap()
        .map(|u| u.id)
}

#[actix_web::test]
async fn a_look_alike_through_a_second_idp_never_signs_in_as_the_member() {
    for live in Live::on_both().await {
        look_alike_through_a_second_idp(live).await;
    }
}

async fn look_alike_through_a_second_idp(live: Live) {
    let first = live.saml_idp(saml_fixture::idp_key(), true);
    let second = live.saml_idp(saml_fixture::idp_key(), true);
    let kim = "kim@acme.test";

    // Invite-only: the member exists, the look-alike is nobody and is refused.
    live.set_provisioning(ProvisioningMode::JustInTime);
    let (browser, answer) = sso_login(&live, &first, kim).await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(browser.me(&live.base).await.as_deref(), Some(kim));
    let kim_id = member_id(&live, kim).unwrap();
    live.set_provisioning(ProvisioningMode::Invite);
    for look_alike in [
        "\u{212A}im@acme.test",
        "\u{FF4B}im@acme.test",
        "k\u{0130}m@acme.test",
    ] {
        let (browser, answer) = sso_login(&live, &second, look_alike).await;
        assert_eq!(answer.status, 403, "{look_alike:?}: {answer:?}");
        assert_eq!(browser.me(&live.base).await, None, "{look_alike:?}");
        assert_eq!(
            live.state.store.sso_link(second.id, look_alike).unwrap(),
            None
        );
    }

    // Just in time: the look-alike becomes a member of its own, and whoever registers
    // it first does not capture the real person's later sign-ins.
    live.set_provisioning(ProvisioningMode::JustInTime);
    let (browser, answer) = sso_login(&live, &second, "\u{212A}im@acme.test").await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(
        browser.me(&live.base).await.as_deref(),
        Some("\u{212A}im@acme.test")
    );
    let kelvin = member_id(&live, "\u{212A}im@acme.test").unwrap();
    assert_ne!(kelvin, kim_id);
    let (browser, _) = sso_login(&live, &first, kim).await;
    assert_eq!(browser.me(&live.base).await.as_deref(), Some(kim));

    let (_, answer) = sso_login(&live, &second, "\u{017F}am@acme.test").await;
    assert_eq!(answer.status, 303, "{answer:?}");
    let (browser, answer) = sso_login(&live, &first, "sam@acme.test").await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(
        browser.me(&live.base).await.as_deref(),
        Some("sam@acme.test")
    );
    assert_ne!(
        member_id(&live, "sam@acme.test"),
        member_id(&live, "\u{017F}am@acme.test")
    );

    // A domain in Unicode and in punycode is one domain: the same member, also through
    // the other IdP.
    let (_, answer) = sso_login(&live, &first, "anna@b\u{00FC}cher.test").await;
    assert_eq!(answer.status, 303, "{answer:?}");
    let (browser, answer) = sso_login(&live, &second, "Anna@xn--bcher-kva.test").await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(
        browser.me(&live.base).await.as_deref(),
        Some("anna@b\u{00FC}cher.test")
    );
}

#[actix_web::test]
async fn scim_keeps_look_alikes_apart_and_refuses_true_duplicates() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let create = |user_name: &str| {
            req(
                Method::POST,
                "/Users",
                t,
                Some(json!({"userName": user_name})),
            )
            .to_request()
        };
        let r = send(&app, create("kim@acme.test")).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let kim = r.body["id"].as_str().unwrap().to_owned();
        let mut others = Vec::new();
        for look_alike in [
            "\u{212A}im@acme.test",
            "\u{FF4B}im@acme.test",
            "\u{0131}kim@acme.test",
        ] {
            let r = send(&app, create(look_alike)).await;
            assert_eq!(r.status, StatusCode::CREATED, "{look_alike:?}: {}", r.text);
            let id = r.body["id"].as_str().unwrap().to_owned();
            assert_ne!(id, kim);
            // Each is found by its own name only.
            let filter = enc(&format!(r#"userName eq "{look_alike}""#));
            let r = send(
                &app,
                req(Method::GET, &format!("/Users?filter={filter}"), t, None).to_request(),
            )
            .await;
            assert_eq!(r.body["totalResults"], 1, "{}", r.text);
            assert_eq!(r.body["Resources"][0]["id"], id.as_str());
            others.push(id);
        }
        let filter = enc(r#"userName eq "KIM@acme.test""#);
        let r = send(
            &app,
            req(Method::GET, &format!("/Users?filter={filter}"), t, None).to_request(),
        )
        .await;
        assert_eq!(r.body["totalResults"], 1, "{}", r.text);
        assert_eq!(r.body["Resources"][0]["id"], kim.as_str());

        // A true duplicate (ASCII case, the domain's punycode) is still refused.
        send(&app, create("KIM@ACME.test"))
            .await
            .assert_error(409, Some("uniqueness"));
        let r = send(&app, create("anna@b\u{00FC}cher.test")).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        send(&app, create("anna@XN--BCHER-KVA.test"))
            .await
            .assert_error(409, Some("uniqueness"));

        // Renaming the look-alike onto the member is refused; onto another look-alike it
        // is a rename like any other.
        let path = format!("/Users/{}", others[0]);
        let rename = |to: &str| {
            req(
                Method::PATCH,
                &path,
                t,
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "userName", "value": to}]
                })),
            )
            .to_request()
        };
        send(&app, rename("Kim@acme.test"))
            .await
            .assert_error(409, Some("uniqueness"));
        let r = send(&app, rename("\u{212A}IM@acme.test")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["userName"], "\u{212A}IM@acme.test");
        let r = send(
            &app,
            req(Method::GET, &format!("/Users/{kim}"), t, None).to_request(),
        )
        .await;
        assert_eq!(r.body["userName"], "kim@acme.test");
    }
}

#[actix_web::test]
async fn invitations_follow_the_same_rule() {
    let env = env();
    let app = app!(env);
    let key = admin_key(&env);
    add_person(
        &env,
        "kim@acme.test",
        Role::Member,
        "a long enough password",
    );
    let invite = |email: &str| {
        with_key(
            TestRequest::post()
                .uri("/api/v1/invitations")
                .set_json(json!({"email": email})),
            &key,
        )
    };
    let (s, b) = call!(app, invite("KIM@Acme.test"));
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let (s, b) = call!(app, invite("\u{212A}im@acme.test"));
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["invitation"]["email"], "\u{212A}im@acme.test");
}
