//! End to end against a real SAML IdP (pysaml2, `tests/idp/saml_idp.py`): assertions
//! encrypted with AES-256-CBC and AES-128-GCM to the SP encryption certificate it read
//! from Portcullis' SP metadata, and single logout both ways (HTTP-Redirect, signed) —
//! with reqwest and in headless Chromium. The IdPs are set up through the admin API, as
//! an admin would. Needs `PORTCULLIS_TEST_PYSAML2` (and chromedriver for the browser
//! test; `.ci/run` provides both).

use std::time::Duration;

use base64::Engine as _;
use fantoccini::Locator;
use portcullis_domain::{IdentityProvider, IdpId};
use serde_json::{json, Value};

use crate::sso_e2e_browser::{
    chromedriver, chromium, shot, sign_in_as_a_person, start_chromedriver,
};
use crate::sso_e2e_saml_signed::AdminApi;
use crate::sso_logout::{continue_url, sign_out};
use crate::sso_support::idp_process::{free_port, parse_form, pysaml2_with, tool, IdpProcess};
use crate::sso_support::saml_fixture::idp_key;
use crate::sso_support::*;

const ADMIN: &str = "admin@localhost";

/// Adds a pysaml2 IdP on `port` by hand through the admin API, with encrypted assertions
/// `mode` and single logout at its `/slo`.
async fn add_idp(
    live: &Live,
    api: &AdminApi,
    port: u16,
    description: &str,
    mode: &str,
) -> IdentityProvider {
    let base = format!("http://127.0.0.1:{port}");
    let created = api
        .post(
            "/api/v1/idps",
            json!({
                "description": description,
                "encrypted_assertions": mode,
                "saml": {
                    "entity_id": format!("{base}/metadata"),
                    "sso_url": format!("{base}/sso"),
                    "certificates": [idp_key().cert_pem],
                    "slo_url": format!("{base}/slo"),
                },
            }),
        )
        .await;
    assert_eq!(created["saml"]["encrypted_assertions"], mode);
    assert!(
        created["copy_into_idp"]["encryption_certificate"].is_string(),
        "{created}"
    );
    let id: IdpId = created["id"].as_str().unwrap().parse().unwrap();
    live.state.store.idp_by_id(id).unwrap().unwrap()
}

