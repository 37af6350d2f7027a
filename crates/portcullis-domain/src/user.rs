//! Users: human members and bot users of one account.

use chrono::{DateTime, Utc};

use crate::account::text_enum;
use crate::{AccountId, Email, UserId};

/// A member of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// The account the user belongs to.
    pub account: AccountId,
    /// Unique within the account, compared case-insensitively. Bots get a synthetic
    /// address under `bots.invalid` so the uniqueness rule holds for them too.
    pub email: Email,
    /// Full name.
    pub display_name: String,
    /// Human or bot.
    pub kind: UserKind,
    /// What the user may do in the account.
    pub role: Role,
    /// Inactive users cannot sign in and their API keys stop working.
    pub active: bool,
    /// Argon2id hash (PHC string) when the user may sign in with a password.
    pub password_hash: Option<String>,
    /// The identity provider's id for this user (SCIM `externalId`).
    pub external_id: Option<String>,
    /// How the user came to exist.
    pub origin: UserOrigin,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
    /// When the user last changed.
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// Whether the user is a bot (bots never sign in).
    pub fn is_bot(&self) -> bool {
        self.kind == UserKind::Bot
    }

    /// Whether the user may change account settings.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Human member or bot user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserKind {
    /// A person who signs in.
    Human,
    /// A service user that never signs in and exists to own API keys.
    Bot,
}

/// What a member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// May change every setting of the account.
    Admin,
    /// May use the account but not change its settings.
    Member,
}

/// How a user came to exist; shown on the members page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserOrigin {
    /// Created with the account (the first admin) or by an operator command.
    Bootstrap,
    /// Accepted an invitation.
    Invite,
    /// Created on first SSO login.
    JustInTime,
    /// Created by the identity provider over SCIM.
    Scim,
}

text_enum!(UserKind, "user kind", { Human => "human", Bot => "bot" });
text_enum!(Role, "role", { Admin => "admin", Member => "member" });
text_enum!(UserOrigin, "user origin", {
    Bootstrap => "bootstrap",
    Invite => "invite",
    JustInTime => "just_in_time",
    Scim => "scim",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip() {
        for k in [UserKind::Human, UserKind::Bot] {
            assert_eq!(k.as_str().parse::<UserKind>().unwrap(), k);
        }
        for r in [Role::Admin, Role::Member] {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        for o in [
            UserOrigin::Bootstrap,
            UserOrigin::Invite,
            UserOrigin::JustInTime,
            UserOrigin::Scim,
        ] {
            assert_eq!(o.as_str().parse::<UserOrigin>().unwrap(), o);
        }
        assert!("owner".parse::<Role>().is_err());
    }
}
