//! SCIM provisioning decisions: whether an account answers SCIM at all, and what a member
//! created by the identity provider is.

use chrono::{DateTime, Utc};

use crate::{
    Account, AccountId, Email, ProvisioningMode, Role, User, UserId, UserKind, UserOrigin,
};

/// Why an account does not answer SCIM requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScimRefusal {
    /// The account provisions members another way.
    #[error(
        "SCIM provisioning is not switched on for this account (its provisioning mode is {}); \
         an admin enables it under Settings → User provisioning after configuring an identity provider",
        .0.as_str()
    )]
    NotScimMode(ProvisioningMode),
}

/// May the identity provider provision `account`'s members over SCIM? Only when the
/// account's provisioning mode is SCIM (which in turn needs an identity provider, see
/// [`super::may_set_provisioning`]).
pub fn may_serve_scim(account: &Account) -> Result<(), ScimRefusal> {
    match account.provisioning {
        ProvisioningMode::Scim => Ok(()),
        other => Err(ScimRefusal::NotScimMode(other)),
    }
}

/// The member a SCIM create makes: an ordinary human member with origin SCIM and no
/// password (they sign in through SSO; the placeholder password IdPs send is ignored).
pub fn scim_member(
    id: UserId,
    account: AccountId,
    email: Email,
    display_name: String,
    active: bool,
    external_id: Option<String>,
    now: DateTime<Utc>,
) -> User {
    User {
        id,
        account,
        email,
        display_name,
        kind: UserKind::Human,
        role: Role::Member,
        active,
        password_hash: None,
        external_id,
        origin: UserOrigin::Scim,
        created_at: now,
        updated_at: now,
    }
}
