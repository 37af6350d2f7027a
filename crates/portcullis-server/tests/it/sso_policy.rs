//! What a verified SSO identity may do: just-in-time members without passwords, refusals
//! with their reasons, enforcement, and the proof that only an SSO session can switch an
//! account to SSO enforced.

use crate::support::ops;
use chrono::Utc;
use portcullis_domain::policy::PolicyRequester;
use portcullis_domain::{
    Actor, AuthMethod, Email, EnforcementPolicy, ProvisioningMode, Role, UserOrigin,
};
use portcullis_server::error::AppError;

use crate::sso_support::*;

const ADMIN: &str = "admin@localhost";

/// A complete IdP-initiated SAML login for `email` in a fresh browser.
async fn sso_login(
    live: &Live,
    idp: &portcullis_domain::IdentityProvider,
    email: &str,
) -> (Browser, Answer) {
    let browser = Browser::new();
    let response = saml_response(live, idp, None, email).b64();
    let answer = browser
        .post_form(&live.acs(idp), &[("SAMLResponse", response.as_str())])
        .await;
    (browser, answer)
}

async fn password_login(live: &Live, email: &str, password: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/api/v1/login", live.base))
        .json(&serde_json::json!({"account": "default", "email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[actix_web::test]
async fn just_in_time_members_are_created_without_a_password() {
    let live = Live::start().await;
    live.set_provisioning(ProvisioningMode::JustInTime);
    let idp = live.saml_idp(saml_fixture::idp_key(), true);
    let (browser, answer) = sso_login(&live, &idp, "bob@acme.test").await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(
        browser.me(&live.base).await.as_deref(),
        Some("bob@acme.test")
    );

    let bob = live
        .state
        .store
        .user_by_email(
            live.admin.account.id,
            &Email::parse("bob@acme.test").unwrap(),
        )
        .unwrap()
        .unwrap();
    assert_eq!(bob.origin, UserOrigin::JustInTime);
    assert_eq!(bob.role, Role::Member);
    assert_eq!(bob.password_hash, None);
    assert_eq!(
        live.state.store.sso_link(idp.id, "bob@acme.test").unwrap(),
        Some(bob.id)
    );
    assert!(live.last_audit("user.created_just_in_time").is_some());
    // No password can ever let Bob in.
    assert_eq!(password_login(&live, "bob@acme.test", "").await, 401);
    assert_eq!(
        password_login(&live, "bob@acme.test", "anything").await,
        401
    );

    // The second login signs the same member in.
    let (browser, _) = sso_login(&live, &idp, "bob@acme.test").await;
    assert_eq!(
        browser.me(&live.base).await.as_deref(),
        Some("bob@acme.test")
    );
}

#[actix_web::test]
async fn unknown_people_are_refused_unless_just_in_time_and_told_whom_to_ask() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), true);
    let (browser, answer) = sso_login(&live, &idp, "eve@acme.test").await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert!(
        answer.body.contains("ask one of its admins"),
        "{}",
        answer.body
    );
    // No admin's address is shown to whoever signed in at the IdP.
    assert!(!answer.body.contains(ADMIN), "{}", answer.body);
    assert_eq!(browser.me(&live.base).await, None);
    assert_eq!(live.last_failure(), "not_provisioned");
    let detail = live.last_audit("login.failed").unwrap();
    assert_eq!(detail["email"], "eve@acme.test");
    assert!(live
        .state
        .store
        .user_by_email(
            live.admin.account.id,
            &Email::parse("eve@acme.test").unwrap()
        )
        .unwrap()
        .is_none());
}

#[actix_web::test]
async fn deactivated_members_are_refused() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), true);
    let mut admin = live.admin.admin.clone();
    admin.active = false;
    live.state.store.update_user(&admin).unwrap();
    let (browser, answer) = sso_login(&live, &idp, ADMIN).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(live.last_failure(), "inactive");
    assert_eq!(browser.me(&live.base).await, None);
}

#[actix_web::test]
async fn a_subject_linked_to_another_person_is_refused() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), true);
    // The admin is linked to another subject at this IdP.
    live.state
        .store
        .link_sso_subject(idp.id, "someone-else", live.admin.admin.id, Utc::now())
        .unwrap();
    let (_, answer) = sso_login(&live, &idp, ADMIN).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(live.last_failure(), "subject_conflict");
}

