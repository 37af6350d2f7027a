//! Signing out at the IdP: a session from an OpenID provider with an end-session endpoint
//! is sent there with its ID token as `id_token_hint`, the registered post-logout URI and
//! a `state` that must come back to this browser; other sessions sign out locally.

use base64::Engine as _;

use crate::sso_oidc::{authorize, callback_url, ADMIN, CLIENT};
use crate::sso_support::oidc_mock::MockOp;
use crate::sso_support::*;

/// Signs out through the dashboard's form: the answer.
pub async fn sign_out(live: &Live, browser: &Browser) -> Answer {
    let token = browser.cookie(&live.base, "portcullis_session").unwrap();
    let id = live.state.keys.verify(&token).unwrap();
    let csrf = live.state.keys.csrf_token(id);
    browser
        .post_form(
            &format!("{}/a/default/logout", live.base),
            &[("csrf", &csrf)],
        )
        .await
}

/// Where the sign-out page goes on to (its link; the `Refresh` header names the same).
pub fn continue_url(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{answer:?}");
    answer
        .body
        .split("id=\"idp-sign-out\" href=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap_or_else(|| panic!("no way on: {}", answer.body))
        .replace("&amp;", "&")
}

fn payload(jwt: &str) -> serde_json::Value {
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[actix_web::test]
async fn an_oidc_session_signs_out_at_the_provider_and_comes_back_with_its_state() {
    for live in Live::on_both().await {
        let op = MockOp::start(true).await;
        let idp = live.oidc_idp(&op.base, CLIENT, "secret");
        let browser = Browser::new();
        let params = authorize(&live, &op, &browser, &idp, ADMIN).await;
        let answer = browser.get(&callback_url(&live, &idp, &params)).await;
        assert_eq!(answer.status, 303, "{answer:?}");

        let out = sign_out(&live, &browser).await;
        let location = continue_url(&out);
        assert!(
            location.starts_with(&format!("{}/logout?", op.base)),
            "{location}"
        );
        let q = query(&location);
        assert_eq!(payload(&q["id_token_hint"])["sub"], format!("sub-{ADMIN}"));
        assert_eq!(q["client_id"], CLIENT);
        let back = format!("{}/sso/oidc/{}/logout", live.base, idp.id);
        assert_eq!(q["post_logout_redirect_uri"], back);
        assert!(q["state"].len() >= 32);
        // Signed out here at once, whatever the provider does.
        assert_eq!(browser.me(&live.base).await, None);

        // The way back: another state, or another browser, is refused.
        let forged = browser.get(&format!("{back}?state=forged")).await;
        assert_eq!(forged.status, 400, "{forged:?}");
        let stranger = Browser::new()
            .get(&format!("{back}?state={}", q["state"]))
            .await;
        assert_eq!(stranger.status, 400);
        let done = browser.get(&format!("{back}?state={}", q["state"])).await;
        assert_eq!(done.status, 200, "{done:?}");
        assert!(done.body.contains("Signed out"), "{}", done.body);
        assert!(done.body.contains("/a/default/login"));
    }
}

#[actix_web::test]
async fn a_password_or_saml_session_signs_out_locally() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), false);
    let browser = Browser::new();
    let request_id = start_saml(&live, &browser, &idp).await;
    let email = live.admin.admin.email.to_string();
    let response = saml_response(&live, &idp, Some(&request_id), &email);
    let answer = browser
        .post_form(
            &live.acs(&idp),
            &[("SAMLResponse", response.b64().as_str())],
        )
        .await;
    assert_eq!(answer.status, 303, "{answer:?}");
    let out = sign_out(&live, &browser).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location.as_deref(), Some("/a/default/login"));
    assert_eq!(browser.me(&live.base).await, None);
}
