//! Users: human members and bot users of one account.

use chrono::{DateTime, Utc};

use crate::account::text_enum;
use crate::{AccountId, DomainError, Email, Invitation, UserId};

/// A member of an account. Its `Debug` shows whether there is a password hash, never the
/// hash.
#[derive(Clone, PartialEq, Eq)]
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

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("kind", &self.kind)
            .field("role", &self.role)
            .field("active", &self.active)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("external_id", &self.external_id)
            .field("origin", &self.origin)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

impl User {
    /// The first admin of a new account, who signs in with `password_hash` until the
    /// account has single sign-on.
    pub fn bootstrap_admin(
        id: UserId,
        account: AccountId,
        email: Email,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            display_name: email.as_str().to_owned(),
            ..Self::human(id, account, email, Role::Admin, UserOrigin::Bootstrap, now)
        }
        .with_password(Some(password_hash))
    }

    /// The member an accepted invitation makes: the invited email and role, the name they
    /// gave (their email when they gave none), and a password only when they chose one
    /// (members who join through an IdP have none).
    pub fn invited(
        id: UserId,
        invitation: &Invitation,
        display_name: &str,
        password_hash: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        let name = display_name.trim();
        Self {
            display_name: if name.is_empty() {
                invitation.email.to_string()
            } else {
                name.to_owned()
            },
            ..Self::human(
                id,
                invitation.account,
                invitation.email.clone(),
                invitation.role,
                UserOrigin::Invite,
                now,
            )
        }
        .with_password(password_hash)
    }

    /// A member created at their first SSO sign-in. Members created through SSO never
    /// have a password.
    pub fn just_in_time(
        id: UserId,
        account: AccountId,
        email: Email,
        display_name: String,
        role: Role,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            display_name,
            ..Self::human(id, account, email, role, UserOrigin::JustInTime, now)
        }
    }

    /// The member a SCIM create makes: an ordinary human member with origin SCIM and no
    /// password (they sign in through SSO; the placeholder password IdPs send is ignored).
    pub fn from_scim(
        id: UserId,
        account: AccountId,
        email: Email,
        display_name: String,
        active: bool,
        external_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            display_name,
            active,
            external_id,
            ..Self::human(id, account, email, Role::Member, UserOrigin::Scim, now)
        }
    }

    /// Longest bot name, in characters.
    pub const MAX_BOT_NAME: usize = 100;

    /// A bot user named `name` (1 to [`User::MAX_BOT_NAME`] characters with a letter or
    /// digit). Its email is synthetic ([`User::bot_email`]), so bots obey the same
    /// uniqueness rule as people.
    pub fn bot(
        id: UserId,
        account: AccountId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, DomainError> {
        let name = name.trim();
        if name.chars().count() > Self::MAX_BOT_NAME {
            return Err(DomainError::TooLong {
                field: "a bot's name",
                max: Self::MAX_BOT_NAME,
            });
        }
        Ok(Self {
            id,
            account,
            email: Self::bot_email(name)?,
            display_name: name.to_owned(),
            kind: UserKind::Bot,
            role: Role::Member,
            active: true,
            password_hash: None,
            external_id: None,
            origin: UserOrigin::Bootstrap,
            created_at: now,
            updated_at: now,
        })
    }

    /// The synthetic email of the bot named `name`: its letters and digits, lower-cased,
    /// other characters as dashes, `@bot.invalid`.
    pub fn bot_email(name: &str) -> Result<Email, DomainError> {
        let local: String = name
            .trim()
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let local = local.trim_matches('-');
        if local.is_empty() {
            return Err(DomainError::Empty("a bot's name (letters or digits)"));
        }
        Email::parse(&format!("{local}@bot.invalid"))
    }

    fn human(
        id: UserId,
        account: AccountId,
        email: Email,
        role: Role,
        origin: UserOrigin,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            account,
            display_name: String::new(),
            email,
            kind: UserKind::Human,
            role,
            active: true,
            password_hash: None,
            external_id: None,
            origin,
            created_at: now,
            updated_at: now,
        }
    }

    fn with_password(self, password_hash: Option<String>) -> Self {
        Self {
            password_hash,
            ..self
        }
    }

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
