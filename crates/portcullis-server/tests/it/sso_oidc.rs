//! OpenID Connect through the server against the mock OP (PKCE checked, codes single
//! use), and the forged or misdirected callbacks it refuses.

use chrono::{Duration, Utc};
use portcullis_domain::{AuthMethod, IdentityProvider};
use serde_json::json;

use crate::sso_support::oidc_mock::{sign_rs256, MockOp};
use crate::sso_support::*;

pub const ADMIN: &str = "admin@localhost";
pub const CLIENT: &str = "portcullis-client";

/// Starts a login in `browser` and has the OP issue a code for `email`; returns the
/// callback query (code, state, iss) the OP would redirect to.
pub async fn authorize(
    live: &Live,
    op: &MockOp,
    browser: &Browser,
    idp: &IdentityProvider,
    email: &str,
) -> Vec<(String, String)> {
    authorize_with(live, op, browser, idp, email, |claims| sign_rs256(&claims)).await
}

/// [`authorize`] with the ID token made by `token` from the claims.
async fn authorize_with(
    live: &Live,
    op: &MockOp,
    browser: &Browser,
    idp: &IdentityProvider,
    email: &str,
    token: impl FnOnce(serde_json::Value) -> String,
) -> Vec<(String, String)> {
    let answer = browser.get(&live.start_url(idp)).await;
    assert_eq!(answer.status, 303, "{answer:?}");
    let location = answer.location.unwrap();
    assert!(
        location.starts_with(&format!("{}/authorize?", op.base)),
        "{location}"
    );
    let q = query(&location);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(
        q["redirect_uri"],
        format!("{}/sso/oidc/{}/callback", live.base, idp.id)
    );
    let now = Utc::now();
    let token = token(json!({
        "iss": op.base, "sub": format!("sub-{email}"), "aud": CLIENT,
        "exp": (now + Duration::minutes(5)).timestamp(), "iat": now.timestamp(),
        "nonce": q["nonce"], "email": email, "email_verified": true,
    }));
    let code = format!("code-{}", q["state"]);
    op.issue_code(&code, &q["code_challenge"], token);
    vec![
        ("code".into(), code),
        ("state".into(), q["state"].clone()),
        ("iss".into(), op.base.clone()),
    ]
}

