//! A person signing in through headless Chromium: the account's login page lists a SAML
//! IdP (pysaml2) and an OIDC IdP (oidc-provider) by description, and each leads back
//! signed in. Needs `chromedriver` and `chromium` (installed by `cargo xtask setup`) and
//! the IdPs of `.ci/run`; skips with a note otherwise. Screenshots of every step go to
//! `target/e2e-screenshots/`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::sso_support::idp_process::{
    free_port, oidc_provider, pysaml2, pysaml2_settings, tool, IdpProcess, OIDC_CLIENT,
};
use crate::sso_support::*;

const ADMIN: &str = "admin@localhost";

pub fn chromedriver() -> Option<String> {
    let found = Command::new("which")
        .arg("chromedriver")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if found.is_none() {
        eprintln!("skipping the Chromium tests: chromedriver is not installed (cargo xtask setup)");
    }
    found
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    let dir = target.join("e2e-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// chromedriver (at `path`) on a free loopback port, once it answers.
pub async fn start_chromedriver(path: &str) -> IdpProcess {
    let port = free_port();
    let mut command = Command::new(path);
    command.arg(format!("--port={port}"));
    IdpProcess::spawn(command, format!("http://127.0.0.1:{port}"), "/status").await
}

/// A fresh headless Chromium with its own profile.
pub async fn chromium(driver: &IdpProcess, profile: &tempfile::TempDir) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync", "--window-size=1000,800",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    ClientBuilder::native()
        .capabilities(caps)
        .connect(&driver.base)
        .await
        .unwrap()
}

pub async fn shot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// Opens the login page, picks `choice`, and waits to land on the account's home.
pub async fn sign_in_as_a_person(live: &Live, client: &Client, choice: &str, name: &str) {
    client
        .goto(&format!("{}/a/default/login", live.base))
        .await
        .unwrap();
    shot(client, &format!("{name}-1-login-page")).await;
    client
        .find(Locator::LinkText(choice))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let home = url::Url::parse(&format!("{}/a/default/", live.base)).unwrap();
    let landed = client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_url(&home)
        .await;
    shot(client, &format!("{name}-2-after-sso")).await;
    if let Err(e) = landed {
        let url = client.current_url().await.unwrap();
        let source = client.source().await.unwrap_or_default();
        panic!("{choice}: never reached {home} (at {url}): {e}\n{source}");
    }
    let email = client
        .find(Locator::Css("main strong"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(email, ADMIN, "{choice}");
}

/// On the account's home after an OIDC sign-in: signs out, confirms at oidc-provider's
/// end-session page, and waits for Portcullis' "Signed out" page.
async fn sign_out_at_the_provider(client: &Client) {
    client
        .find(Locator::Css("form[action$='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // oidc-provider asks "Do you want to sign-out from …?".
    let confirm = client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("button[name='logout'][value='yes']"))
        .await;
    shot(client, "oidc-3-provider-sign-out").await;
    confirm.unwrap().click().await.unwrap();
    let mut text = String::new();
    for _ in 0..150 {
        if let Ok(h1) = client.find(Locator::Css("h1")).await {
            text = h1.text().await.unwrap_or_default();
            if text == "Signed out" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shot(client, "oidc-4-signed-out").await;
    let url = client.current_url().await.unwrap();
    assert_eq!(text, "Signed out", "at {url}");
    assert!(url.path().ends_with("/logout"), "{url}");
}

#[actix_web::test]
async fn a_person_signs_in_through_saml_and_oidc_in_chromium() {
    let test = "a_person_signs_in_through_saml_and_oidc_in_chromium";
    let (Some(driver_path), Some(python), Some(op_dir)) = (
        chromedriver(),
        tool("PORTCULLIS_TEST_PYSAML2", test),
        tool("PORTCULLIS_TEST_OIDC_PROVIDER", test),
    ) else {
        return;
    };
    let live = Live::start().await;
    let saml_port = free_port();
    let saml = live.saml_idp_with(pysaml2_settings(saml_port, false));
    let op_port = free_port();
    let oidc = live.oidc_idp(
        &format!("http://127.0.0.1:{op_port}"),
        OIDC_CLIENT.0,
        OIDC_CLIENT.1,
    );
    let (_saml_idp, _dir) = pysaml2(&live, &python, saml_port, &[&saml], ADMIN).await;
    let _op = oidc_provider(&live, &op_dir, op_port, &oidc, ADMIN).await;

    let driver = start_chromedriver(&driver_path).await;

    for (choice, name) in [("Test SAML", "saml"), ("Test OIDC", "oidc")] {
        let profile = tempfile::tempdir().unwrap();
        let client = chromium(&driver, &profile).await;
        sign_in_as_a_person(&live, &client, choice, name).await;
        if name == "oidc" {
            sign_out_at_the_provider(&client).await;
        }
        client.close().await.unwrap();
    }
    let protocols: Vec<String> = live
        .state
        .store
        .list_audit(live.admin.account.id, 100, 0)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "login.succeeded")
        .map(|e| {
            serde_json::from_str::<serde_json::Value>(&e.detail).unwrap()["protocol"].to_string()
        })
        .collect();
    assert_eq!(protocols, ["\"oidc\"", "\"saml\""]);
}
