//! The decisions: who may sign in how, who is created just in time, which settings may
//! change. Each says no with a typed reason, so callers can show and audit exactly why.

use std::net::IpAddr;

use crate::role_rule::Claims;
use crate::{
    Account, ApiKey, AuthMethod, Email, EnforcementPolicy, IdentityProvider, IdpId,
    ProvisioningMode, UserId, UserKind,
};
use crate::{Role, User};

/// Why a password login is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRefusal {
    /// The account requires SSO for everyone.
    #[error("this account requires single sign-on")]
    SsoEnforced,
    /// The member has no password (created under SSO): they sign in through an IdP.
    #[error("this member signs in with single sign-on")]
    NoPassword,
    /// The member is deactivated.
    #[error("this member is deactivated")]
    Inactive,
    /// Bots never sign in.
    #[error("bot users cannot sign in")]
    Bot,
}

/// May `user` sign in to `account` with a password? (The password itself is checked by
/// the caller; this decides whether a password may be used at all.)
pub fn may_use_password(account: &Account, user: &User) -> Result<(), PasswordRefusal> {
    if user.kind == UserKind::Bot {
        return Err(PasswordRefusal::Bot);
    }
    if !user.active {
        return Err(PasswordRefusal::Inactive);
    }
    if account.enforcement == EnforcementPolicy::Enforced {
        return Err(PasswordRefusal::SsoEnforced);
    }
    if user.password_hash.is_none() {
        return Err(PasswordRefusal::NoPassword);
    }
    Ok(())
}

/// An identity an IdP vouched for, after every protocol check passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoIdentity {
    /// The IdP that vouched.
    pub idp: IdpId,
    /// The IdP's id for the person (SAML NameID, OIDC `sub`).
    pub subject: String,
    /// Whether `subject` is a one-time value (a SAML transient NameID, SAML Core §8.3.8):
    /// it then identifies no one beyond this sign-in, is never linked to a member, and
    /// the member is found by email.
    pub transient: bool,
    /// The person's email address.
    pub email: Email,
    /// The person's name, when the IdP sent one.
    pub display_name: Option<String>,
    /// The text values of the answer's claims (OIDC) or attributes (SAML), by name, for
    /// the account's role rules.
    pub claims: Claims,
    /// What signing out at the IdP will need, kept with the session.
    pub logout_hint: Option<crate::LogoutHint>,
}

/// What the store knows about the person an [`SsoIdentity`] names.
#[derive(Debug, Clone, Copy)]
pub struct KnownPerson<'a> {
    /// The member already linked to this IdP subject, if any.
    pub by_subject: Option<&'a User>,
    /// The member of this account with the identity's email, if any.
    pub by_email: Option<&'a User>,
    /// The subject that `by_email` is already linked to at this IdP, if any.
    pub by_email_subject: Option<&'a str>,
    /// Whether the identity's email is on one of the account's verified domains (read
    /// only when the account provisions only those).
    pub on_verified_domain: bool,
}

/// What to do after a verified SSO login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoDecision {
    /// Sign this existing member in; `link` says the subject should be remembered.
    SignIn {
        /// The member.
        user: UserId,
        /// Whether to link the IdP subject to the member now (first SSO login).
        link: bool,
    },
    /// Create a member just in time and sign them in; `link` says the subject should be
    /// remembered with them (not for a transient subject).
    CreateJustInTime {
        /// Their email.
        email: Email,
        /// Their name (the email when the IdP sent none).
        display_name: String,
        /// The role every just-in-time member gets.
        role: Role,
        /// Whether to link the IdP subject to the new member.
        link: bool,
    },
}

/// Why a verified SSO identity may not sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SsoRefusal {
    /// The IdP belongs to another account.
    #[error("the identity provider does not belong to this account")]
    ForeignIdp,
    /// The IdP is disabled.
    #[error("the identity provider is disabled")]
    IdpDisabled,
    /// Nobody with this identity is a member, and the account does not create members
    /// just in time.
    #[error("you have not been given access to this account; ask one of its admins to {}", match .0 {
        ProvisioningMode::Scim => "assign you to the application in the identity provider",
        _ => "invite you",
    })]
    NotProvisioned(ProvisioningMode),
    /// The member is deactivated.
    #[error("this member is deactivated")]
    Inactive,
    /// The identity names a bot user.
    #[error("bot users cannot sign in")]
    Bot,
    /// The member with this email is already linked to a different person at this IdP.
    #[error(
        "this email belongs to a member linked to a different identity at this identity provider"
    )]
    SubjectConflict,
    /// Nobody with this identity is a member, and the account creates members only with
    /// an email on its verified domains.
    #[error("your email is not on one of this account's verified domains, so you cannot be given access automatically; ask one of its admins")]
    DomainNotVerified,
}

