//! Email domains an account claims, and proves it owns with a DNS TXT record: the name
//! itself ([`EmailDomain`]), the claim ([`AccountDomain`]), and what a lookup of the
//! record means for the claim ([`AccountDomain::checked`]).

use chrono::{DateTime, Duration, Utc};

use crate::{AccountId, DomainError, DomainId, Email, IdpId};

/// The label the verification record is published under: `_portcullis-challenge.<domain>`.
pub const CHALLENGE_LABEL: &str = "_portcullis-challenge";

/// What the verification record's value starts with.
pub const CHALLENGE_PREFIX: &str = "portcullis-verification=";

/// How long a verified domain's record may be missing before the domain stops being
/// verified.
pub const GRACE: Duration = Duration::days(7);

/// A domain name an email address can end in: its IDNA ASCII form, lower-cased, with two
/// labels or more, none of them empty or longer than 63 characters, and neither an IP
/// address nor a public suffix (`com`, `co.uk`, `github.io`), which no one account owns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailDomain(String);

impl EmailDomain {
    /// Parses a domain typed by a person (`Acme.com`, `bücher.example`, `acme.com.`).
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let invalid = |why: &str| DomainError::InvalidDomain {
            domain: text.to_owned(),
            why: why.to_owned(),
        };
        let trimmed = text.trim();
        let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if trimmed.parse::<std::net::IpAddr>().is_ok()
            || trimmed
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok()
        {
            return Err(invalid("an IP address is not a domain"));
        }
        let ascii =
            idna::domain_to_ascii_strict(trimmed).map_err(|_| invalid("not a valid host name"))?;
        let labels: Vec<&str> = ascii.split('.').collect();
        if labels.len() < 2 || ascii.len() > 253 {
            return Err(invalid(
                "use a domain with at least two labels, such as acme.com",
            ));
        }
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if !labels.iter().all(label_ok) {
            return Err(invalid("not a valid host name"));
        }
        if labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(invalid("an IP address is not a domain"));
        }
        if psl::suffix_str(&ascii) == Some(ascii.as_str()) {
            return Err(invalid("a public suffix is shared by many owners"));
        }
        Ok(Self(ascii))
    }

    /// The domain of an email address, as its identity key has it (IDNA ASCII form); `None`
    /// for an address whose domain is no [`EmailDomain`].
    pub fn of(email: &Email) -> Option<Self> {
        let (_, domain) = email.normalized().rsplit_once('@')?;
        Self::parse(domain).ok()
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where the verification record is published.
    pub fn challenge_name(&self) -> String {
        format!("{CHALLENGE_LABEL}.{}", self.0)
    }
}

impl std::fmt::Display for EmailDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An account's claim on an email domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountDomain {
    /// Stable id.
    pub id: DomainId,
    /// The claiming account.
    pub account: AccountId,
    /// The domain.
    pub domain: EmailDomain,
    /// The random part of the verification record's value.
    pub token: String,
    /// Since when the domain is verified; `None` while it is not.
    pub verified_at: Option<DateTime<Utc>>,
    /// When the record was last looked up.
    pub checked_at: Option<DateTime<Utc>>,
    /// Since when a verified domain's record has been missing.
    pub missing_since: Option<DateTime<Utc>>,
    /// Members whose email is on the domain must sign in through an IdP, whatever the
    /// account's enforcement.
    pub sso_required: bool,
    /// The IdP people of the domain are sent to; `None` for the account's only enabled
    /// IdP, or its chooser.
    pub idp: Option<IdpId>,
    /// When the claim was made.
    pub created_at: DateTime<Utc>,
}

/// What one lookup of the verification record changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The record is there and the domain is (now, or still) verified.
    Verified {
        /// Whether it was not verified before this lookup.
        newly: bool,
    },
    /// The record is missing; the domain was not verified and stays so.
    NotFound,
    /// The record is missing from a verified domain, for less than [`GRACE`].
    Missing,
    /// The record has been missing for [`GRACE`]: the domain is no longer verified.
    Lapsed,
}

