//! The Portcullis domain: accounts, users, identity providers, API keys, sessions and
//! the decisions over them ("may this person sign in this way?", "create this user just
//! in time?").
//!
//! This crate is pure. It never does I/O, never reads the clock and never draws
//! randomness: the current time and any random bytes are arguments. It must never
//! depend on diesel, actix-web, an HTTP client or another Portcullis crate; `cargo
//! xtask check-deps` enforces that.

pub mod account;
pub mod api_key;
pub mod audit;
pub mod email;
pub mod email_domain;
pub mod error;
pub mod idp;
pub mod ids;
pub mod invitation;
pub mod policy;
pub mod role_rule;
pub mod session;
pub mod setup_link;
pub mod sign_in_attempt;
pub mod slug;
pub mod user;
pub mod webhook;

pub use account::{
    Account, EnforcementPolicy, IpRestrictions, ProvisioningMode, ACCOUNT_SUSPENDED,
};
pub use api_key::{ApiKey, ApiKeySecret, Scope, Scopes, SecretHash};
pub use audit::{Actor, AuditEvent};
pub use email::Email;
pub use email_domain::{AccountDomain, EmailDomain};
pub use error::DomainError;
pub use idp::{
    AssertionEncryption, IdentityProvider, IdpProtocol, OidcSettings, SamlSettings,
    SpEncryptionKeys, SpKeyPair, PREVIOUS_ENCRYPTION_KEY_GRACE,
};
pub use ids::{
    AccountId, ApiKeyId, AuditEventId, DeliveryId, DomainId, GroupId, IdpId, InvitationId,
    RoleRuleId, SessionId, SetupLinkId, UserId, WebhookId,
};
pub use invitation::Invitation;
pub use role_rule::{RoleRule, RoleSource};
pub use session::{AuthMethod, LogoutHint, Session};
pub use setup_link::{SetupLink, SetupSection};
pub use slug::AccountSlug;
pub use user::{Role, User, UserKind, UserOrigin};
pub use webhook::{DeliveryStatus, Webhook, WebhookSecret};
