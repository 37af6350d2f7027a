//! The dashboard in a real headless Chromium against the running binary: password
//! login; a SAML IdP from pasted metadata and an OIDC IdP discovered from a local issuer;
//! the login chooser listing both; SCIM switched on through the panel with a bot-owned key
//! that then authenticates; enforcement refused in the UI for a password session, set by
//! the operator, and the password login refused. Screenshots of each page are saved.

use std::time::Duration;

use serde_json::Value;

use crate::admin_fixtures::{idp_key, saml_metadata, StaticServer};
use crate::browser::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sets_up_sso_and_scim_in_a_browser() {
    let issuer = StaticServer::start();
    issuer.serve_openid();
    let Some(h) = Harness::start(&[("PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES", "true")]).await
    else {
        return;
    };

    // Password login.
    h.goto("/a/default/login").await;
    h.screenshot("01-login").await;
    h.fill("input[name=email]", "admin@localhost").await;
    h.fill("input[name=password]", &h.password).await;
    h.click("form button[type=submit]").await;
    let page = h.wait_for("Signed in as").await;
    assert!(page.contains("Signed in as"), "{page}");
    h.screenshot("02-home").await;

    // A SAML IdP from pasted metadata.
    h.goto("/a/default/settings/sso").await;
    h.screenshot("03-sso-empty").await;
    h.click("details.panel:nth-of-type(1) summary").await;
    let form = "form[action$='/settings/sso/saml']";
    h.fill(&format!("{form} input[name=description]"), "Okta (SAML)")
        .await;
    h.fill(
        &format!("{form} textarea[name=metadata_xml]"),
        &saml_metadata("https://okta.test/exk1", &idp_key().cert_b64),
    )
    .await;
    h.click(&format!("{form} button[type=submit]")).await;
    let page = h.wait_for("The identity provider was added.").await;
    assert!(page.contains("The identity provider was added."), "{page}");
    assert!(page.contains("/acs"), "the ACS URL to copy is shown");

    // An OIDC IdP, discovered from the local issuer; a wrong issuer is refused readably.
    h.click("details.panel:nth-of-type(2) summary").await;
    let form = "form[action$='/settings/sso/oidc']";
    h.fill(&format!("{form} input[name=description]"), "Google (OIDC)")
        .await;
    h.fill(
        &format!("{form} input[name=issuer]"),
        &format!("{}/wrong", issuer.base),
    )
    .await;
    h.fill(&format!("{form} input[name=client_id]"), "portcullis")
        .await;
    h.fill(
        &format!("{form} input[name=client_secret]"),
        "browser-test-secret-991",
    )
    .await;
    h.click(&format!("{form} button[type=submit]")).await;
    let page = h.wait_for("role=\"alert\"").await;
    assert!(
        page.contains("role=\"alert\"") && page.contains("discovery"),
        "{page}"
    );
    h.screenshot("04-sso-oidc-refused").await;
    h.click("details.panel:nth-of-type(2) summary").await;
    h.fill(&format!("{form} input[name=description]"), "Google (OIDC)")
        .await;
    h.fill(&format!("{form} input[name=issuer]"), &issuer.base)
        .await;
    h.fill(&format!("{form} input[name=client_id]"), "portcullis")
        .await;
    h.fill(
        &format!("{form} input[name=client_secret]"),
        "browser-test-secret-991",
    )
    .await;
    h.click(&format!("{form} button[type=submit]")).await;
    let page = h.wait_for("The identity provider was added.").await;
    assert!(
        page.contains("The identity provider was added.") && page.contains("/callback"),
        "{page}"
    );
    assert!(
        !page.contains("browser-test-secret-991"),
        "the client secret is never shown"
    );
    h.screenshot("05-sso-two-idps").await;

    // The login chooser lists both descriptions.
    h.goto("/a/default/login").await;
    let page = h.source().await;
    assert!(
        page.contains(">Okta (SAML)<") && page.contains(">Google (OIDC)<"),
        "{page}"
    );
    h.screenshot("06-login-chooser").await;

    // SCIM on through the panel, with a new bot owning the key.
    h.goto("/a/default/settings/scim").await;
    h.screenshot("07-scim-off").await;
    h.click("a.button[href$='setup=1']").await;
    let page = h.wait_for("bot user is recommended").await;
    assert!(page.contains("bot user is recommended"), "{page}");
    h.screenshot("08-scim-panel").await;
    h.click("section.panel button[type=submit]").await;
    let page = h.wait_for("shown only this once").await;
    assert!(page.contains("shown only this once"), "{page}");
    let base_url = h
        .value("section.secret label.copy:nth-of-type(1) input")
        .await;
    let secret = h
        .value("section.secret label.copy:nth-of-type(2) input")
        .await;
    assert!(base_url.ends_with("/scim/v2"), "{base_url}");
    assert!(secret.starts_with("pcl_"), "{secret}");
    h.screenshot("09-scim-secret").await;

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let scim = http
        .get(format!("{base_url}/Users"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    // The key the panel made provisions through SCIM.
    assert_eq!(scim.status(), reqwest::StatusCode::OK);
    let list: Value = scim.json().await.unwrap();
    assert!(
        list["schemas"][0]
            .as_str()
            .unwrap()
            .ends_with(":ListResponse"),
        "{list}"
    );
    assert!(list["totalResults"].as_u64().unwrap() >= 1, "{list}");

    // The other pages render.
    for (path, shot) in [
        ("members", "10-members"),
        ("api-keys", "11-api-keys"),
        ("ip-restrictions", "12-ip-restrictions"),
        ("audit", "13-audit"),
    ] {
        h.goto(&format!("/a/default/settings/{path}")).await;
        let page = h.wait_for("<h1>").await;
        assert!(page.contains("<h1>"), "{path}: {page}");
        h.screenshot(shot).await;
    }
    assert!(h.source().await.contains("api_key.created"));

    // Enforcing from a password session is refused with the reason on the page.
    h.goto("/a/default/settings/sso").await;
    h.click("input[name=enforcement][value=enforced]").await;
    h.click("input[name=confirm]").await;
    h.click("form[action$='/settings/sso/policy'] button[type=submit]")
        .await;
    let page = h.wait_for("role=\"alert\"").await;
    assert!(
        page.contains("sign in through one of the account"),
        "{page}"
    );
    h.screenshot("14-enforce-refused").await;

    // The operator enforces it (break-glass command); passwords are then refused.
    h.operator(&[
        "account",
        "set-enforcement",
        "--account",
        "default",
        "enforced",
    ]);
    h.client.delete_all_cookies().await.unwrap();
    h.goto("/a/default/login").await;
    let page = h.source().await;
    assert!(
        !page.contains("type=\"password\""),
        "no password form under enforcement"
    );
    assert!(page.contains("requires single sign-on"), "{page}");
    h.screenshot("15-login-enforced").await;
    let refused = http
        .post(format!("{}/api/v1/login", h.base))
        .json(&serde_json::json!({"account": "default", "email": "admin@localhost", "password": h.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("single sign-on"),
        "{body}"
    );
    h.close().await;
}
