//! Invitations to join an account.

use chrono::{DateTime, Duration, Utc};

use crate::{AccountId, Email, InvitationId, Role, SecretHash, UserId};

/// A single-use, time-limited invitation for one email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Stable id.
    pub id: InvitationId,
    /// The account to join.
    pub account: AccountId,
    /// Who is invited; accepting requires this address.
    pub email: Email,
    /// The role the new member gets.
    pub role: Role,
    /// The member who invited; `None` when an operator did, making an account's first
    /// admin.
    pub invited_by: Option<UserId>,
    /// Hash of the secret in the invitation link.
    pub token_hash: SecretHash,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When an admin revoked it, or it was revoked with the member who made it.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Invitation {
    /// How long an invitation is valid unless configured otherwise.
    pub fn default_validity() -> Duration {
        Duration::days(7)
    }

    /// Whether the link may still be used at `now`.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none() && now < self.expires_at
    }
}
