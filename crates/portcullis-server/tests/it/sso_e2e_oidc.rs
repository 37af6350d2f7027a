//! End to end against a real OpenID provider (oidc-provider, `tests/idp/oidc_provider.mjs`):
//! the code flow with PKCE through its login and consent interactions, then reused
//! states, another browser and missing or mismatching RFC 9207 `iss`; and signing out at
//! its end-session endpoint. Needs
//! `PORTCULLIS_TEST_OIDC_PROVIDER` (the folder with the script and its `node_modules`;
//! `.ci/run` sets it) and `node`.

use portcullis_domain::{AuthMethod, IdentityProvider};

use crate::sso_support::idp_process::{free_port, oidc_provider, tool, IdpProcess, OIDC_CLIENT};
use crate::sso_support::*;

const ADMIN: &str = "admin@localhost";

struct Setup {
    live: Live,
    idp: IdentityProvider,
    process: IdpProcess,
}

async fn setup(test: &str) -> Option<Setup> {
    let dir = tool("PORTCULLIS_TEST_OIDC_PROVIDER", test)?;
    let live = Live::start().await;
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let idp = live.oidc_idp(&issuer, OIDC_CLIENT.0, OIDC_CLIENT.1);
    let process = oidc_provider(&live, &dir, port, &idp, ADMIN).await;
    Some(Setup { live, idp, process })
}

impl Setup {
    /// Starts a login in `browser` and follows the OP's redirects (login and consent
    /// interactions included) until it sends the browser back; returns that callback URL.
    async fn callback_url(&self, browser: &Browser) -> url::Url {
        let answer = browser.get(&self.live.start_url(&self.idp)).await;
        assert_eq!(answer.status, 303, "{answer:?}");
        let mut location = url::Url::parse(&answer.location.unwrap()).unwrap();
        for _ in 0..10 {
            if location.as_str().starts_with(&self.live.base) {
                return location;
            }
            assert!(
                location.as_str().starts_with(&self.process.base),
                "{location}"
            );
            let answer = browser.get(location.as_str()).await;
            assert!((300..400).contains(&answer.status), "{answer:?}");
            location = location.join(&answer.location.unwrap()).unwrap();
        }
        panic!("the OP never redirected back");
    }
}

fn without(url: &url::Url, name: &str) -> url::Url {
    let mut out = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != name)
        .collect();
    out.query_pairs_mut().clear().extend_pairs(pairs);
    out
}

fn replaced(url: &url::Url, name: &str, value: &str) -> url::Url {
    let mut out = without(url, name);
    out.query_pairs_mut().append_pair(name, value);
    out
}

#[actix_web::test]
async fn oidc_provider_code_flow_with_pkce() {
    let Some(s) = setup("oidc_provider_code_flow_with_pkce").await else {
        return;
    };
    let browser = Browser::new();
    let callback = s.callback_url(&browser).await;
    let q = query(callback.as_str());
    assert_eq!(q["iss"], s.process.base, "RFC 9207 iss is sent");
    let answer = browser.get(callback.as_str()).await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(answer.location.as_deref(), Some("/a/default/"));
    assert_eq!(browser.me(&s.live.base).await.as_deref(), Some(ADMIN));
    assert_eq!(
        s.live.session_method(&browser),
        Some(AuthMethod::Sso(s.idp.id))
    );

    // The same callback again: the state was used up.
    let answer = browser.get(callback.as_str()).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(s.live.last_failure(), "unknown_state");
}

#[actix_web::test]
async fn oidc_provider_signs_the_person_out_too() {
    let Some(s) = setup("oidc_provider_signs_the_person_out_too").await else {
        return;
    };
    let browser = Browser::new();
    let callback = s.callback_url(&browser).await;
    assert_eq!(browser.get(callback.as_str()).await.status, 303);
    assert_eq!(browser.me(&s.live.base).await.as_deref(), Some(ADMIN));

    let token = browser.cookie(&s.live.base, "portcullis_session").unwrap();
    let csrf = s
        .live
        .state
        .keys
        .csrf_token(s.live.state.keys.verify(&token).unwrap());
    let out = browser
        .post_form(
            &format!("{}/a/default/logout", s.live.base),
            &[("csrf", &csrf)],
        )
        .await;
    let end_session = crate::sso_logout::continue_url(&out);
    assert!(end_session.starts_with(&s.process.base), "{end_session}");
    assert_eq!(browser.me(&s.live.base).await, None);

    // oidc-provider checks the id_token_hint and the registered post-logout URI, then asks.
    let page = browser.get(&end_session).await;
    assert_eq!(page.status, 200, "{page:?}");
    let xsrf = page
        .body
        .split("name=\"xsrf\" value=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap_or_else(|| panic!("no sign-out form: {}", page.body))
        .to_owned();
    let action = url::Url::parse(&end_session)
        .unwrap()
        .join("/session/end/confirm")
        .unwrap();
    let confirmed = browser
        .post_form(action.as_str(), &[("xsrf", &xsrf), ("logout", "yes")])
        .await;
    assert!((300..400).contains(&confirmed.status), "{confirmed:?}");
    let back = confirmed.location.unwrap();
    assert!(
        back.starts_with(&format!("{}/sso/oidc/{}/logout?", s.live.base, s.idp.id)),
        "{back}"
    );
    let done = browser.get(&back).await;
    assert_eq!(done.status, 200, "{done:?}");
    assert!(done.body.contains("Signed out"));
}

#[actix_web::test]
async fn oidc_provider_attack_corpus() {
    let Some(s) = setup("oidc_provider_attack_corpus").await else {
        return;
    };
    let live = &s.live;

    // A victim's callback presented by another browser.
    let victim = Browser::new();
    let callback = s.callback_url(&victim).await;
    let attacker = Browser::new();
    assert_eq!(attacker.get(callback.as_str()).await.status, 403);
    assert_eq!(live.last_failure(), "browser_mismatch");
    assert_eq!(attacker.me(&live.base).await, None);

    type Forge = fn(&url::Url) -> url::Url;
    let forgeries: [(&str, Forge, &str); 3] = [
        (
            "missing iss",
            |u| without(u, "iss"),
            "oidc_missing_iss_parameter",
        ),
        (
            "mismatching iss (mix-up)",
            |u| replaced(u, "iss", "https://attacker.example"),
            "oidc_iss_mismatch",
        ),
        (
            "forged state",
            |u| replaced(u, "state", "forged"),
            "unknown_state",
        ),
    ];
    for (name, forge, reason) in forgeries {
        let browser = Browser::new();
        let callback = s.callback_url(&browser).await;
        let answer = browser.get(forge(&callback).as_str()).await;
        assert!(
            answer.status == 401 || answer.status == 403,
            "{name}: {answer:?}"
        );
        assert_eq!(live.last_failure(), reason, "{name}");
        assert_eq!(browser.me(&live.base).await, None, "{name}");
    }
}
