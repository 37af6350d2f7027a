//! Dashboard sessions: server-side rows that a signed cookie refers to, so that logout,
//! deactivation and deletion end them at once.

use chrono::{DateTime, Duration, Utc};

use crate::{AccountId, IdpId, SessionId, User, UserId};

/// A signed-in member's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Stable id (carried in the cookie).
    pub id: SessionId,
    /// The account signed in to.
    pub account: AccountId,
    /// The member.
    pub user: UserId,
    /// How the member proved who they are.
    pub method: AuthMethod,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When it ends on its own.
    pub expires_at: DateTime<Utc>,
    /// When it was ended early (logout, deactivation).
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Session {
    /// A new session of `user`, signed in by `method` at `now`, lasting `ttl`.
    pub fn start(
        id: SessionId,
        user: &User,
        method: AuthMethod,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Self {
        Self {
            id,
            account: user.account,
            user: user.id,
            method,
            created_at: now,
            expires_at: now + ttl,
            revoked_at: None,
        }
    }

    /// Whether the session may still be used at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// How a session was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// Email and password.
    Password,
    /// Through this identity provider.
    Sso(IdpId),
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use uuid::Uuid;

    #[test]
    fn liveness() {
        let t = |s| Utc.timestamp_opt(s, 0).unwrap();
        let mut s = Session {
            id: SessionId::from_uuid(Uuid::from_u128(1)),
            account: AccountId::from_uuid(Uuid::from_u128(2)),
            user: UserId::from_uuid(Uuid::from_u128(3)),
            method: AuthMethod::Password,
            created_at: t(0),
            expires_at: t(100),
            revoked_at: None,
        };
        assert!(s.is_live(t(99)));
        assert!(!s.is_live(t(100)));
        s.revoked_at = Some(t(50));
        assert!(!s.is_live(t(60)));
    }
}

/// What signing out at the IdP needs, kept with an SSO session and nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutHint {
    /// OpenID Connect: the ID token of the sign-in, sent back as `id_token_hint`.
    Oidc {
        /// The ID token (a signed JWT).
        id_token: String,
    },
    /// SAML: the NameID and SessionIndex a `LogoutRequest` names.
    Saml {
        /// The NameID's value.
        name_id: String,
        /// Its format, when the IdP gave one.
        format: Option<String>,
        /// The IdP's session, when the assertion named one.
        session_index: Option<String>,
    },
}
