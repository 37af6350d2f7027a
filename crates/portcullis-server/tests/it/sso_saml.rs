//! SAML through the server: SP-initiated and IdP-initiated logins with responses the
//! fixture IdP really signed, and each forged, replayed, misdirected or cross-browser
//! response refused with its reason in the audit log.

use portcullis_domain::{AuthMethod, IdpProtocol};
use portcullis_sso::saml::MAX_ENCODED_RESPONSE;

use crate::sso_support::saml_fixture::{b64, other_key};
use crate::sso_support::*;

const ADMIN: &str = "admin@localhost";

/// Posts `response` to `acs` from `browser`.
async fn post(browser: &Browser, acs: &str, response: &str) -> Answer {
    browser
        .post_form(acs, &[("SAMLResponse", response), ("RelayState", "opaque")])
        .await
}

#[actix_web::test]
async fn sp_initiated_login_signs_the_member_in_and_links_the_subject() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), false);
    let browser = Browser::new();
    let id = start_saml(&live, &browser, &idp).await;
    assert!(id.len() >= 33, "request ids carry 128 random bits: {id}");

    let response = saml_response(&live, &idp, Some(&id), ADMIN).b64();
    let answer = post(&browser, &live.acs(&idp), &response).await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(answer.location.as_deref(), Some("/a/default/"));
    assert_eq!(browser.me(&live.base).await.as_deref(), Some(ADMIN));
    assert_eq!(live.session_method(&browser), Some(AuthMethod::Sso(idp.id)));
    assert_eq!(
        live.state.store.sso_link(idp.id, ADMIN).unwrap(),
        Some(live.admin.admin.id)
    );
    let detail = live.last_audit("login.succeeded").unwrap();
    assert_eq!(detail["method"], "sso");
    assert_eq!(detail["protocol"], "saml");
    assert_eq!(detail["idp"], idp.id.to_string());

    // The same response again: its request was used up.
    let again = post(&browser, &live.acs(&idp), &response).await;
    assert_eq!(again.status, 403, "{again:?}");
    assert_eq!(live.last_failure(), "unknown_request");
}

#[actix_web::test]
async fn return_paths_are_local_only() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), false);
    for (asked, expected) in [
        ("/a/default/settings", "/a/default/settings"),
        ("//evil.example/", "/a/default/"),
        ("https://evil.example/", "/a/default/"),
    ] {
        let browser = Browser::new();
        let url = format!("{}?return_to={}", live.start_url(&idp), asked);
        let answer = browser.get(&url).await;
        let location = answer.location.unwrap();
        // RelayState is an opaque random token, never the return path.
        let relay = &query(&location)["RelayState"];
        assert_eq!(relay.len(), 22, "{relay}");
        assert!(!relay.contains('/'), "{relay}");
        let id = authn_request_id(&location);
        let response = saml_response(&live, &idp, Some(&id), ADMIN).b64();
        let answer = post(&browser, &live.acs(&idp), &response).await;
        assert_eq!(answer.location.as_deref(), Some(expected), "{asked}");
    }
}

#[actix_web::test]
async fn idp_initiated_login_only_where_allowed_and_never_twice() {
    let live = Live::start().await;
    let allowing = live.saml_idp(saml_fixture::idp_key(), true);
    let refusing = live.saml_idp(saml_fixture::idp_key(), false);

    let browser = Browser::new();
    let response = saml_response(&live, &allowing, None, ADMIN).b64();
    let answer = post(&browser, &live.acs(&allowing), &response).await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(answer.location.as_deref(), Some("/a/default/"));
    assert_eq!(browser.me(&live.base).await.as_deref(), Some(ADMIN));

    // Replay of the same signed assertion, from another browser: the replay cache.
    let thief = Browser::new();
    let answer = post(&thief, &live.acs(&allowing), &response).await;
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(live.last_failure(), "assertion_replayed");
    assert_eq!(thief.me(&live.base).await, None);

    // An IdP that does not allow IdP-initiated login.
    let response = saml_response(&live, &refusing, None, ADMIN).b64();
    let answer = post(&thief, &live.acs(&refusing), &response).await;
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(live.last_failure(), "unsolicited_response");
    assert_eq!(thief.me(&live.base).await, None);
}

