//! Validation errors raised when untrusted input is parsed into domain types.

/// Why a value could not become a domain type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The text is not an email address.
    #[error("{0:?} is not a valid email address")]
    InvalidEmail(String),
    /// The text is not a domain an account can claim.
    #[error("{domain:?} is not a domain an account can claim: {why}")]
    InvalidDomain {
        /// The text given.
        domain: String,
        /// Why not.
        why: String,
    },
    /// An email outside the account's verified domains, in an account that provisions
    /// only members on them.
    #[error("{0} is not one of the account's verified domains, and the account provisions only members with an email on them")]
    DomainNotVerified(String),
    /// A value that is not acceptable for a field, with why.
    #[error("{field}: {why}")]
    InvalidValue {
        /// Which field.
        field: &'static str,
        /// Why not.
        why: String,
    },
    /// The text is not a valid account slug.
    #[error("{0:?} is not a valid account slug: use 1-63 lowercase letters, digits and dashes, not starting or ending with a dash")]
    InvalidSlug(String),
    /// The text is not a CIDR network or IP address.
    #[error("{0:?} is not a valid CIDR range (for example 203.0.113.0/24 or 2001:db8::/32)")]
    InvalidCidr(String),
    /// The text is not a valid id.
    #[error("{0:?} is not a valid id")]
    InvalidId(String),
    /// A required text field is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// A text field is longer than allowed.
    #[error("{field} must be at most {max} characters")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// The maximum length in characters.
        max: usize,
    },
    /// A SAML identity provider was configured without a signing certificate.
    #[error("a SAML identity provider needs at least one signing certificate")]
    NoSigningCertificate,
    /// Signing AuthnRequests or single logout was asked for, but the IdP has no SP
    /// signing key.
    #[error("signing AuthnRequests and single logout need an SP signing key")]
    NoSpSigningKey,
    /// Encrypted assertions were asked for, but the IdP has no SP encryption key.
    #[error("encrypted assertions need an SP encryption key")]
    NoSpEncryptionKey,
    /// A URL field does not hold an absolute http(s) URL.
    #[error("{field} must be an absolute https:// (or http:// for localhost) URL")]
    InvalidUrl {
        /// Which field.
        field: &'static str,
    },
    /// An enumerated value is unknown.
    #[error("{value:?} is not a valid {what}")]
    UnknownValue {
        /// Which kind of value.
        what: &'static str,
        /// The text that was given.
        value: String,
    },
}
