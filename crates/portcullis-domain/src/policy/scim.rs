//! SCIM provisioning decisions: whether an account answers SCIM at all. (The member a
//! SCIM create makes is [`crate::User::from_scim`].)

use crate::{Account, ProvisioningMode};

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
