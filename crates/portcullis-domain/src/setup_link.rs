//! Setup links: a time-limited link an admin gives the customer's IT admin (who owns
//! the IdP but is not a member), opening only a few settings sections.

use chrono::{DateTime, Duration, Utc};

use crate::{AccountId, DomainError, IdpId, SecretHash, SetupLinkId, UserId};

/// A part of the settings a setup link can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SetupSection {
    /// Identity providers: the guides, the IdP form and the test sign-in.
    Sso,
    /// A `scim`-scoped API key, shown once, and the SCIM base URL.
    Scim,
    /// The account's email domains and their DNS records.
    Domains,
}

impl SetupSection {
    /// Every section, in the order pages show them.
    pub const ALL: [Self; 3] = [Self::Sso, Self::Scim, Self::Domains];

    /// The stable text form (`sso`, `scim`, `domains`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sso => "sso",
            Self::Scim => "scim",
            Self::Domains => "domains",
        }
    }

    /// The section named `text`.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| DomainError::UnknownValue {
                what: "setup link section",
                value: text.to_owned(),
            })
    }
}

/// A setup link of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupLink {
    /// Stable id.
    pub id: SetupLinkId,
    /// The account whose settings it opens.
    pub account: AccountId,
    /// Hash of the secret in the link.
    pub token_hash: SecretHash,
    /// What it opens: at least one section, each once, in [`SetupSection::ALL`]'s order.
    pub sections: Vec<SetupSection>,
    /// The id the IdP added through the link gets (or has): chosen when the link is
    /// made, so the URLs to paste into the IdP can be shown before it exists and stay
    /// the same on every visit.
    pub idp: IdpId,
    /// The member who made it (`None`: an operator).
    pub created_by: Option<UserId>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When an admin revoked it.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl SetupLink {
    /// The shortest and longest validity an admin may choose, in hours.
    pub const HOURS: std::ops::RangeInclusive<i64> = 1..=168;

    /// Checks what an admin asked for: known sections (at least one; repeats are
    /// merged) and a validity within [`SetupLink::HOURS`].
    pub fn check_request(
        sections: &[String],
        expires_in_hours: i64,
    ) -> Result<(Vec<SetupSection>, Duration), DomainError> {
        let mut parsed = sections
            .iter()
            .map(|s| SetupSection::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        parsed.sort();
        parsed.dedup();
        if parsed.is_empty() {
            return Err(DomainError::InvalidValue {
                field: "sections",
                why: "a setup link opens at least one section (sso, scim, domains)".into(),
            });
        }
        if !Self::HOURS.contains(&expires_in_hours) {
            return Err(DomainError::InvalidValue {
                field: "expires_in_hours",
                why: "a setup link lasts between 1 and 168 hours".into(),
            });
        }
        Ok((parsed, Duration::hours(expires_in_hours)))
    }

    /// Whether the link still works at `now` (not revoked, not expired).
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }

    /// Whether the link opens `section`.
    pub fn opens(&self, section: SetupSection) -> bool {
        self.sections.contains(&section)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn requests_are_checked() {
        let (sections, validity) =
            SetupLink::check_request(&["scim".into(), "sso".into(), "scim".into()], 24).unwrap();
        assert_eq!(sections, vec![SetupSection::Sso, SetupSection::Scim]);
        assert_eq!(validity, Duration::hours(24));
        assert!(SetupLink::check_request(&[], 24).is_err());
        assert!(SetupLink::check_request(&["members".into()], 24).is_err());
        assert!(SetupLink::check_request(&["sso".into()], 0).is_err());
        assert!(SetupLink::check_request(&["sso".into()], 169).is_err());
        assert!(SetupLink::check_request(&["sso".into()], 168).is_ok());
    }

    #[test]
    fn usable_until_expired_or_revoked() {
        let at = |s| Utc.timestamp_opt(s, 0).unwrap();
        let mut link = SetupLink {
            id: SetupLinkId::from_uuid(uuid::Uuid::nil()),
            account: AccountId::from_uuid(uuid::Uuid::nil()),
            token_hash: SecretHash::of("t"),
            sections: vec![SetupSection::Sso],
            idp: IdpId::from_uuid(uuid::Uuid::nil()),
            created_by: None,
            created_at: at(0),
            expires_at: at(100),
            revoked_at: None,
        };
        assert!(link.is_usable(at(99)));
        assert!(!link.is_usable(at(100)));
        assert!(link.opens(SetupSection::Sso) && !link.opens(SetupSection::Scim));
        link.revoked_at = Some(at(50));
        assert!(!link.is_usable(at(60)));
    }
}
