//! The sign-in debugger: every SSO attempt keeps its steps, so an admin who pasted the
//! wrong certificate, or whose IdP sends another audience, sees the failing step with
//! what was expected and received; the IdP's answer is kept with its secrets blanked out;
//! another account sees none of it.

use actix_web::test::TestRequest;
use serde_json::Value;

use crate::sso_support::*;
use crate::{app, fetch};

/// The newest attempt, through the admin API of the bootstrap account.
async fn newest(live: &Live, key: &str) -> Value {
    let list: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/sign-in-attempts", live.base))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["attempts"][0]["id"].as_str().unwrap().to_owned();
    reqwest::Client::new()
        .get(format!("{}/api/v1/sign-in-attempts/{id}", live.base))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn step<'a>(attempt: &'a Value, name: &str) -> &'a Value {
    attempt["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

#[actix_web::test]
async fn a_forged_or_misaddressed_response_shows_its_failing_step() {
    for live in Live::on_both().await {
        let store = &live.state.store;
        let (_, key) = crate::support::ops::create_api_key(
            store,
            &live.admin.account,
            &live.admin.admin,
            "debugger",
            portcullis_domain::Actor::System,
            chrono::Utc::now(),
        )
        .unwrap();
        let key = key.expose().to_owned();
        let admin = live.admin.admin.email.to_string();

        // The admin pasted another certificate than the one the IdP signs with.
        let wrong = live.saml_idp(saml_fixture::other_key(), true);
        let browser = Browser::new();
        let mut response = saml_response(&live, &wrong, None, &admin);
        response.key = saml_fixture::idp_key();
        let answer = browser
            .post_form(
                &live.acs(&wrong),
                &[("SAMLResponse", response.b64().as_str())],
            )
            .await;
        assert_ne!(answer.status, 303);
        let attempt = newest(&live, &key).await;
        assert_eq!(attempt["outcome"], "failed");
        assert_eq!(attempt["failed_step"], "signature");
        let signature = step(&attempt, "signature");
        assert!(
            signature["detail"]
                .as_str()
                .unwrap()
                .starts_with("no configured certificate verifies it"),
            "{attempt}"
        );
        assert_eq!(step(&attempt, "response")["outcome"], "ok");
        assert_eq!(step(&attempt, "audience")["outcome"], "skipped");
        let raw = attempt["response"].as_str().unwrap();
        assert!(
            raw.contains("[redacted]") && !raw.contains(&saml_fixture::idp_key().cert_b64[..40]),
            "{raw}"
        );

        // Another audience: expected and received.
        let right = live.saml_idp(saml_fixture::idp_key(), true);
        let mut response = saml_response(&live, &right, None, &admin);
        response.audience = Some("https://elsewhere.example/sp".into());
        browser
            .post_form(
                &live.acs(&right),
                &[("SAMLResponse", response.b64().as_str())],
            )
            .await;
        let attempt = newest(&live, &key).await;
        assert_eq!(attempt["failed_step"], "audience", "{attempt}");
        let detail = step(&attempt, "audience")["detail"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            detail.contains(&format!(
                "expected {}/sso/saml/{}/metadata",
                live.base, right.id
            )) && detail.contains("received https://elsewhere.example/sp"),
            "{detail}"
        );

        // A good one: every step passed.
        let response = saml_response(&live, &right, None, &admin);
        let answer = browser
            .post_form(
                &live.acs(&right),
                &[("SAMLResponse", response.b64().as_str())],
            )
            .await;
        assert_eq!(answer.status, 303, "{answer:?}");
        let attempt = newest(&live, &key).await;
        assert_eq!(attempt["outcome"], "succeeded");
        assert!(
            attempt["steps"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["outcome"] == "ok"),
            "{attempt}"
        );

        // Filters, and another account sees nothing.
        let failed: Value = reqwest::Client::new()
            .get(format!(
                "{}/api/v1/sign-in-attempts?outcome=failed",
                live.base
            ))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(failed["attempts"].as_array().unwrap().len(), 2);
        let other = crate::support::ops::create_account(
            store,
            "other",
            "Other",
            "o@other.test",
            chrono::Utc::now(),
        )
        .unwrap();
        let (_, other_key) = crate::support::ops::create_api_key(
            store,
            &other.account,
            &other.admin,
            "other",
            portcullis_domain::Actor::System,
            chrono::Utc::now(),
        )
        .unwrap();
        let theirs = reqwest::Client::new()
            .get(format!(
                "{}/api/v1/sign-in-attempts/{}",
                live.base,
                attempt["id"].as_str().unwrap()
            ))
            .bearer_auth(other_key.expose())
            .send()
            .await
            .unwrap();
        assert_eq!(theirs.status(), 404);
    }
}

/// The dashboard's page lists the attempts and shows one's steps.
#[actix_web::test]
async fn the_dashboard_shows_the_failing_step() {
    let env = crate::support::env();
    let app = app!(env);
    let attempt = portcullis_domain::sign_in_attempt::SignInAttempt {
        id: uuid::Uuid::new_v4(),
        account: env.admin.account.id,
        idp: portcullis_domain::IdpId::from_uuid(uuid::Uuid::new_v4()),
        protocol: "saml".into(),
        succeeded: false,
        reason: "saml_bad_signature".into(),
        email: Some("kim@acme.test".into()),
        steps: portcullis_domain::sign_in_attempt::trace(
            "saml",
            "saml_bad_signature",
            &[(
                "signature".to_owned(),
                "no configured certificate verifies it (1 configured)".to_owned(),
            )]
            .into(),
        ),
        response: Some("<samlp:Response>[redacted]</samlp:Response>".into()),
        at: chrono::Utc::now(),
    };
    env.state.store.insert_sign_in_attempt(&attempt).unwrap();
    let (cookie, _) = crate::sign_in!(app, "admin@localhost", &env.admin.password);
    let page = "/a/default/settings/sign-in-attempts";
    let (_, _, _, body) = fetch!(
        app,
        crate::admin_api::session(TestRequest::get().uri(page), &cookie)
    );
    assert!(
        body.contains("kim@acme.test") && body.contains("<td>signature</td>"),
        "{body}"
    );
    let (_, _, _, body) = fetch!(
        app,
        crate::admin_api::session(
            TestRequest::get().uri(&format!("{page}/{}", attempt.id)),
            &cookie
        )
    );
    assert!(
        body.contains("no configured certificate verifies it"),
        "{body}"
    );
    assert!(body.contains("[redacted]"));
}
