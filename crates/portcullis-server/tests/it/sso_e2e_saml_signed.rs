//! End to end: signed AuthnRequests against a real SAML IdP (pysaml2 with
//! `want_authn_requests_signed`), which verifies the HTTP-Redirect signature with the SP
//! certificate it read from Portcullis' SP metadata. The IdP is set up through the admin
//! API, as an admin would. Needs `PORTCULLIS_TEST_PYSAML2` (`.ci/run` sets it).

use crate::support::ops;
use chrono::Utc;
use portcullis_domain::{Actor, IdentityProvider, IdpId};
use serde_json::{json, Value};

use crate::sso_support::idp_process::{free_port, parse_form, pysaml2_with, tool};
use crate::sso_support::saml_fixture::idp_key;
use crate::sso_support::*;

const ADMIN: &str = "admin@localhost";

/// Calls the live admin API with a fresh API key of the bootstrap admin.
pub struct AdminApi {
    base: String,
    key: String,
    client: reqwest::Client,
}

impl AdminApi {
    pub fn new(live: &Live) -> Self {
        let (_, secret) = ops::create_api_key(
            &live.state.store,
            &live.admin.account,
            &live.admin.admin,
            "e2e",
            Actor::System,
            Utc::now(),
        )
        .unwrap();
        Self {
            base: live.base.clone(),
            key: secret.expose().to_owned(),
            client: reqwest::Client::new(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Value {
        let response = request.bearer_auth(&self.key).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{status}: {body}");
        body
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        self.send(self.client.post(url).json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        self.send(self.client.patch(url).json(&body)).await
    }
}

/// Follows the SP-initiated start to the IdP and returns the IdP's answer to the
/// AuthnRequest.
async fn to_the_idp(live: &Live, browser: &Browser, idp: &IdentityProvider) -> (String, Answer) {
    let answer = browser.get(&live.start_url(idp)).await;
    assert_eq!(answer.status, 303, "{answer:?}");
    let location = answer.location.unwrap();
    (location.clone(), browser.get(&location).await)
}

#[actix_web::test]
async fn pysaml2_verifies_signed_authn_requests() {
    let test = "pysaml2_verifies_signed_authn_requests";
    let Some(python) = tool("PORTCULLIS_TEST_PYSAML2", test) else {
        return;
    };
    let live = Live::start().await;
    let api = AdminApi::new(&live);
    let port = free_port();
    let idp_base = format!("http://127.0.0.1:{port}");

    // The admin adds the IdP by hand with signing on; Portcullis makes the SP key.
    let created = api
        .post(
            "/api/v1/idps",
            json!({
                "description": "pysaml2",
                "sign_authn_requests": true,
                "saml": {
                    "entity_id": format!("{idp_base}/metadata"),
                    "sso_url": format!("{idp_base}/sso"),
                    "certificates": [idp_key().cert_pem],
                },
            }),
        )
        .await;
    assert_eq!(created["saml"]["sign_authn_requests"], true);
    let id: IdpId = created["id"].as_str().unwrap().parse().unwrap();
    let idp = live.state.store.idp_by_id(id).unwrap().unwrap();

    // The IdP reads our SP metadata (with the SP certificate) and wants signed requests.
    let (_process, _dir) = pysaml2_with(
        &live,
        &python,
        port,
        &[&idp],
        ADMIN,
        &["--want-signed-requests"],
    )
    .await;

    // A signed request: the IdP verifies it and answers; the login succeeds.
    let browser = Browser::new();
    let (location, page) = to_the_idp(&live, &browser, &idp).await;
    let q = query(&location);
    assert_eq!(
        q["SigAlg"],
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    );
    assert!(q.contains_key("Signature"));
    assert_eq!(page.status, 200, "{}", page.body);
    let form = parse_form(&page.body);
    assert_eq!(form.action, live.acs(&idp));
    let answer = browser.post_form(&form.action, &form.pairs()).await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(browser.me(&live.base).await.as_deref(), Some(ADMIN));

    // The request's signature, with another RelayState, is refused by the IdP.
    let browser = Browser::new();
    let location = browser.get(&live.start_url(&idp)).await.location.unwrap();
    let forged = location.replacen("&RelayState=", "&RelayState=x", 1);
    assert_ne!(forged, location);
    let page = browser.get(&forged).await;
    assert_eq!(page.status, 500, "{}", page.body);
    assert!(page.body.contains("IncorrectlySigned"), "{}", page.body);

    // The SP key is replaced, but the IdP still holds the old certificate: it refuses.
    let rotated = api
        .post(&format!("/api/v1/idps/{id}/rotate-sp-key"), json!({}))
        .await;
    assert_ne!(
        rotated["copy_into_idp"]["signing_certificate"],
        created["copy_into_idp"]["signing_certificate"]
    );
    let browser = Browser::new();
    let (location, page) = to_the_idp(&live, &browser, &idp).await;
    assert!(query(&location).contains_key("Signature"));
    assert_eq!(page.status, 500, "{}", page.body);
    assert!(page.body.contains("IncorrectlySigned"), "{}", page.body);
    assert_eq!(browser.me(&live.base).await, None);

    // With signing switched off, the unsigned request is refused too: the IdP really
    // insists on the signature it verified above.
    api.patch(
        &format!("/api/v1/idps/{id}"),
        json!({"sign_authn_requests": false}),
    )
    .await;
    let browser = Browser::new();
    let (location, page) = to_the_idp(&live, &browser, &idp).await;
    assert!(!query(&location).contains_key("Signature"));
    assert_eq!(page.status, 500, "{}", page.body);
    assert!(page.body.contains("IncorrectlySigned"), "{}", page.body);
}
