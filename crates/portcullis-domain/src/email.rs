//! Email addresses: validated once at the edge, compared case-insensitively.

use std::fmt;
use std::str::FromStr;

use crate::DomainError;

/// A syntactically valid email address.
///
/// The address keeps the spelling it was given (IdPs and people expect to see it back
/// unchanged) but two addresses that differ only in letter case are the same member:
/// equality uses [`Email::normalized`].
#[derive(Debug, Clone)]
pub struct Email {
    original: String,
    normalized: String,
}

impl Email {
    /// Longest address accepted (RFC 5321 limits a path to 256 octets).
    pub const MAX_LEN: usize = 254;

    /// Parses and validates an address; surrounding whitespace is trimmed.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let trimmed = text.trim();
        if trimmed.len() > Self::MAX_LEN || !email_address::EmailAddress::is_valid(trimmed) {
            return Err(DomainError::InvalidEmail(text.to_owned()));
        }
        // Display-name forms such as `Jo <jo@example.com>` are valid for the parser
        // but are not an address a member can be identified by.
        if trimmed.contains(['<', '>', ' ']) {
            return Err(DomainError::InvalidEmail(text.to_owned()));
        }
        Ok(Self {
            original: trimmed.to_owned(),
            normalized: trimmed.to_lowercase(),
        })
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The lower-cased form used for comparison and uniqueness.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The part after the `@`, lower-cased.
    pub fn domain(&self) -> &str {
        self.normalized
            .rsplit_once('@')
            .map_or("", |(_, domain)| domain)
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.normalized == other.normalized
    }
}

impl Eq for Email {}

impl std::hash::Hash for Email {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.normalized.hash(state);
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl FromStr for Email {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, valid: bool) {
        assert_eq!(Email::parse(input).is_ok(), valid, "{input:?}");
    }

    #[test]
    fn validation() {
        check("alice@example.com", true);
        check("Runscope123Abcdefgh456@atko.com", true);
        check("  bob@example.com ", true);
        check("a.b+tag@sub.example.co.uk", true);
        check("", false);
        check("alice", false);
        check("alice@", false);
        check("@example.com", false);
        check("Alice <alice@example.com>", false);
        check("a b@example.com", false);
        check(&format!("{}@example.com", "a".repeat(250)), false);
    }

    #[test]
    fn comparison_ignores_case_but_spelling_is_kept() {
        let a = Email::parse("Alice@Example.COM").unwrap();
        let b = Email::parse("alice@example.com").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "Alice@Example.COM");
        assert_eq!(a.normalized(), "alice@example.com");
        assert_eq!(a.domain(), "example.com");
    }
}
