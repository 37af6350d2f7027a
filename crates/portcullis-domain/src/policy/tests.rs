use chrono::{TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::{
    AccountId, AccountSlug, ApiKeyId, IdpProtocol, IpRestrictions, OidcSettings, SecretHash,
    UserOrigin,
};

fn account(enforcement: EnforcementPolicy, provisioning: ProvisioningMode) -> Account {
    Account {
        id: AccountId::from_uuid(Uuid::from_u128(1)),
        slug: AccountSlug::parse("acme").unwrap(),
        name: "Acme".into(),
        enforcement,
        provisioning,
        api_ip_restrictions: IpRestrictions::none(),
        provision_only_verified_domains: false,
        created_at: Utc.timestamp_opt(0, 0).unwrap(),
        suspended_at: None,
    }
}

fn user(n: u128, kind: UserKind, role: Role, active: bool, password: bool) -> User {
    User {
        id: UserId::from_uuid(Uuid::from_u128(100 + n)),
        account: AccountId::from_uuid(Uuid::from_u128(1)),
        email: Email::parse(&format!("u{n}@acme.test")).unwrap(),
        display_name: format!("User {n}"),
        kind,
        role,
        active,
        password_hash: password.then(|| "$argon2id$v=19$...".to_owned()),
        external_id: None,
        origin: UserOrigin::Bootstrap,
        created_at: Utc.timestamp_opt(0, 0).unwrap(),
        updated_at: Utc.timestamp_opt(0, 0).unwrap(),
    }
}

fn member() -> User {
    user(1, UserKind::Human, Role::Member, true, true)
}

fn idp(n: u128, enabled: bool) -> IdentityProvider {
    IdentityProvider {
        id: IdpId::from_uuid(Uuid::from_u128(200 + n)),
        account: AccountId::from_uuid(Uuid::from_u128(1)),
        description: format!("IdP {n}"),
        enabled,
        protocol: IdpProtocol::Oidc(OidcSettings {
            issuer: "https://idp.example.com".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            scopes: vec![],
            trust_unverified_email: true,
        }),
        created_at: Utc.timestamp_opt(0, 0).unwrap(),
    }
}

use EnforcementPolicy::{Enforced, Mixed};
use ProvisioningMode::{Invite, JustInTime, Scim};

#[test]
fn password_login() {
    let check = |enforcement, user: User, expected| {
        assert_eq!(
            may_use_password(&account(enforcement, Invite), &user),
            expected,
            "{enforcement:?} {user:?}"
        );
    };
    check(Mixed, member(), Ok(()));
    check(Enforced, member(), Err(PasswordRefusal::SsoEnforced));
    check(
        Mixed,
        user(1, UserKind::Human, Role::Member, true, false),
        Err(PasswordRefusal::NoPassword),
    );
    check(
        Mixed,
        user(1, UserKind::Human, Role::Admin, false, true),
        Err(PasswordRefusal::Inactive),
    );
    check(
        Enforced,
        user(1, UserKind::Human, Role::Admin, false, true),
        Err(PasswordRefusal::Inactive),
    );
    check(
        Mixed,
        user(1, UserKind::Bot, Role::Member, true, true),
        Err(PasswordRefusal::Bot),
    );
}

fn identity(idp_n: u128, subject: &str, email: &str) -> SsoIdentity {
    SsoIdentity {
        idp: IdpId::from_uuid(Uuid::from_u128(200 + idp_n)),
        subject: subject.into(),
        email: Email::parse(email).unwrap(),
        display_name: Some("Jo Doe".into()),
        transient: false,
        claims: Default::default(),
        logout_hint: None,
    }
}

fn nobody() -> KnownPerson<'static> {
    KnownPerson {
        by_subject: None,
        by_email: None,
        by_email_subject: None,
        on_verified_domain: false,
    }
}

