//! An invitation accepted through the account's IdP: the invitee signs in with the
//! invited email and becomes a member linked to their IdP subject; a used link or another
//! email is refused.

use chrono::{Duration, Utc};
use portcullis_domain::{ApiKeySecret, Email, Invitation, InvitationId, Role};

use crate::sso_support::*;

fn invite(live: &Live, email: &str, n: u8) -> String {
    let secret = ApiKeySecret::from_random([n; 32]);
    let now = Utc::now();
    live.state
        .store
        .insert_invitation(&Invitation {
            id: InvitationId::from_uuid(uuid::Uuid::new_v4()),
            account: live.admin.account.id,
            email: Email::parse(email).unwrap(),
            role: Role::Member,
            invited_by: Some(live.admin.admin.id),
            token_hash: secret.hash(),
            created_at: now,
            expires_at: now + Duration::days(7),
            accepted_at: None,
            revoked_at: None,
        })
        .unwrap();
    secret.hash().as_str().to_owned()
}

/// Goes through the IdP with the invitation's return path, as `email`.
async fn sign_in_invited(
    live: &Live,
    idp: &portcullis_domain::IdentityProvider,
    hash: &str,
    email: &str,
) -> (Browser, Answer) {
    let browser = Browser::new();
    let start = browser
        .get(&format!(
            "{}?return_to=/invite/complete/{hash}",
            live.start_url(idp)
        ))
        .await;
    assert_eq!(start.status, 303, "{start:?}");
    let id = authn_request_id(start.location.as_deref().unwrap());
    let response = saml_response(live, idp, Some(&id), email).b64();
    let answer = browser
        .post_form(
            &live.acs(idp),
            &[("SAMLResponse", &response), ("RelayState", "x")],
        )
        .await;
    (browser, answer)
}

#[actix_web::test]
async fn an_invitee_joins_through_the_idp_once() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), false);
    let hash = invite(&live, "new@acme.test", 1);

    let (browser, answer) = sign_in_invited(&live, &idp, &hash, "new@acme.test").await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(answer.location.as_deref(), Some("/a/default/"));
    assert_eq!(
        browser.me(&live.base).await.as_deref(),
        Some("new@acme.test")
    );
    let store = &live.state.store;
    let member = store
        .user_by_email(
            live.admin.account.id,
            &Email::parse("new@acme.test").unwrap(),
        )
        .unwrap()
        .unwrap();
    assert!(
        member.password_hash.is_none(),
        "members who join under SSO have no password"
    );
    assert_eq!(
        store.sso_link(idp.id, "new@acme.test").unwrap(),
        Some(member.id)
    );

    // The same link again, by someone else: used up, nobody created.
    let (_, again) = sign_in_invited(&live, &idp, &hash, "other@acme.test").await;
    assert!(again.status >= 400, "{again:?}");
    let other = Email::parse("other@acme.test").unwrap();
    assert!(store
        .user_by_email(live.admin.account.id, &other)
        .unwrap()
        .is_none());
}

#[actix_web::test]
async fn an_invitation_is_for_its_email_only() {
    let live = Live::start().await;
    let idp = live.saml_idp(saml_fixture::idp_key(), false);
    let hash = invite(&live, "invited@acme.test", 2);
    let (browser, answer) = sign_in_invited(&live, &idp, &hash, "intruder@acme.test").await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert!(
        answer.body.contains("invited@acme.test"),
        "says whom the link is for"
    );
    assert_eq!(browser.me(&live.base).await, None);
    let intruder = Email::parse("intruder@acme.test").unwrap();
    assert!(live
        .state
        .store
        .user_by_email(live.admin.account.id, &intruder)
        .unwrap()
        .is_none());
    // A forged hash is no invitation.
    let (_, forged) = sign_in_invited(&live, &idp, &"0".repeat(64), "invited@acme.test").await;
    assert!(forged.status >= 400, "{forged:?}");
}
