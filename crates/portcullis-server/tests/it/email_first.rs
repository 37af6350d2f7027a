//! Email-first sign-in: with the tests' own DNS server an account verifies a domain, and
//! an email on it signs in through `/login` to the IdP the domain names; the account's
//! own login page sends it there before any password field; other emails learn nothing.

use chrono::Utc;
use portcullis_app::domains::{self, DomainChange};
use portcullis_app::Caller;
use portcullis_domain::{Email, Role, User, UserId};

use crate::dns_support::TestDns;
use crate::sso_support::*;

/// The value of the page's `csrf` field.
fn csrf(page: &str) -> String {
    let start = page.find(r#"name="csrf" value=""#).expect("a csrf field") + 19;
    page[start..].split('"').next().unwrap().to_owned()
}

#[actix_web::test]
async fn an_email_on_a_verified_domain_signs_in_through_login_to_its_idp() {
    let dns = TestDns::start().await;
    for live in Live::on_both_with(&[("PORTCULLIS_DNS_SERVERS", dns.addr.to_string())]).await {
        let store = &live.state.store;
        let now = Utc::now();
        let first = live.saml_idp(saml_fixture::idp_key(), false);
        let second = live.saml_idp(saml_fixture::idp_key(), false);
        let jo = "jo@example-corp.test";
        let member = User::just_in_time(
            UserId::from_uuid(uuid::Uuid::new_v4()),
            live.admin.account.id,
            Email::parse(jo).unwrap(),
            "Jo".into(),
            Role::Member,
            now,
        );
        store.insert_user(&member).unwrap();

        // The account proves it owns the domain through DNS, and names its IdP.
        let operator = Caller::operator(live.account());
        let claim = domains::create(store, &operator, "example-corp.test", now).unwrap();
        let page = Browser::new();
        let before = page.get(&format!("{}/a/default/login", live.base)).await;
        assert!(
            before.body.contains(r#"type="password""#),
            "no verified domain yet"
        );
        dns.set_txt(&claim.domain.challenge_name(), &[&claim.challenge_value()])
            .await;
        domains::verify(&live.state, &live.state.dns, &operator, claim.id, now)
            .await
            .unwrap();
        let change = DomainChange {
            idp: Some(Some(second.id)),
            ..DomainChange::default()
        };
        domains::update(store, &operator, claim.id, change, now).unwrap();

        // `/login` asks for the email alone and sends it to the domain's IdP.
        let browser = Browser::new();
        let form = browser.get(&format!("{}/login", live.base)).await;
        assert_eq!(form.status, 200);
        assert!(form.body.contains(r#"name="email""#));
        assert!(!form.body.contains(r#"type="password""#));
        let login = format!("{}/login", live.base);
        let forged = browser
            .post_form(&login, &[("email", jo), ("csrf", "forged")])
            .await;
        assert_eq!(forged.status, 403, "a form without its CSRF cookie");
        // Each page sets the cookie its own field matches.
        let token = csrf(&forged.body);
        let answer = browser
            .post_form(
                &login,
                &[("email", "JO@Example-Corp.test"), ("csrf", &token)],
            )
            .await;
        assert_eq!(answer.status, 303, "{answer:?}");
        let start = answer.location.unwrap();
        assert_eq!(start, format!("/a/default/sso/{}/start", second.id));
        let to_idp = browser.get(&format!("{}{start}", live.base)).await;
        assert_eq!(to_idp.status, 303, "{to_idp:?}");
        let request = authn_request_id(&to_idp.location.unwrap());
        let response = saml_response(&live, &second, Some(&request), jo).b64();
        let signed_in = browser
            .post_form(&live.acs(&second), &[("SAMLResponse", response.as_str())])
            .await;
        assert_eq!(signed_in.status, 303, "{signed_in:?}");
        assert_eq!(browser.me(&live.base).await.as_deref(), Some(jo));
        let audit = live.last_audit("login.succeeded").unwrap();
        assert_eq!(audit["idp"], second.id.to_string(), "not {}", first.id);

        // An email on no verified domain is offered its account's page by name; so is
        // one on a verified domain whose account has no enabled IdP: the same page.
        let other = Browser::new();
        let form = other.get(&login).await;
        let token = csrf(&form.body);
        let unknown = other
            .post_form(
                &login,
                &[("email", "kim@unknown-corp.test"), ("csrf", &token)],
            )
            .await;
        assert_eq!(unknown.status, 200, "{unknown:?}");
        assert!(unknown.body.contains(r#"action="/login/account""#));
        let by_name = other
            .get(&format!("{}/login/account?slug=acme", live.base))
            .await;
        assert_eq!(by_name.location.as_deref(), Some("/a/acme/login"));

        // The account's own page asks for the email first, and sends Jo to SSO before
        // any password field.
        let page = Browser::new();
        let login_page = page.get(&format!("{}/a/default/login", live.base)).await;
        assert!(!login_page.body.contains(r#"type="password""#));
        let token = csrf(&login_page.body);
        let own = format!("{}/a/default/login", live.base);
        let answer = page
            .post_form(&own, &[("email", jo), ("csrf", &token)])
            .await;
        assert_eq!(answer.location, Some(start.clone()));
        // Someone else is asked for their password.
        let ada = live.admin.admin.email.to_string();
        let answer = page
            .post_form(&own, &[("email", ada.as_str()), ("csrf", &token)])
            .await;
        assert_eq!(answer.status, 200);
        assert!(answer.body.contains(r#"type="password""#));
        assert!(answer.body.contains(&ada));
        let answer = page
            .post_form(
                &own,
                &[
                    ("email", ada.as_str()),
                    ("password", &live.admin.password),
                    ("csrf", &csrf(&answer.body)),
                ],
            )
            .await;
        assert_eq!(answer.status, 303, "{answer:?}");
        assert_eq!(page.me(&live.base).await.as_deref(), Some(ada.as_str()));

        // Another account's login page does not send Jo anywhere: the domain is not its.
        crate::support::ops::create_account(store, "other", "Other", "o@other.test", now).unwrap();
        let theirs = format!("{}/a/other/login", live.base);
        let foreign = Browser::new();
        let their_page = foreign.get(&theirs).await;
        assert!(their_page.body.contains(r#"type="password""#));
        let answer = foreign
            .post_form(&theirs, &[("email", jo), ("csrf", &csrf(&their_page.body))])
            .await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert!(answer.body.contains(r#"type="password""#));

        // The IdP disabled: Jo's domain routes nowhere, and `/login` says what it says
        // for an unknown domain.
        for idp in [&first, &second] {
            let mut disabled = idp.clone();
            disabled.enabled = false;
            store.update_idp(&disabled).unwrap();
        }
        let answer = other
            .post_form(&login, &[("email", jo), ("csrf", &csrf(&unknown.body))])
            .await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(
            answer
                .body
                .replace(jo, "EMAIL")
                .replace(&csrf(&answer.body), "CSRF"),
            unknown
                .body
                .replace("kim@unknown-corp.test", "EMAIL")
                .replace(&csrf(&unknown.body), "CSRF")
        );
    }
}