/// Decides what a verified SSO identity may do in `account`.
pub fn decide_sso_login(
    account: &Account,
    idp: &IdentityProvider,
    identity: &SsoIdentity,
    known: KnownPerson<'_>,
) -> Result<SsoDecision, SsoRefusal> {
    if idp.account != account.id || identity.idp != idp.id {
        return Err(SsoRefusal::ForeignIdp);
    }
    if !idp.enabled {
        return Err(SsoRefusal::IdpDisabled);
    }
    // A transient subject was never stored: it neither finds a member nor conflicts with
    // the subject a member is linked to; the email alone finds them.
    let (by_subject, by_email_subject) = if identity.transient {
        (None, None)
    } else {
        (known.by_subject, known.by_email_subject)
    };
    let (user, link) = match (by_subject, known.by_email) {
        (Some(user), _) => (Some(user), false),
        (None, Some(user)) if identity.transient => (Some(user), false),
        (None, Some(user)) => match by_email_subject {
            Some(other) if other != identity.subject => return Err(SsoRefusal::SubjectConflict),
            Some(_) => (Some(user), false),
            None => (Some(user), true),
        },
        (None, None) => (None, false),
    };
    match user {
        Some(user) if user.account != account.id => Err(SsoRefusal::ForeignIdp),
        Some(user) if user.kind == UserKind::Bot => Err(SsoRefusal::Bot),
        Some(user) if !user.active => Err(SsoRefusal::Inactive),
        Some(user) => Ok(SsoDecision::SignIn {
            user: user.id,
            link,
        }),
        None if account.provisioning == ProvisioningMode::JustInTime
            && account.provision_only_verified_domains
            && !known.on_verified_domain =>
        {
            Err(SsoRefusal::DomainNotVerified)
        }
        None if account.provisioning == ProvisioningMode::JustInTime => {
            Ok(SsoDecision::CreateJustInTime {
                email: identity.email.clone(),
                display_name: identity
                    .display_name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| identity.email.to_string()),
                role: Role::Member,
                link: !identity.transient,
            })
        }
        None => Err(SsoRefusal::NotProvisioned(account.provisioning)),
    }
}

/// Who asks to change the enforcement policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRequester {
    /// A signed-in admin, who proved themselves this way in this session.
    Admin(AuthMethod),
    /// An admin API key (keys cannot prove an SSO sign-in).
    ApiKey,
    /// An operator at the server's command line (break-glass).
    Operator,
}

/// Why an account may not switch to SSO enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EnforceRefusal {
    /// No enabled IdP: everyone would be locked out.
    #[error("add and enable an identity provider before enforcing single sign-on")]
    NoEnabledIdp,
    /// The admin has not shown in this session that SSO works for them.
    #[error("sign in through one of the account's identity providers first, to prove single sign-on works, then enforce it")]
    NotSignedInThroughIdp,
}

/// May `account` move to `policy`? Mixed mode is always allowed (it locks nobody out).
pub fn may_set_enforcement(
    account: &Account,
    idps: &[IdentityProvider],
    policy: EnforcementPolicy,
    requester: PolicyRequester,
) -> Result<(), EnforceRefusal> {
    if policy == EnforcementPolicy::Mixed {
        return Ok(());
    }
    let enabled: Vec<&IdentityProvider> = idps
        .iter()
        .filter(|idp| idp.enabled && idp.account == account.id)
        .collect();
    if enabled.is_empty() {
        return Err(EnforceRefusal::NoEnabledIdp);
    }
    match requester {
        PolicyRequester::Operator | PolicyRequester::ApiKey => Ok(()),
        PolicyRequester::Admin(AuthMethod::Sso(via)) if enabled.iter().any(|i| i.id == via) => {
            Ok(())
        }
        PolicyRequester::Admin(_) => Err(EnforceRefusal::NotSignedInThroughIdp),
    }
}

/// Why the provisioning mode may not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProvisioningRefusal {
    /// SCIM and just-in-time provisioning need an identity provider to sign in through.
    #[error("configure a single sign-on identity provider before switching on {}", match .0 {
        ProvisioningMode::Scim => "SCIM provisioning",
        _ => "just-in-time provisioning",
    })]
    NoIdp(ProvisioningMode),
}