#[actix_web::test]
async fn a_response_is_refused_at_another_idps_acs() {
    let live = Live::start().await;
    let a = live.saml_idp(saml_fixture::idp_key(), true);
    // B trusts the same certificate and allows unsolicited responses.
    let b = live.saml_idp(saml_fixture::idp_key(), true);
    let browser = Browser::new();

    // SP-initiated at A, posted to B: the pending request belongs to A.
    let id = start_saml(&live, &browser, &a).await;
    let response = saml_response(&live, &a, Some(&id), ADMIN).b64();
    let answer = post(&browser, &live.acs(&b), &response).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(live.last_failure(), "wrong_idp");

    // Unsolicited for A, posted to B: Destination, Recipient and Audience name A.
    let response = saml_response(&live, &a, None, ADMIN).b64();
    let answer = post(&browser, &live.acs(&b), &response).await;
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(live.last_failure(), "saml_wrong_destination");
    assert_eq!(browser.me(&live.base).await, None);
}

#[actix_web::test]
async fn a_response_from_another_browser_is_refused() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), false);
    let victim = Browser::new();
    let id = start_saml(&live, &victim, &idp).await;
    let response = saml_response(&live, &idp, Some(&id), ADMIN).b64();

    let attacker = Browser::new();
    let answer = post(&attacker, &live.acs(&idp), &response).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(live.last_failure(), "browser_mismatch");
    assert_eq!(attacker.me(&live.base).await, None);
}

#[actix_web::test]
async fn forged_responses_are_refused() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), true);
    let browser = Browser::new();

    type Mutation<'a> = Box<dyn Fn(String) -> String + 'a>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "tampered NameID",
            Box::new(|xml: String| xml.replace(">admin@localhost<", ">mallory@localhost<")),
            "saml_bad_signature",
        ),
        (
            "stripped signature",
            Box::new(|xml: String| {
                let start = xml.find("<ds:Signature").unwrap();
                let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
                format!("{}{}", &xml[..start], &xml[end..])
            }),
            "saml_unsigned",
        ),
        (
            "signed by a key the IdP does not own",
            Box::new(|_| {
                let mut p = saml_response(&live, &idp, None, ADMIN);
                p.key = other_key();
                p.xml()
            }),
            "saml_bad_signature",
        ),
    ];
    for (name, mutate, reason) in cases {
        let xml = saml_response(&live, &idp, None, ADMIN).xml();
        let forged = mutate(xml);
        let answer = post(&browser, &live.acs(&idp), &b64(&forged)).await;
        assert_eq!(answer.status, 401, "{name}: {answer:?}");
        assert_eq!(live.last_failure(), reason, "{name}");
        assert_eq!(browser.me(&live.base).await, None, "{name}");
    }
}

#[actix_web::test]
async fn an_sp_initiated_response_reposted_as_unsolicited_is_refused() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), true);
    let browser = Browser::new();
    let id = start_saml(&live, &browser, &idp).await;
    // The Response element is unsigned here, so an attacker can drop its InResponseTo
    // to take the IdP-initiated path; the signed assertion still names the request.
    let mut p = saml_response(&live, &idp, Some(&id), ADMIN);
    p.in_response_to = None;
    let answer = post(&Browser::new(), &live.acs(&idp), &p.b64()).await;
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(live.last_failure(), "saml_unsolicited_with_in_response_to");
}

