//! Account slugs: the short name in an account's URLs (`/a/{slug}/login`).

use std::fmt;
use std::str::FromStr;

use crate::DomainError;

/// A validated account slug: 1–63 lowercase ASCII letters, digits and dashes, neither
/// starting nor ending with a dash (the rules of a DNS label, so a slug can also become
/// a subdomain).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountSlug(String);

impl AccountSlug {
    /// Parses a slug.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let ok = !text.is_empty()
            && text.len() <= 63
            && !text.starts_with('-')
            && !text.ends_with('-')
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(DomainError::InvalidSlug(text.to_owned()))
        }
    }

    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AccountSlug {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, valid: bool) {
        assert_eq!(AccountSlug::parse(input).is_ok(), valid, "{input:?}");
    }

    #[test]
    fn validation() {
        check("default", true);
        check("acme-corp", true);
        check("a1", true);
        check(&"a".repeat(63), true);
        check(&"a".repeat(64), false);
        check("", false);
        check("-acme", false);
        check("acme-", false);
        check("Acme", false);
        check("acme corp", false);
        check("acme/../x", false);
        check("ácme", false);
    }
}