/// Signs `browser` in through `idp` (SP-initiated); returns the decoded response the
/// IdP posted and the ACS's answer.
async fn through(live: &Live, browser: &Browser, idp: &IdentityProvider) -> (String, Answer) {
    let start = browser.get(&live.start_url(idp)).await;
    assert_eq!(start.status, 303, "{start:?}");
    let page = browser.get(&start.location.unwrap()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let form = parse_form(&page.body);
    let xml = base64::engine::general_purpose::STANDARD
        .decode(form.field("SAMLResponse"))
        .map(|b| String::from_utf8(b).unwrap())
        .unwrap();
    (xml, browser.post_form(&form.action, &form.pairs()).await)
}

async fn idp_sessions(idp: &IdpProcess) -> Vec<Value> {
    reqwest::get(format!("{}/sessions", idp.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[actix_web::test]
async fn pysaml2_encrypts_assertions_and_signs_out_both_ways() {
    let test = "pysaml2_encrypts_assertions_and_signs_out_both_ways";
    let Some(python) = tool("PORTCULLIS_TEST_PYSAML2", test) else {
        return;
    };
    let live = Live::start().await;
    let api = AdminApi::new(&live);
    for (algorithm, uri) in [
        ("aes256-cbc", "http://www.w3.org/2001/04/xmlenc#aes256-cbc"),
        ("aes128-gcm", "http://www.w3.org/2009/xmlenc11#aes128-gcm"),
    ] {
        let port = free_port();
        let idp = add_idp(&live, &api, port, algorithm, "require").await;
        let (process, _dir) = pysaml2_with(
            &live,
            &python,
            port,
            &[&idp],
            ADMIN,
            &["--encrypt", algorithm],
        )
        .await;
        let sp_entity = live.sp(&idp).entity_id;

        // Signed in through an assertion only the SP's key can read.
        let browser = Browser::new();
        let (xml, answer) = through(&live, &browser, &idp).await;
        assert!(xml.contains("EncryptedAssertion"), "{xml}");
        assert!(xml.contains(uri), "{xml}");
        assert!(
            !xml.contains(ADMIN),
            "the assertion travels in clear: {xml}"
        );
        assert_eq!(answer.status, 303, "{answer:?}");
        assert_eq!(
            browser.me(&live.base).await.as_deref(),
            Some(ADMIN),
            "{algorithm}"
        );
        assert_eq!(idp_sessions(&process).await.len(), 1);

        // Signing out here signs out at the IdP, which answers; the answer is checked.
        let out = sign_out(&live, &browser).await;
        let at_idp = browser.get(&continue_url(&out)).await;
        assert_eq!(at_idp.status, 302, "{at_idp:?}");
        let back = at_idp.location.unwrap();
        assert!(
            back.starts_with(&format!(
                "{}/sso/saml/{}/slo?SAMLResponse=",
                live.base, idp.id
            )),
            "{back}"
        );
        let done = browser.get(&back).await;
        assert_eq!(done.status, 200, "{done:?}");
        assert!(
            done.body.contains("and of your identity provider"),
            "{}",
            done.body
        );
        assert!(
            idp_sessions(&process).await.is_empty(),
            "the IdP kept its session"
        );
        assert_eq!(browser.me(&live.base).await, None);

        // The IdP signs the person out of Portcullis: a signed LogoutRequest, answered
        // with a signed LogoutResponse the IdP verifies.
        let browser = Browser::new();
        let (_, answer) = through(&live, &browser, &idp).await;
        assert_eq!(answer.status, 303, "{answer:?}");
        let idp_logout = format!("{}/idp-logout?sp={}", process.base, urlencoding(&sp_entity));
        let unsigned = browser.get(&format!("{idp_logout}&unsigned=1")).await;
        let refused = browser.get(&unsigned.location.unwrap()).await;
        assert_eq!(refused.status, 400, "{refused:?}");
        assert_eq!(browser.me(&live.base).await.as_deref(), Some(ADMIN));
        let to_sp = browser.get(&idp_logout).await;
        assert_eq!(to_sp.status, 302, "{to_sp:?}");
        let answered = browser.get(&to_sp.location.unwrap()).await;
        assert_eq!(answered.status, 302, "{answered:?}");
        let finished = browser.get(&answered.location.unwrap()).await;
        assert_eq!(finished.status, 200, "{finished:?}");
        assert!(
            finished
                .body
                .contains("IdP logout finished: urn:oasis:names:tc:SAML:2.0:status:Success"),
            "{}",
            finished.body
        );
        assert_eq!(browser.me(&live.base).await, None);
    }

    // Refused: a clear assertion where encryption is required, and an encrypted but
    // unsigned assertion in an unsigned Response.
    for (flags, reason) in [
        (&[][..], "saml_encryption_required"),
        (&["--encrypt-unsigned"][..], "saml_unsigned"),
    ] {
        let port = free_port();
        let idp = add_idp(&live, &api, port, reason, "require").await;
        let (_process, _dir) = pysaml2_with(&live, &python, port, &[&idp], ADMIN, flags).await;
        let browser = Browser::new();
        let (_, answer) = through(&live, &browser, &idp).await;
        assert_ne!(answer.status, 303, "{answer:?}");
        assert_eq!(browser.me(&live.base).await, None);
        assert!(
            live.last_failure().contains(reason),
            "{}",
            live.last_failure()
        );
    }
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Waits until the page's `h1` or body says `text`.
async fn wait_for_text(client: &fantoccini::Client, text: &str) -> bool {
    for _ in 0..150 {
        if let Ok(body) = client.find(Locator::Css("body")).await {
            if body.text().await.unwrap_or_default().contains(text) {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[actix_web::test]
async fn a_person_signs_in_encrypted_and_out_both_ways_in_chromium() {
    let test = "a_person_signs_in_encrypted_and_out_both_ways_in_chromium";
    let (Some(driver_path), Some(python)) = (chromedriver(), tool("PORTCULLIS_TEST_PYSAML2", test))
    else {
        return;
    };
    let live = Live::start().await;
    let api = AdminApi::new(&live);
    let port = free_port();
    let idp = add_idp(&live, &api, port, "Encrypted SAML", "require").await;
    let (process, _dir) = pysaml2_with(
        &live,
        &python,
        port,
        &[&idp],
        ADMIN,
        &["--encrypt", "aes128-gcm"],
    )
    .await;
    let driver = start_chromedriver(&driver_path).await;

    // In, and out here: on through the IdP and back to Portcullis' "Signed out" page.
    let profile = tempfile::tempdir().unwrap();
    let client = chromium(&driver, &profile).await;
    sign_in_as_a_person(&live, &client, "Sign in with SSO", "slo-sp").await;
    client
        .find(Locator::Css("form[action$='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let signed_out = wait_for_text(&client, "and of your identity provider").await;
    shot(&client, "slo-sp-3-signed-out").await;
    let url = client.current_url().await.unwrap();
    assert!(
        signed_out,
        "at {url}: {}",
        client.source().await.unwrap_or_default()
    );
    assert!(url.path().ends_with("/slo"), "{url}");
    assert!(idp_sessions(&process).await.is_empty());

    // In again, and out from the IdP: the browser goes through Portcullis and back.
    sign_in_as_a_person(&live, &client, "Sign in with SSO", "slo-idp").await;
    let sp_entity = live.sp(&idp).entity_id;
    client
        .goto(&format!(
            "{}/idp-logout?sp={}",
            process.base,
            urlencoding(&sp_entity)
        ))
        .await
        .unwrap();
    let finished = wait_for_text(
        &client,
        "IdP logout finished: urn:oasis:names:tc:SAML:2.0:status:Success",
    )
    .await;
    shot(&client, "slo-idp-3-finished").await;
    assert!(finished, "{}", client.source().await.unwrap_or_default());
    client
        .goto(&format!("{}/a/default/", live.base))
        .await
        .unwrap();
    let url = client.current_url().await.unwrap();
    assert!(url.path().ends_with("/login"), "still signed in: {url}");
    client.close().await.unwrap();
}