impl AccountDomain {
    /// A new, unverified claim.
    pub fn new(
        id: DomainId,
        account: AccountId,
        domain: EmailDomain,
        token: String,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            account,
            domain,
            token,
            verified_at: None,
            checked_at: None,
            missing_since: None,
            sso_required: false,
            idp: None,
            created_at: now,
        }
    }

    /// The value the verification record must hold.
    pub fn challenge_value(&self) -> String {
        format!("{CHALLENGE_PREFIX}{}", self.token)
    }

    /// Whether the domain is verified.
    pub fn is_verified(&self) -> bool {
        self.verified_at.is_some()
    }

    /// Takes what a lookup of the record found at `now` (the TXT values; none when the
    /// name does not exist) and says what it changed.
    pub fn checked(&mut self, found: &[String], now: DateTime<Utc>) -> Check {
        self.checked_at = Some(now);
        let expected = self.challenge_value();
        if found.iter().any(|v| v.trim() == expected) {
            self.missing_since = None;
            let newly = self.verified_at.is_none();
            if newly {
                self.verified_at = Some(now);
            }
            return Check::Verified { newly };
        }
        if self.verified_at.is_none() {
            return Check::NotFound;
        }
        let since = *self.missing_since.get_or_insert(now);
        if now - since >= GRACE {
            self.verified_at = None;
            self.missing_since = None;
            Check::Lapsed
        } else {
            Check::Missing
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn names_are_checked_and_normalised() {
        for (text, expected) in [
            ("acme.com", "acme.com"),
            ("Acme.COM.", "acme.com"),
            ("b\u{00FC}cher.example", "xn--bcher-kva.example"),
            ("eng.acme.co.uk", "eng.acme.co.uk"),
            ("acme.co.uk", "acme.co.uk"),
        ] {
            assert_eq!(
                EmailDomain::parse(text).unwrap().as_str(),
                expected,
                "{text}"
            );
        }
        for text in [
            "com",
            "co.uk",
            "github.io",
            "localhost",
            "192.0.2.1",
            "[2001:db8::1]",
            "acme..com",
            "-acme.com",
            "acme_x.com",
            "acme.com/x",
            "",
            "a b.com",
        ] {
            assert!(EmailDomain::parse(text).is_err(), "{text}");
        }
        let email = Email::parse("Kim@Acme.COM").unwrap();
        assert_eq!(EmailDomain::of(&email).unwrap().as_str(), "acme.com");
        assert_eq!(
            EmailDomain::parse("acme.com").unwrap().challenge_name(),
            "_portcullis-challenge.acme.com"
        );
    }

    #[test]
    fn a_record_verifies_and_its_absence_lapses_after_the_grace() {
        let t = |h: i64| Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::hours(h);
        let mut d = AccountDomain::new(
            DomainId::from_uuid(uuid::Uuid::nil()),
            AccountId::from_uuid(uuid::Uuid::nil()),
            EmailDomain::parse("acme.com").unwrap(),
            "abc".into(),
            t(0),
        );
        let good = vec![d.challenge_value()];
        assert_eq!(d.checked(&["other".into()], t(1)), Check::NotFound);
        assert!(!d.is_verified());
        assert_eq!(d.checked(&good, t(2)), Check::Verified { newly: true });
        assert_eq!(d.verified_at, Some(t(2)));
        assert_eq!(d.checked(&good, t(3)), Check::Verified { newly: false });
        assert_eq!(d.checked(&[], t(24)), Check::Missing);
        assert_eq!(d.checked(&[], t(24 * 7 + 23)), Check::Missing);
        assert!(d.is_verified());
        // Back in time: the count starts again.
        assert_eq!(
            d.checked(&good, t(24 * 8)),
            Check::Verified { newly: false }
        );
        assert_eq!(d.checked(&[], t(24 * 9)), Check::Missing);
        assert_eq!(d.checked(&[], t(24 * 16)), Check::Lapsed);
        assert!(!d.is_verified());
        assert_eq!(d.checked(&[], t(24 * 17)), Check::NotFound);
    }
}
