//! The store's one error type, and the translation of database errors into it.

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError};
use portcullis_domain::UserId;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row to change does not exist (or belongs to another account), or a row it
    /// refers to does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule of the database refused the write. `what` is one of the
    /// [`conflict`] names, so callers can say which rule.
    #[error("{what} already exists")]
    Conflict {
        /// Which rule: one of the [`conflict`] constants.
        what: &'static str,
    },
    /// The row changed since the caller read it (optimistic concurrency: SCIM `If-Match`).
    #[error("the resource changed since it was read")]
    PreconditionFailed,
    /// A group member to add is not a (non-bot) user of the group's account. Nothing
    /// was applied.
    #[error("{0} is not a member of this account")]
    UnknownMember(UserId),
    /// A filter compares a field in a way it does not support (for example `active gt`).
    #[error("unsupported filter: {0}")]
    InvalidFilter(String),
    /// No connection could be taken from the pool.
    #[error("database connection pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// The database refused or failed a query.
    #[error("database: {0}")]
    Database(DieselError),
    /// Migrations could not be applied.
    #[error("migrations: {0}")]
    Migration(Box<dyn std::error::Error + Send + Sync>),
    /// A secret that may only be stored sealed (an SP private key) was to be written by a
    /// store without an encryption key. Nothing was written.
    #[error("no encryption key is configured: an SP private key is only ever stored encrypted")]
    NoEncryptionKey,
    /// A [`crate::Store::write_batch`] could not go on (its transaction was lost, or its
    /// connection was used in a way it does not allow). Nothing of the batch is kept.
    #[error("write batch: {0}")]
    Batch(&'static str),
    /// A write inside a transaction failed, and the caller went on and asked to commit:
    /// the transaction was rolled back instead ([`crate::Store::transaction`]).
    #[error("a write failed inside the transaction, which was rolled back")]
    FailedWrite,
    /// A stored value could not be read back into a domain type.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

/// The `what` of [`StoreError::Conflict`], one per uniqueness rule.
pub mod conflict {
    /// Two rows with the same primary key (a caller reused an id).
    pub const ID: &str = "id";
    /// An account slug is taken.
    pub const SLUG: &str = "slug";
    /// A user with this email (compared case-insensitively) exists in the account.
    pub const EMAIL: &str = "email";
    /// An API key with this secret hash exists.
    pub const API_KEY: &str = "api key";
    /// The IdP subject is linked to another user, or the user to another subject.
    pub const SSO_LINK: &str = "sso link";
    /// A pending login with this id (state or request id) exists.
    pub const PENDING_LOGIN: &str = "pending login";
    /// An invitation token hash exists.
    pub const INVITATION: &str = "invitation";
    /// A group with this display name (compared case-insensitively) exists in the
    /// account.
    pub const GROUP_NAME: &str = "group displayName";
    /// The account already claims this domain.
    pub const DOMAIN: &str = "domain";
    /// Another account has verified this domain.
    pub const VERIFIED_DOMAIN: &str = "verified domain";
    /// A role rule with the same source, claim and value in the account.
    pub const ROLE_RULE: &str = "role rule";
    /// Any other unique rule.
    pub const OTHER: &str = "unique value";
}

/// Unique rules: the PostgreSQL constraint name, the columns SQLite names in its
/// message, and what the rule protects.
const UNIQUE_RULES: &[(&str, &str, &str)] = &[
    ("accounts_slug_key", "accounts.slug", conflict::SLUG),
    (
        "users_account_email_key",
        "users.account_id, users.email_lower",
        conflict::EMAIL,
    ),
    (
        "api_keys_secret_hash_key",
        "api_keys.secret_hash",
        conflict::API_KEY,
    ),
    (
        "sso_links_pkey",
        "sso_links.idp_id, sso_links.subject",
        conflict::SSO_LINK,
    ),
    (
        "sso_links_idp_user_key",
        "sso_links.idp_id, sso_links.user_id",
        conflict::SSO_LINK,
    ),
    (
        "pending_logins_pkey",
        "pending_logins.id",
        conflict::PENDING_LOGIN,
    ),
    (
        "invitations_token_hash_key",
        "invitations.token_hash",
        conflict::INVITATION,
    ),
    (
        "groups_account_display_name_key",
        "groups.account_id, groups.display_name_lower",
        conflict::GROUP_NAME,
    ),
    (
        "account_domains_account_domain_key",
        "account_domains.account_id, account_domains.domain",
        conflict::DOMAIN,
    ),
    (
        "account_domains_verified_key",
        "account_domains.domain",
        conflict::VERIFIED_DOMAIN,
    ),
    (
        "role_rules_key",
        "index 'role_rules_key'",
        conflict::ROLE_RULE,
    ),
];

fn unique_rule(info: &dyn DatabaseErrorInformation) -> &'static str {
    let constraint = info.constraint_name();
    let message = info.message();
    for (pg, sqlite, what) in UNIQUE_RULES {
        if constraint == Some(pg) || message.ends_with(&format!(": {sqlite}")) {
            return what;
        }
    }
    let primary_key = constraint.is_some_and(|c| c.ends_with("_pkey"))
        || message
            .rsplit_once(": ")
            .is_some_and(|(_, cols)| cols.ends_with(".id") && !cols.contains(','));
    if primary_key {
        conflict::ID
    } else {
        conflict::OTHER
    }
}

impl From<DieselError> for StoreError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict {
                    what: unique_rule(info.as_ref()),
                }
            }
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                StoreError::NotFound
            }
            other => StoreError::Database(other),
        }
    }
}

impl StoreError {
    /// Whether this is a uniqueness conflict.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}
