//! Email addresses: validated once at the edge, compared by one identity rule.
//!
//! **The rule.** Two addresses are the same member's when their *identity keys* are equal
//! ([`Email::normalized`], [`identity_key`]):
//!
//! - the domain is compared after IDNA (UTS #46) processing to its ASCII form, so
//!   `bücher.example` and `xn--bcher-kva.example` (and any letter case of either) are one
//!   domain, as they are one name in DNS;
//! - the local part is compared with **ASCII letters folded to lower case and nothing
//!   else changed**. Non-ASCII characters are kept exactly as given: no Unicode case
//!   folding and no normalisation form, because both map distinct characters onto ASCII
//!   letters (U+212A KELVIN SIGN lower-cases to `k`, U+017F LONG S folds to `s`,
//!   U+0130 lower-cases to `i` + a combining dot, NFKC maps full-width letters to ASCII and
//!   even NFC maps the Kelvin sign to `K`). Under such a rule `\u{212A}im@acme.com` would
//!   be the member `kim@acme.com` — the class of CVE-2019-19844. Two addresses that differ
//!   in any non-ASCII character (a look-alike, or the NFC and NFD spellings of one accented
//!   name) are therefore distinct members: never merged, never matched to each other.

use std::fmt;
use std::str::FromStr;

use crate::DomainError;

/// A syntactically valid email address.
///
/// The address keeps the spelling it was given (IdPs and people expect to see it back
/// unchanged); equality, hashing and uniqueness use its identity key
/// ([`Email::normalized`], the rule in the module documentation).
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
            normalized: identity_key(trimmed),
        })
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The identity key used for comparison and uniqueness: the local part with ASCII
    /// letters lower-cased (nothing else changed), `@`, the domain in IDNA ASCII form.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The domain in its IDNA ASCII form (`xn--…` labels for non-ASCII names), lower-cased.
    pub fn domain(&self) -> &str {
        self.normalized
            .rsplit_once('@')
            .map_or("", |(_, domain)| domain)
    }
}

/// The identity key of an address, or of any text compared with stored addresses (a SCIM
/// filter value, a throttling key), by the rule in the module documentation. A domain
/// that IDNA processing refuses (an address literal such as `[192.0.2.1]`, a malformed
/// `xn--` label) keeps its text with ASCII letters lower-cased: it cannot equal the ASCII
/// form of any domain IDNA accepts. Text without an `@` is compared with ASCII letters
/// lower-cased.
pub fn identity_key(text: &str) -> String {
    match text.rsplit_once('@') {
        Some((local, domain)) => {
            let domain = idna::domain_to_ascii(domain)
                .ok()
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| domain.to_ascii_lowercase());
            format!("{}@{domain}", local.to_ascii_lowercase())
        }
        None => text.to_ascii_lowercase(),
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

    fn same(a: &str, b: &str) -> bool {
        Email::parse(a).unwrap() == Email::parse(b).unwrap()
    }

    #[test]
    fn look_alikes_are_distinct_members() {
        // Characters that Unicode case mapping or normalisation turns into ASCII letters.
        for look_alike in [
            "\u{212A}im@acme.com",  // KELVIN SIGN → k under to_lowercase and NFC
            "\u{017F}am@acme.com",  // LONG S → s under case folding
            "\u{0130}van@acme.com", // capital I with dot → i + U+0307
            "\u{0131}van@acme.com", // dotless i
            "\u{FF4B}im@acme.com",  // FULLWIDTH k → k under NFKC
        ] {
            let ascii = look_alike
                .replace('\u{212A}', "k")
                .replace('\u{017F}', "s")
                .replace(['\u{0130}', '\u{0131}'], "i")
                .replace('\u{FF4B}', "k");
            assert!(
                !same(look_alike, &ascii),
                "{look_alike:?} merged with {ascii:?}"
            );
            assert_ne!(identity_key(look_alike), identity_key(&ascii));
            assert_eq!(
                identity_key(look_alike),
                Email::parse(look_alike).unwrap().normalized()
            );
        }
        // The NFC spelling of an accented name is an address; the NFD spelling (a
        // combining mark) is refused by the parser, so the two can never meet.
        assert!(Email::parse("ren\u{00E9}@acme.com").is_ok());
        assert!(Email::parse("rene\u{0301}@acme.com").is_err());
        assert_ne!(
            identity_key("ren\u{00E9}@acme.com"),
            identity_key("rene\u{0301}@acme.com")
        );
        // Non-ASCII letters keep their case: no Unicode case mapping at all.
        assert!(!same("J\u{00DC}rgen@acme.com", "j\u{00FC}rgen@acme.com"));
        assert!(same("J\u{00FC}rgen@acme.com", "j\u{00FC}rgen@ACME.com"));
    }

    #[test]
    fn domains_are_compared_in_idna_form() {
        let unicode = Email::parse("Anna@B\u{00FC}cher.Example").unwrap();
        let punycode = Email::parse("anna@xn--bcher-kva.example").unwrap();
        assert_eq!(unicode, punycode);
        assert_eq!(unicode.domain(), "xn--bcher-kva.example");
        assert_eq!(unicode.as_str(), "Anna@B\u{00FC}cher.Example");
        assert_eq!(
            identity_key("anna@B\u{00FC}cher.example"),
            "anna@xn--bcher-kva.example"
        );
        // Not an address: ASCII case only.
        assert_eq!(identity_key("K\u{212A}"), "k\u{212A}");
    }
}
