//! Setup links for the customer's IT admin, on both backends: made, listed and revoked
//! by an admin; the link opens only its sections (the IdP form with the values to paste,
//! a SCIM key shown once, domains) and never members, roles, policy or other keys; a test
//! sign-in through the new IdP shows its result and signs nobody in; revoked and expired
//! links answer 410.

use serde_json::{json, Value};

use crate::admin_fixtures::saml_metadata;
use crate::sso_support::saml_fixture::{idp_key, IDP_ENTITY};
use crate::sso_support::*;

/// An admin API key of the bootstrap account.
fn admin_key(live: &Live) -> String {
    let (_, key) = crate::support::ops::create_api_key(
        &live.state.store,
        &live.admin.account,
        &live.admin.admin,
        "setup",
        portcullis_domain::Actor::System,
        chrono::Utc::now(),
    )
    .unwrap();
    key.expose().to_owned()
}

/// Makes a link through the admin API: (status, body).
async fn make_link(live: &Live, key: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/setup-links", live.base))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The CSRF token of the page's forms.
fn csrf(body: &str) -> String {
    body.split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no form in {body}"))
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// A browser that opened `url` (the link) and was sent to the overview.
async fn opened(url: &str) -> Browser {
    let browser = Browser::new();
    let answer = browser.get(url).await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(answer.location.as_deref(), Some("/setup"));
    browser
}

#[actix_web::test]
async fn an_it_admin_adds_the_idp_tests_it_and_makes_a_scim_key() {
    for live in Live::on_both().await {
        let key = admin_key(&live);
        let (status, made) = make_link(
            &live,
            &key,
            json!({"sections": ["sso", "scim"], "expires_in_hours": 24}),
        )
        .await;
        assert_eq!(status, 201, "{made}");
        let url = made["url"].as_str().unwrap().to_owned();
        let browser = opened(&url).await;
        let home = browser.get(&format!("{}/setup", live.base)).await;
        assert_eq!(home.status, 200);
        assert!(home.body.contains("/setup/sso") && home.body.contains("/setup/scim"));
        assert!(!home.body.contains("/setup/domains"), "{}", home.body);

        // The guide shows the values of the IdP the link will add, before it exists.
        let page = browser.get(&format!("{}/setup/sso", live.base)).await;
        assert_eq!(page.status, 200);
        let link = live
            .state
            .store
            .list_setup_links(live.admin.account.id)
            .unwrap()
            .remove(0);
        let acs = format!("{}/sso/saml/{}/acs", live.base, link.idp);
        assert!(page.body.contains(&acs), "{}", page.body);
        assert!(page.body.contains("Okta") && page.body.contains("Microsoft Entra ID"));

        let metadata = saml_metadata(IDP_ENTITY, &idp_key().cert_b64);
        let added = browser
            .post_form(
                &format!("{}/setup/sso/saml", live.base),
                &[
                    ("csrf", csrf(&page.body).as_str()),
                    ("description", "Acme Okta"),
                    ("metadata_xml", &metadata),
                ],
            )
            .await;
        assert_eq!(added.status, 303, "{}", added.body);
        let idp = live
            .state
            .store
            .idp(live.admin.account.id, link.idp)
            .unwrap()
            .expect("the IdP under the link's id");
        assert_eq!(idp.description, "Acme Okta");
        let event = live
            .state
            .store
            .list_audit(live.admin.account.id, 100, 0)
            .unwrap()
            .into_iter()
            .find(|e| e.action == "idp.created")
            .unwrap();
        assert_eq!(event.actor, portcullis_domain::Actor::SetupLink(link.id));

        // A test sign-in: the IdP answers for someone who is not a member.
        let page = browser.get(&format!("{}/setup/sso", live.base)).await;
        assert!(page.body.contains("Test sign-in"), "{}", page.body);
        let started = browser
            .post_form(
                &format!("{}/setup/sso/test", live.base),
                &[("csrf", csrf(&page.body).as_str())],
            )
            .await;
        assert_eq!(started.status, 303, "{}", started.body);
        let request_id = authn_request_id(&started.location.unwrap());
        let response = saml_response(&live, &idp, Some(&request_id), "it-admin@customer.test");
        let answer = browser
            .post_form(
                &live.acs(&idp),
                &[("SAMLResponse", response.b64().as_str())],
            )
            .await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        assert_eq!(answer.location.as_deref(), Some("/setup/sso"));
        assert_eq!(
            browser.me(&live.base).await,
            None,
            "a test sign-in signs nobody in"
        );
        let email = portcullis_domain::Email::parse("it-admin@customer.test").unwrap();
        assert!(live
            .state
            .store
            .user_by_email(live.admin.account.id, &email)
            .unwrap()
            .is_none());
        let result = browser.get(&format!("{}/setup/sso", live.base)).await;
        assert!(
            result.body.contains("worked for it-admin@customer.test"),
            "{}",
            result.body
        );
        // A forged answer shows the failing step instead.
        let started = browser
            .post_form(
                &format!("{}/setup/sso/test", live.base),
                &[("csrf", csrf(&result.body).as_str())],
            )
            .await;
        let request_id = authn_request_id(&started.location.unwrap());
        let mut forged = saml_response(&live, &idp, Some(&request_id), "it-admin@customer.test");
        forged.key = saml_fixture::other_key();
        let answer = browser
            .post_form(&live.acs(&idp), &[("SAMLResponse", forged.b64().as_str())])
            .await;
        assert_ne!(answer.status, 303);
        let result = browser.get(&format!("{}/setup/sso", live.base)).await;
        assert!(
            result.body.contains("failed (")
                && result
                    .body
                    .contains("no configured certificate verifies it"),
            "{}",
            result.body
        );

        // The SCIM key: shown once, SCIM only.
        let scim = browser.get(&format!("{}/setup/scim", live.base)).await;
        assert!(scim.body.contains(&format!("{}/scim/v2", live.base)));
        let shown = browser
            .post_form(
                &format!("{}/setup/scim/key", live.base),
                &[("csrf", csrf(&scim.body).as_str())],
            )
            .await;
        assert_eq!(shown.status, 200, "{}", shown.body);
        let secret = shown
            .body
            .split("value=\"pcl_")
            .nth(1)
            .map(|s| format!("pcl_{}", s.split('"').next().unwrap()))
            .expect("the key");
        let users = reqwest::Client::new()
            .get(format!("{}/scim/v2/Users", live.base))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap();
        assert_eq!(users.status(), 200);
        let account = reqwest::Client::new()
            .get(format!("{}/api/v1/account", live.base))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap();
        assert_eq!(account.status(), 403);
    }
}

#[actix_web::test]
async fn a_link_opens_only_its_sections_and_never_the_rest_of_the_account() {
    for live in Live::on_both().await {
        let key = admin_key(&live);
        let other = live.saml_idp(idp_key(), false);
        let (_, made) = make_link(
            &live,
            &key,
            json!({"sections": ["domains"], "expires_in_hours": 1}),
        )
        .await;
        let browser = opened(made["url"].as_str().unwrap()).await;
        let domains = browser.get(&format!("{}/setup/domains", live.base)).await;
        assert_eq!(domains.status, 200, "{}", domains.body);
        let token = csrf(&domains.body);

        // Sections it does not open: 403, and nothing made.
        for page in ["/setup/sso", "/setup/scim"] {
            let r = browser.get(&format!("{}{page}", live.base)).await;
            assert_eq!(r.status, 403, "{page}: {}", r.body);
        }
        let idps_before = live
            .state
            .store
            .list_idps(live.admin.account.id)
            .unwrap()
            .len();
        let metadata = saml_metadata(IDP_ENTITY, &idp_key().cert_b64);
        for (path, form) in [
            (
                "/setup/sso/saml",
                vec![
                    ("csrf", token.as_str()),
                    ("description", "X"),
                    ("metadata_xml", metadata.as_str()),
                ],
            ),
            (
                "/setup/sso/edit",
                vec![("csrf", token.as_str()), ("description", "Renamed")],
            ),
            ("/setup/scim/key", vec![("csrf", token.as_str())]),
        ] {
            let r = browser
                .post_form(&format!("{}{path}", live.base), &form)
                .await;
            assert_eq!(r.status, 403, "{path}: {}", r.body);
        }
        assert_eq!(
            live.state
                .store
                .list_idps(live.admin.account.id)
                .unwrap()
                .len(),
            idps_before
        );
        assert_eq!(
            live.state
                .store
                .idp(live.admin.account.id, other.id)
                .unwrap()
                .unwrap()
                .description,
            "Test SAML"
        );

        // Its cookie is no session: the admin API and the dashboard stay shut.
        for path in ["/api/v1/members", "/api/v1/api-keys", "/api/v1/account"] {
            let r = browser.get(&format!("{}{path}", live.base)).await;
            assert_eq!(r.status, 401, "{path}");
        }
        let settings = browser
            .get(&format!("{}/a/default/settings/members", live.base))
            .await;
        assert_eq!(settings.status, 303);

        // A forged CSRF token is refused; the right one adds the domain.
        let forged = browser
            .post_form(
                &format!("{}/setup/domains/add", live.base),
                &[("csrf", "forged"), ("domain", "customer.test")],
            )
            .await;
        assert_eq!(forged.status, 403);
        let added = browser
            .post_form(
                &format!("{}/setup/domains/add", live.base),
                &[("csrf", token.as_str()), ("domain", "customer.test")],
            )
            .await;
        assert_eq!(added.status, 303, "{}", added.body);
        let page = browser.get(&format!("{}/setup/domains", live.base)).await;
        let claim = live
            .state
            .store
            .domains(live.admin.account.id)
            .unwrap()
            .remove(0);
        assert!(
            page.body.contains(&claim.challenge_value()),
            "{}",
            page.body
        );

        // Without the cookie: 401.
        let stranger = Browser::new();
        assert_eq!(
            stranger
                .get(&format!("{}/setup/domains", live.base))
                .await
                .status,
            401
        );
    }
}

#[actix_web::test]
async fn links_are_checked_listed_and_revoked_and_dead_links_answer_410() {
    for live in Live::on_both().await {
        let key = admin_key(&live);
        for bad in [
            json!({"sections": [], "expires_in_hours": 24}),
            json!({"sections": ["members"], "expires_in_hours": 24}),
            json!({"sections": ["sso"], "expires_in_hours": 0}),
            json!({"sections": ["sso"], "expires_in_hours": 169}),
        ] {
            let (status, body) = make_link(&live, &key, bad.clone()).await;
            assert_eq!(status, 400, "{bad}: {body}");
        }
        // A SCIM-only key may not make one.
        let (_, _, scim_only) = portcullis_app::api_keys::create(
            &live.state.store,
            &portcullis_app::Caller::operator(live.account()),
            "scim",
            Some(live.admin.admin.id),
            portcullis_domain::Scopes::only(portcullis_domain::Scope::Scim),
            chrono::Utc::now(),
        )
        .unwrap();
        let (status, _) = make_link(
            &live,
            scim_only.expose(),
            json!({"sections": ["sso"], "expires_in_hours": 2}),
        )
        .await;
        assert_eq!(status, 403);
        let (status, made) = make_link(
            &live,
            &key,
            json!({"sections": ["sso"], "expires_in_hours": 2}),
        )
        .await;
        assert_eq!(status, 201);
        let url = made["url"].as_str().unwrap().to_owned();
        let id = made["setup_link"]["id"].as_str().unwrap().to_owned();
        let list: Value = reqwest::Client::new()
            .get(format!("{}/api/v1/setup-links", live.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list["setup_links"][0]["id"], id.as_str());
        assert!(
            !list.to_string().contains(url.rsplit('/').next().unwrap()),
            "the list never shows a secret"
        );

        let browser = opened(&url).await;
        let revoked = reqwest::Client::new()
            .delete(format!("{}/api/v1/setup-links/{id}", live.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 204);
        // At once, for the link and for a browser that opened it before.
        assert_eq!(Browser::new().get(&url).await.status, 410);
        let page = browser.get(&format!("{}/setup/sso", live.base)).await;
        assert_eq!(page.status, 410, "{}", page.body);
        assert!(live.last_audit("setup_link.revoked").is_some());

        // An expired link: 410.
        let now = chrono::Utc::now();
        let expired = portcullis_domain::SetupLink {
            id: portcullis_domain::SetupLinkId::from_uuid(uuid::Uuid::new_v4()),
            account: live.admin.account.id,
            token_hash: portcullis_domain::SecretHash::of("expired-token"),
            sections: vec![portcullis_domain::SetupSection::Sso],
            idp: portcullis_domain::IdpId::from_uuid(uuid::Uuid::new_v4()),
            created_by: None,
            created_at: now - chrono::Duration::hours(2),
            expires_at: now - chrono::Duration::minutes(1),
            revoked_at: None,
        };
        live.state.store.insert_setup_link(&expired).unwrap();
        let answer = Browser::new()
            .get(&format!("{}/setup/expired-token", live.base))
            .await;
        assert_eq!(answer.status, 410, "{}", answer.body);
        assert!(answer.body.contains("expired"), "{}", answer.body);
        // An unknown token: 404.
        assert_eq!(
            Browser::new()
                .get(&format!("{}/setup/not-a-real-token", live.base))
                .await
                .status,
            404
        );
    }
}