#[actix_web::test]
async fn disabled_and_foreign_idps_are_refused() {
    let live = Live::start().await;
    let mut idp = live.saml_idp(saml_fixture::idp_key(), true);
    idp.enabled = false;
    live.state.store.update_idp(&idp).unwrap();
    let browser = Browser::new();
    let answer = browser.get(&live.start_url(&idp)).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(live.last_failure(), "idp_disabled");
    let response = saml_response(&live, &idp, None, ADMIN).b64();
    let answer = post(&browser, &live.acs(&idp), &response).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(browser.me(&live.base).await, None);

    // Another account's IdP cannot be started from this account's pages.
    let other = crate::support::ops::create_account(
        &live.state.store,
        "other",
        "Other",
        "boss@other.test",
        chrono::Utc::now(),
    )
    .unwrap();
    let foreign = live.insert_idp(
        other.account.id,
        "Theirs",
        IdpProtocol::Saml(match &idp.protocol {
            IdpProtocol::Saml(s) => s.clone(),
            IdpProtocol::Oidc(_) => unreachable!(),
        }),
    );
    let answer = browser.get(&live.start_url(&foreign)).await;
    assert_eq!(answer.status, 404, "{answer:?}");
}

#[actix_web::test]
async fn oversized_responses_get_413() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), true);
    let huge = "A".repeat(MAX_ENCODED_RESPONSE * 2);
    let answer = post(&Browser::new(), &live.acs(&idp), &huge).await;
    assert_eq!(
        answer.status,
        413,
        "{}",
        &answer.body[..200.min(answer.body.len())]
    );
    assert!(answer.body.contains("too large"));
}

#[actix_web::test]
async fn sp_metadata_names_this_idps_entity_and_acs() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), false);
    let response = reqwest::get(format!("{}/sso/saml/{}/metadata", live.base, idp.id))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/samlmetadata+xml"
    );
    let xml = response.text().await.unwrap();
    let sp = live.sp(&idp);
    assert!(
        xml.contains(&format!("entityID=\"{}\"", sp.entity_id)),
        "{xml}"
    );
    assert!(
        xml.contains(&format!("Location=\"{}\"", sp.acs_url)),
        "{xml}"
    );

    let oidc = live.oidc_idp("https://op.example.test", "c", "s");
    for id in [
        oidc.id.to_string(),
        "nope".into(),
        uuid::Uuid::new_v4().to_string(),
    ] {
        let response = reqwest::get(format!("{}/sso/saml/{id}/metadata", live.base))
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{id}");
    }
}

#[actix_web::test]
async fn the_chooser_goes_straight_to_a_single_idp() {
    let live = Live::start().await;
    let browser = Browser::new();
    let chooser = format!("{}/a/default/sso", live.base);
    let answer = browser.get(&chooser).await;
    assert_eq!(answer.location.as_deref(), Some("/a/default/login"));
    let first = live.saml_idp(saml_fixture::idp_key(), false);
    let answer = browser.get(&chooser).await;
    assert_eq!(
        answer.location.unwrap(),
        format!("/a/default/sso/{}/start?return_to=/a/default/", first.id)
    );
    live.saml_idp(saml_fixture::idp_key(), false);
    let answer = browser.get(&chooser).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body.matches("/start?return_to=").count(), 2);
}

#[actix_web::test]
async fn an_expired_login_attempt_is_refused() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), false);
    let browser = Browser::new();
    let id = start_saml(&live, &browser, &idp).await;
    // The attempt is 10 minutes old: put it back as expired.
    let now = chrono::Utc::now();
    let mut pending = live
        .state
        .store
        .take_pending_login(&id, now)
        .unwrap()
        .unwrap();
    assert!(pending.expires_at <= now + chrono::Duration::minutes(10));
    pending.expires_at = now - chrono::Duration::seconds(1);
    live.state.store.insert_pending_login(&pending).unwrap();

    let response = saml_response(&live, &idp, Some(&id), ADMIN).b64();
    let answer = post(&browser, &live.acs(&idp), &response).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(live.last_failure(), "unknown_request");
    assert_eq!(browser.me(&live.base).await, None);
}