/// May `account` use provisioning `mode`? SCIM (and just-in-time creation) only make sense
/// once an enabled SSO identity provider exists.
pub fn may_set_provisioning(
    account: &Account,
    idps: &[IdentityProvider],
    mode: ProvisioningMode,
) -> Result<(), ProvisioningRefusal> {
    let has_idp = idps
        .iter()
        .any(|idp| idp.enabled && idp.account == account.id);
    match mode {
        ProvisioningMode::Invite => Ok(()),
        ProvisioningMode::JustInTime | ProvisioningMode::Scim if has_idp => Ok(()),
        other => Err(ProvisioningRefusal::NoIdp(other)),
    }
}

/// Why an identity provider may not be disabled or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdpRemovalRefusal {
    /// It is the last enabled IdP of an account that enforces SSO.
    #[error("this is the last enabled identity provider and single sign-on is enforced; switch the account to mixed mode first")]
    LastIdpUnderEnforcement,
}

/// May `idp` be disabled or deleted without locking the account out?
pub fn may_remove_idp(
    account: &Account,
    idps: &[IdentityProvider],
    idp: IdpId,
) -> Result<(), IdpRemovalRefusal> {
    if account.enforcement == EnforcementPolicy::Mixed {
        return Ok(());
    }
    let others = idps
        .iter()
        .any(|i| i.enabled && i.id != idp && i.account == account.id);
    if others {
        Ok(())
    } else {
        Err(IdpRemovalRefusal::LastIdpUnderEnforcement)
    }
}

/// How an invitee proves who they are when accepting an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteAcceptance {
    /// The account has no enabled IdP: the invitee chooses a password.
    SetPassword,
    /// The account has an enabled IdP: new members must sign in through it with the
    /// invited email ("all new users must use SSO").
    SignInThroughIdp,
}

/// How an invitation to `account` is accepted.
pub fn invite_acceptance(account: &Account, idps: &[IdentityProvider]) -> InviteAcceptance {
    if idps
        .iter()
        .any(|idp| idp.enabled && idp.account == account.id)
    {
        InviteAcceptance::SignInThroughIdp
    } else {
        InviteAcceptance::SetPassword
    }
}

/// Why an API key may not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyRefusal {
    /// The key was revoked.
    #[error("the API key was revoked")]
    Revoked,
    /// The key's owner is deactivated.
    #[error("the API key's owner is deactivated")]
    OwnerInactive,
    /// The key's owner is neither an admin nor a bot.
    #[error("the API key's owner may not use the API")]
    OwnerNotAllowed,
    /// The key, its owner and the account do not all match.
    #[error("the API key does not belong to this account")]
    ForeignAccount,
    /// The caller's address is outside the account's API IP restrictions.
    #[error("requests from {0} are not allowed by this account's API IP restrictions")]
    IpNotAllowed(IpAddr),
    /// An operator suspended the account.
    #[error("account suspended")]
    AccountSuspended,
}

/// May `key`, owned by `owner`, act in `account` for a caller at `caller`?
pub fn may_use_api_key(
    account: &Account,
    key: &ApiKey,
    owner: &User,
    caller: IpAddr,
) -> Result<(), ApiKeyRefusal> {
    if key.account != account.id || owner.account != account.id || key.owner != owner.id {
        return Err(ApiKeyRefusal::ForeignAccount);
    }
    if key.revoked_at.is_some() {
        return Err(ApiKeyRefusal::Revoked);
    }
    if account.is_suspended() {
        return Err(ApiKeyRefusal::AccountSuspended);
    }
    if !owner.active {
        return Err(ApiKeyRefusal::OwnerInactive);
    }
    if owner.kind == UserKind::Human && owner.role != Role::Admin {
        return Err(ApiKeyRefusal::OwnerNotAllowed);
    }
    if !account.api_ip_restrictions.allows(caller) {
        return Err(ApiKeyRefusal::IpNotAllowed(caller));
    }
    Ok(())
}

/// Why a user may not own a new API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyOwnerRefusal {
    /// Only admins and bot users own API keys.
    #[error("only admins and bot users can own API keys")]
    NotAdminOrBot,
    /// Deactivated users cannot get new keys.
    #[error("the owner is deactivated")]
    Inactive,
}

/// May `owner` be given a new API key?
pub fn may_own_api_key(owner: &User) -> Result<(), KeyOwnerRefusal> {
    if !owner.active {
        return Err(KeyOwnerRefusal::Inactive);
    }
    if owner.kind == UserKind::Human && owner.role != Role::Admin {
        return Err(KeyOwnerRefusal::NotAdminOrBot);
    }
    Ok(())
}

mod scim;
pub use scim::{may_serve_scim, ScimRefusal};
mod admin;
pub use admin::{
    may_change_member, may_manage_account, may_set_ip_restrictions, IpRestrictionRefusal,
    ManageRefusal, MemberChangeRefusal,
};

#[cfg(test)]
mod tests;
