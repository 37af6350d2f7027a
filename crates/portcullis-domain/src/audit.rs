//! Audit events: who did what, when, from where.

use chrono::{DateTime, Utc};

use crate::{AccountId, ApiKeyId, AuditEventId, SetupLinkId, UserId};

/// One entry of an account's audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Stable id.
    pub id: AuditEventId,
    /// The account it concerns.
    pub account: AccountId,
    /// Who acted.
    pub actor: Actor,
    /// A dotted action name such as `login.password.succeeded` or `scim.user.created`.
    pub action: String,
    /// What was acted on (a user id, an IdP id), when anything.
    pub target: Option<String>,
    /// The client address, when known.
    pub ip: Option<String>,
    /// Extra detail (a refusal reason, the attributes changed), as JSON text.
    pub detail: String,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// Who caused an audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in member.
    User(UserId),
    /// An API key (SCIM or the admin API).
    ApiKey(ApiKeyId),
    /// An operator command or the server itself.
    System,
    /// Someone not (yet) identified, such as a failed login.
    Anonymous,
    /// The customer's IT admin, through a setup link.
    SetupLink(SetupLinkId),
}