#[actix_web::test]
async fn under_enforcement_sso_works_and_passwords_do_not() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), true);
    assert_eq!(
        password_login(&live, ADMIN, &live.admin.password).await,
        200
    );
    let mut account = live.account();
    account.enforcement = EnforcementPolicy::Enforced;
    live.state.store.update_account(&account).unwrap();
    assert_eq!(
        password_login(&live, ADMIN, &live.admin.password).await,
        403
    );
    let (browser, answer) = sso_login(&live, &idp, ADMIN).await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(browser.me(&live.base).await.as_deref(), Some(ADMIN));
}

#[actix_web::test]
async fn only_an_sso_session_can_switch_to_enforced() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), true);
    let account = live.account();
    let actor = Actor::User(live.admin.admin.id);

    // A password session cannot lock the account.
    let refused = ops::set_enforcement(
        &live.state.store,
        &account,
        EnforcementPolicy::Enforced,
        PolicyRequester::Admin(AuthMethod::Password),
        actor,
        Utc::now(),
    );
    assert!(matches!(refused, Err(AppError::Conflict(_))), "{refused:?}");

    // The session an SSO login really made carries the IdP, and that may.
    let (browser, _) = sso_login(&live, &idp, ADMIN).await;
    let method = live.session_method(&browser).unwrap();
    assert_eq!(method, AuthMethod::Sso(idp.id));
    let updated = ops::set_enforcement(
        &live.state.store,
        &account,
        EnforcementPolicy::Enforced,
        PolicyRequester::Admin(method),
        actor,
        Utc::now(),
    )
    .unwrap();
    assert_eq!(updated.enforcement, EnforcementPolicy::Enforced);
}

/// A password session of `email` in a fresh browser.
async fn password_session(live: &Live, email: &str, password: &str) -> Browser {
    let browser = Browser::new();
    let response = browser
        .client
        .post(format!("{}/api/v1/login", live.base))
        .json(&serde_json::json!({"account": "default", "email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    browser
}

#[actix_web::test]
async fn sessions_follow_enforcement_and_their_idp() {
    let live = Live::start().await;
    let first = live.saml_idp(saml_fixture::idp_key(), true);
    let second = live.saml_idp(saml_fixture::idp_key(), true);
    live.set_provisioning(ProvisioningMode::JustInTime);
    let password = password_session(&live, ADMIN, &live.admin.password).await;
    let (through_first, _) = sso_login(&live, &first, ADMIN).await;
    let (member_first, _) = sso_login(&live, &first, "bob@acme.test").await;
    let (member_second, _) = sso_login(&live, &second, "carol@acme.test").await;
    for b in [&password, &through_first, &member_first, &member_second] {
        assert!(b.me(&live.base).await.is_some());
    }

    // Enforcing SSO (from the SSO session, as the domain requires) ends the password
    // session at once; the SSO sessions stay.
    let method = live.session_method(&through_first).unwrap();
    ops::set_enforcement(
        &live.state.store,
        &live.account(),
        EnforcementPolicy::Enforced,
        PolicyRequester::Admin(method),
        Actor::User(live.admin.admin.id),
        Utc::now(),
    )
    .unwrap();
    assert_eq!(password.me(&live.base).await, None);
    assert_eq!(through_first.me(&live.base).await.as_deref(), Some(ADMIN));

    // Disabling an IdP ends the sessions that signed in through it, and only those.
    let caller = portcullis_app::Caller::operator(live.account());
    let change = portcullis_app::idps::IdpChange {
        enabled: Some(false),
        ..Default::default()
    };
    portcullis_app::idps::update(
        &live.state,
        &live.state.http_policy(),
        &live.state.sso_providers,
        &caller,
        second.id,
        change,
    )
    .await
    .unwrap();
    assert_eq!(member_second.me(&live.base).await, None);
    assert!(member_first.me(&live.base).await.is_some());
    // Deleting one ends them too.
    portcullis_app::idps::delete(
        &live.state.store,
        &live.state.sso_providers,
        &caller,
        first.id,
    )
    .unwrap_err(); // the last enabled IdP under enforcement stays
    let mut account = live.account();
    account.enforcement = EnforcementPolicy::Mixed;
    live.state.store.update_account(&account).unwrap();
    portcullis_app::idps::delete(
        &live.state.store,
        &live.state.sso_providers,
        &caller,
        first.id,
    )
    .unwrap();
    assert_eq!(member_first.me(&live.base).await, None);
    assert_eq!(through_first.me(&live.base).await, None);
}