#[test]
fn sso_unknown_person_depends_on_provisioning_mode() {
    let id = identity(1, "sub-1", "jo@acme.test");
    let jit = decide_sso_login(&account(Mixed, JustInTime), &idp(1, true), &id, nobody());
    assert_eq!(
        jit,
        Ok(SsoDecision::CreateJustInTime {
            email: id.email.clone(),
            display_name: "Jo Doe".into(),
            role: Role::Member,
            link: true,
        })
    );
    assert_eq!(
        decide_sso_login(&account(Mixed, Invite), &idp(1, true), &id, nobody()),
        Err(SsoRefusal::NotProvisioned(Invite))
    );
    assert_eq!(
        decide_sso_login(&account(Enforced, Scim), &idp(1, true), &id, nobody()),
        Err(SsoRefusal::NotProvisioned(Scim))
    );
    let nameless = SsoIdentity {
        display_name: Some("  ".into()),
        ..id.clone()
    };
    match decide_sso_login(
        &account(Mixed, JustInTime),
        &idp(1, true),
        &nameless,
        nobody(),
    ) {
        Ok(SsoDecision::CreateJustInTime { display_name, .. }) => {
            assert_eq!(display_name, "jo@acme.test")
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// An account that provisions only its verified domains creates no one just in time
/// whose email is elsewhere; members who exist sign in as before.
#[test]
fn just_in_time_only_on_verified_domains_when_the_account_says_so() {
    let mut acc = account(Mixed, JustInTime);
    acc.provision_only_verified_domains = true;
    let id = identity(1, "sub-1", "jo@acme.test");
    assert_eq!(
        decide_sso_login(&acc, &idp(1, true), &id, nobody()),
        Err(SsoRefusal::DomainNotVerified)
    );
    let on_domain = KnownPerson {
        on_verified_domain: true,
        ..nobody()
    };
    assert!(matches!(
        decide_sso_login(&acc, &idp(1, true), &id, on_domain),
        Ok(SsoDecision::CreateJustInTime { .. })
    ));
    let m = member();
    let existing = KnownPerson {
        by_email: Some(&m),
        ..nobody()
    };
    assert!(matches!(
        decide_sso_login(
            &acc,
            &idp(1, true),
            &identity(1, "sub-1", m.email.as_str()),
            existing
        ),
        Ok(SsoDecision::SignIn { .. })
    ));
    acc.provision_only_verified_domains = false;
    assert!(matches!(
        decide_sso_login(&acc, &idp(1, true), &id, nobody()),
        Ok(SsoDecision::CreateJustInTime { .. })
    ));
}

#[test]
fn sso_existing_members() {
    let acc = account(Mixed, Invite);
    let m = member();
    let id = identity(1, "sub-1", m.email.as_str());
    let by_email = KnownPerson {
        by_email: Some(&m),
        ..nobody()
    };
    assert_eq!(
        decide_sso_login(&acc, &idp(1, true), &id, by_email),
        Ok(SsoDecision::SignIn {
            user: m.id,
            link: true
        })
    );
    let by_subject = KnownPerson {
        by_subject: Some(&m),
        ..nobody()
    };
    assert_eq!(
        decide_sso_login(&acc, &idp(1, true), &id, by_subject),
        Ok(SsoDecision::SignIn {
            user: m.id,
            link: false
        })
    );
    let linked_elsewhere = KnownPerson {
        by_email: Some(&m),
        by_email_subject: Some("sub-OTHER"),
        ..nobody()
    };
    assert_eq!(
        decide_sso_login(&acc, &idp(1, true), &id, linked_elsewhere),
        Err(SsoRefusal::SubjectConflict)
    );
    let inactive = user(1, UserKind::Human, Role::Member, false, false);
    assert_eq!(
        decide_sso_login(
            &acc,
            &idp(1, true),
            &id,
            KnownPerson {
                by_email: Some(&inactive),
                ..nobody()
            }
        ),
        Err(SsoRefusal::Inactive)
    );
    let bot = user(2, UserKind::Bot, Role::Member, true, false);
    assert_eq!(
        decide_sso_login(
            &acc,
            &idp(1, true),
            &id,
            KnownPerson {
                by_email: Some(&bot),
                ..nobody()
            }
        ),
        Err(SsoRefusal::Bot)
    );
}

#[test]
fn sso_cross_tenant_and_disabled_idps_are_refused() {
    let acc = account(Mixed, JustInTime);
    let id = identity(1, "s", "jo@acme.test");
    let mut foreign = idp(1, true);
    foreign.account = AccountId::from_uuid(Uuid::from_u128(999));
    assert_eq!(
        decide_sso_login(&acc, &foreign, &id, nobody()),
        Err(SsoRefusal::ForeignIdp)
    );
    // An identity verified by IdP 2 presented as if IdP 1 had vouched for it.
    assert_eq!(
        decide_sso_login(
            &acc,
            &idp(1, true),
            &identity(2, "s", "jo@acme.test"),
            nobody()
        ),
        Err(SsoRefusal::ForeignIdp)
    );
    assert_eq!(
        decide_sso_login(&acc, &idp(1, false), &id, nobody()),
        Err(SsoRefusal::IdpDisabled)
    );
    let mut stranger = member();
    stranger.account = AccountId::from_uuid(Uuid::from_u128(999));
    assert_eq!(
        decide_sso_login(
            &acc,
            &idp(1, true),
            &id,
            KnownPerson {
                by_email: Some(&stranger),
                ..nobody()
            }
        ),
        Err(SsoRefusal::ForeignIdp)
    );
}

#[test]
fn enforcement_needs_an_enabled_idp_and_proof() {
    let acc = account(Mixed, Invite);
    let via_idp1 = PolicyRequester::Admin(AuthMethod::Sso(idp(1, true).id));
    let via_password = PolicyRequester::Admin(AuthMethod::Password);
    let check = |idps: &[IdentityProvider], policy, who, expected| {
        assert_eq!(
            may_set_enforcement(&acc, idps, policy, who),
            expected,
            "{policy:?} {who:?}"
        );
    };
    check(&[], Mixed, via_password, Ok(()));
    check(
        &[],
        Enforced,
        PolicyRequester::Operator,
        Err(EnforceRefusal::NoEnabledIdp),
    );
    check(
        &[idp(1, false)],
        Enforced,
        via_idp1,
        Err(EnforceRefusal::NoEnabledIdp),
    );
    check(&[idp(1, true)], Enforced, via_idp1, Ok(()));
    check(
        &[idp(1, true)],
        Enforced,
        via_password,
        Err(EnforceRefusal::NotSignedInThroughIdp),
    );
    check(&[idp(1, true)], Enforced, PolicyRequester::Operator, Ok(()));
    // Signed in through an IdP that has since been disabled proves nothing.
    check(
        &[idp(1, false), idp(2, true)],
        Enforced,
        via_idp1,
        Err(EnforceRefusal::NotSignedInThroughIdp),
    );
}

#[test]
fn provisioning_modes_need_an_idp() {
    let acc = account(Mixed, Invite);
    assert_eq!(may_set_provisioning(&acc, &[], Invite), Ok(()));
    assert_eq!(
        may_set_provisioning(&acc, &[], Scim),
        Err(ProvisioningRefusal::NoIdp(Scim))
    );
    assert_eq!(
        may_set_provisioning(&acc, &[], JustInTime),
        Err(ProvisioningRefusal::NoIdp(JustInTime))
    );
    assert_eq!(
        may_set_provisioning(&acc, &[idp(1, false)], Scim),
        Err(ProvisioningRefusal::NoIdp(Scim))
    );
    assert_eq!(may_set_provisioning(&acc, &[idp(1, true)], Scim), Ok(()));
}

#[test]
fn the_last_idp_cannot_go_while_enforced() {
    let one = [idp(1, true)];
    let id = one[0].id;
    assert_eq!(may_remove_idp(&account(Mixed, Invite), &one, id), Ok(()));
    assert_eq!(
        may_remove_idp(&account(Enforced, Invite), &one, id),
        Err(IdpRemovalRefusal::LastIdpUnderEnforcement)
    );
    assert_eq!(
        may_remove_idp(
            &account(Enforced, Invite),
            &[idp(1, true), idp(2, true)],
            id
        ),
        Ok(())
    );
    assert_eq!(
        may_remove_idp(
            &account(Enforced, Invite),
            &[idp(1, true), idp(2, false)],
            id
        ),
        Err(IdpRemovalRefusal::LastIdpUnderEnforcement)
    );
}

#[test]
fn invitations_use_sso_once_an_idp_exists() {
    let acc = account(Mixed, Invite);
    assert_eq!(invite_acceptance(&acc, &[]), InviteAcceptance::SetPassword);
    assert_eq!(
        invite_acceptance(&acc, &[idp(1, false)]),
        InviteAcceptance::SetPassword
    );
    assert_eq!(
        invite_acceptance(&acc, &[idp(1, true)]),
        InviteAcceptance::SignInThroughIdp
    );
}

fn key(owner: &User) -> ApiKey {
    ApiKey {
        id: ApiKeyId::from_uuid(Uuid::from_u128(300)),
        account: owner.account,
        owner: owner.id,
        description: "scim".into(),
        prefix: "pcl_abcdefgh".into(),
        secret_hash: SecretHash::of("x"),
        created_at: Utc.timestamp_opt(0, 0).unwrap(),
        last_used_at: None,
        revoked_at: None,
        scopes: crate::Scopes::FULL,
        legacy_full_access: false,
    }
}

#[test]
fn api_keys() {
    let ip = "203.0.113.9".parse().unwrap();
    let mut acc = account(Mixed, Scim);
    let admin = user(1, UserKind::Human, Role::Admin, true, true);
    let bot = user(2, UserKind::Bot, Role::Member, true, false);
    assert_eq!(may_use_api_key(&acc, &key(&admin), &admin, ip), Ok(()));
    assert_eq!(may_use_api_key(&acc, &key(&bot), &bot, ip), Ok(()));

    let m = member();
    assert_eq!(
        may_use_api_key(&acc, &key(&m), &m, ip),
        Err(ApiKeyRefusal::OwnerNotAllowed)
    );

    let mut gone = admin.clone();
    gone.active = false;
    assert_eq!(
        may_use_api_key(&acc, &key(&gone), &gone, ip),
        Err(ApiKeyRefusal::OwnerInactive)
    );

    let mut revoked = key(&admin);
    revoked.revoked_at = Some(Utc.timestamp_opt(1, 0).unwrap());
    assert_eq!(
        may_use_api_key(&acc, &revoked, &admin, ip),
        Err(ApiKeyRefusal::Revoked)
    );

    let mut suspended = acc.clone();
    suspended.suspended_at = Some(Utc.timestamp_opt(1, 0).unwrap());
    assert_eq!(
        may_use_api_key(&suspended, &key(&admin), &admin, ip),
        Err(ApiKeyRefusal::AccountSuspended)
    );
    assert_eq!(
        ApiKeyRefusal::AccountSuspended.to_string(),
        "account suspended"
    );

    let mut other_account = acc.clone();
    other_account.id = AccountId::from_uuid(Uuid::from_u128(999));
    assert_eq!(
        may_use_api_key(&other_account, &key(&admin), &admin, ip),
        Err(ApiKeyRefusal::ForeignAccount)
    );
    // A key presented with someone else as its owner.
    assert_eq!(
        may_use_api_key(&acc, &key(&admin), &bot, ip),
        Err(ApiKeyRefusal::ForeignAccount)
    );

    acc.api_ip_restrictions = IpRestrictions::parse(&["198.51.100.0/24"]).unwrap();
    assert_eq!(
        may_use_api_key(&acc, &key(&admin), &admin, ip),
        Err(ApiKeyRefusal::IpNotAllowed(ip))
    );
    assert_eq!(
        may_use_api_key(&acc, &key(&admin), &admin, "198.51.100.1".parse().unwrap()),
        Ok(())
    );
}

#[test]
fn key_owners() {
    assert_eq!(
        may_own_api_key(&user(1, UserKind::Human, Role::Admin, true, true)),
        Ok(())
    );
    assert_eq!(
        may_own_api_key(&user(1, UserKind::Bot, Role::Member, true, false)),
        Ok(())
    );
    assert_eq!(
        may_own_api_key(&member()),
        Err(KeyOwnerRefusal::NotAdminOrBot)
    );
    assert_eq!(
        may_own_api_key(&user(1, UserKind::Bot, Role::Member, false, false)),
        Err(KeyOwnerRefusal::Inactive)
    );
}

/// A transient NameID is a one-time value: it finds no one, links no one and conflicts
/// with no one; the email finds the member, at every sign-in.
#[test]
fn transient_subjects_are_not_identities() {
    let acc = account(Mixed, JustInTime);
    let jo = user(1, UserKind::Human, Role::Member, true, false);
    let transient = |subject: &str| SsoIdentity {
        transient: true,
        ..identity(1, subject, "jo@acme.test")
    };
    // The member is found by email and nothing is linked, even when they are linked to
    // a persistent subject at this IdP already.
    for linked in [None, Some("persistent-jo")] {
        let known = KnownPerson {
            by_subject: None,
            by_email: Some(&jo),
            by_email_subject: linked,
            on_verified_domain: false,
        };
        assert_eq!(
            decide_sso_login(&acc, &idp(1, true), &transient("_t1"), known),
            Ok(SsoDecision::SignIn {
                user: jo.id,
                link: false
            })
        );
    }
    // A transient value that happens to equal a stored subject finds no one by it.
    let other = user(2, UserKind::Human, Role::Member, true, false);
    let known = KnownPerson {
        by_subject: Some(&other),
        by_email: Some(&jo),
        by_email_subject: None,
        on_verified_domain: false,
    };
    assert_eq!(
        decide_sso_login(&acc, &idp(1, true), &transient("_t2"), known),
        Ok(SsoDecision::SignIn {
            user: jo.id,
            link: false
        })
    );
    // Made just in time, without a link.
    match decide_sso_login(&acc, &idp(1, true), &transient("_t3"), nobody()) {
        Ok(SsoDecision::CreateJustInTime { link, .. }) => assert!(!link),
        other => panic!("unexpected {other:?}"),
    }
}