pub fn callback_url(live: &Live, idp: &IdentityProvider, params: &[(String, String)]) -> String {
    let mut url = url::Url::parse(&format!("{}/sso/oidc/{}/callback", live.base, idp.id)).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

fn without(params: &[(String, String)], name: &str) -> Vec<(String, String)> {
    params.iter().filter(|(k, _)| k != name).cloned().collect()
}

fn with(params: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut p = without(params, name);
    p.push((name.into(), value.into()));
    p
}

#[actix_web::test]
async fn code_flow_with_pkce_signs_in_and_the_state_is_single_use() {
    let live = Live::start().await;
    let op = MockOp::start(true).await;
    let idp = live.oidc_idp(&op.base, CLIENT, "secret");
    let browser = Browser::new();
    let params = authorize(&live, &op, &browser, &idp, ADMIN).await;
    let answer = browser.get(&callback_url(&live, &idp, &params)).await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(answer.location.as_deref(), Some("/a/default/"));
    assert_eq!(browser.me(&live.base).await.as_deref(), Some(ADMIN));
    assert_eq!(live.session_method(&browser), Some(AuthMethod::Sso(idp.id)));
    assert_eq!(
        live.last_audit("login.succeeded").unwrap()["protocol"],
        "oidc"
    );

    // Reusing the state (and code) is refused.
    let again = Browser::new();
    let answer = browser.get(&callback_url(&live, &idp, &params)).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(live.last_failure(), "unknown_state");
    assert_eq!(again.me(&live.base).await, None);
}

#[actix_web::test]
async fn forged_callbacks_are_refused() {
    let live = Live::start().await;
    let op = MockOp::start(true).await;
    let idp = live.oidc_idp(&op.base, CLIENT, "secret");
    let other_op = MockOp::start(true).await;
    let other_idp = live.oidc_idp(&other_op.base, CLIENT, "secret");

    type Forge = fn(&[(String, String)]) -> Vec<(String, String)>;
    let cases: [(&str, Forge, &str); 4] = [
        (
            "missing iss",
            |p| without(p, "iss"),
            "oidc_missing_iss_parameter",
        ),
        (
            "mismatching iss (mix-up)",
            |p| with(p, "iss", "https://attacker.example"),
            "oidc_iss_mismatch",
        ),
        ("missing state", |p| without(p, "state"), "missing_state"),
        (
            "forged state",
            |p| with(p, "state", "forged"),
            "unknown_state",
        ),
    ];
    for (name, forge, reason) in cases {
        let browser = Browser::new();
        let params = authorize(&live, &op, &browser, &idp, ADMIN).await;
        let answer = browser
            .get(&callback_url(&live, &idp, &forge(&params)))
            .await;
        assert!(
            answer.status == 401 || answer.status == 403,
            "{name}: {answer:?}"
        );
        assert_eq!(live.last_failure(), reason, "{name}");
        assert_eq!(browser.me(&live.base).await, None, "{name}");
    }

    // Another browser presenting a victim's callback.
    let victim = Browser::new();
    let params = authorize(&live, &op, &victim, &idp, ADMIN).await;
    let attacker = Browser::new();
    let answer = attacker.get(&callback_url(&live, &idp, &params)).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(live.last_failure(), "browser_mismatch");
    assert_eq!(attacker.me(&live.base).await, None);

    // A state of one IdP at another IdP's callback.
    let browser = Browser::new();
    let params = authorize(&live, &op, &browser, &idp, ADMIN).await;
    let answer = browser.get(&callback_url(&live, &other_idp, &params)).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(live.last_failure(), "wrong_idp");
}

#[actix_web::test]
async fn an_unreachable_issuer_is_reported_not_hidden() {
    let live = Live::start().await;
    // Nothing listens there.
    let idp = live.oidc_idp("http://127.0.0.1:9", CLIENT, "secret");
    let answer = Browser::new().get(&live.start_url(&idp)).await;
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(live.last_failure(), "discovery_failed");
}

/// OIDC Core §10.1.1: a provider that starts signing with a new key (published in its
/// JWKS) keeps signing people in: the unknown `kid` makes the server fetch the keys
/// again — at most once a minute per IdP, so tokens naming made-up keys cannot turn
/// into a flood of fetches.
#[actix_web::test]
async fn a_provider_that_rotates_its_key_keeps_signing_people_in() {
    use crate::sso_support::oidc_mock::{rotated_key, sign_rs256_with};

    let live = Live::start().await;
    let op = MockOp::start(true).await;
    let idp = live.oidc_idp(&op.base, CLIENT, "secret");
    let browser = Browser::new();
    let params = authorize(&live, &op, &browser, &idp, ADMIN).await;
    let answer = browser.get(&callback_url(&live, &idp, &params)).await;
    assert_eq!(answer.status, 303, "{answer:?}");
    let fetches = op.state.lock().unwrap().jwks_fetches;

    op.state.lock().unwrap().rotated = true;
    let browser = Browser::new();
    let params = authorize_with(&live, &op, &browser, &idp, ADMIN, |c| {
        sign_rs256_with(&c, "k2", rotated_key())
    })
    .await;
    let answer = browser.get(&callback_url(&live, &idp, &params)).await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(browser.me(&live.base).await.as_deref(), Some(ADMIN));
    assert_eq!(op.state.lock().unwrap().jwks_fetches, fetches + 1);

    // Keys nobody published: refused, and the keys are not fetched again within the
    // minute, however many such tokens come.
    let forged = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    for n in 0..3 {
        let browser = Browser::new();
        let kid = format!("made-up-{n}");
        let params = authorize_with(&live, &op, &browser, &idp, ADMIN, |c| {
            sign_rs256_with(&c, &kid, &forged)
        })
        .await;
        let answer = browser.get(&callback_url(&live, &idp, &params)).await;
        assert_eq!(answer.status, 401, "{answer:?}");
        assert_eq!(live.last_failure(), "oidc_bad_signature");
    }
    assert_eq!(op.state.lock().unwrap().jwks_fetches, fetches + 1);
}

/// RFC 7519 §4.1.5: an ID token whose `nbf` is an hour away is refused.
#[actix_web::test]
async fn id_tokens_before_their_nbf_are_refused() {
    let live = Live::start().await;
    let op = MockOp::start(true).await;
    let idp = live.oidc_idp(&op.base, CLIENT, "secret");
    let browser = Browser::new();
    let params = authorize_with(&live, &op, &browser, &idp, ADMIN, |mut c| {
        c["nbf"] = json!((Utc::now() + Duration::hours(1)).timestamp());
        sign_rs256(&c)
    })
    .await;
    let answer = browser.get(&callback_url(&live, &idp, &params)).await;
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(live.last_failure(), "oidc_not_yet_valid");
    assert_eq!(browser.me(&live.base).await, None);
}
