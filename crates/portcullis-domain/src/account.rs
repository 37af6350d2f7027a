//! Accounts (tenants) and their policies.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;

use crate::{AccountId, AccountSlug, DomainError};

/// An organisation using Portcullis: it holds users, identity providers and policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Stable id.
    pub id: AccountId,
    /// Unique short name used in URLs.
    pub slug: AccountSlug,
    /// Human-readable name.
    pub name: String,
    /// Who must use SSO.
    pub enforcement: EnforcementPolicy,
    /// How new members come to exist.
    pub provisioning: ProvisioningMode,
    /// Where API calls (including SCIM) may come from.
    pub api_ip_restrictions: IpRestrictions,
    /// Whether new members (SCIM, just in time, invitations) must have an email on one of
    /// the account's verified domains.
    pub provision_only_verified_domains: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When an operator suspended it: nobody signs in, and no SCIM call or API key
    /// works, until it is resumed.
    pub suspended_at: Option<DateTime<Utc>>,
}

impl Account {
    /// Whether an operator suspended the account.
    pub fn is_suspended(&self) -> bool {
        self.suspended_at.is_some()
    }
}

/// What a suspended account's every sign-in and API call is told.
pub const ACCOUNT_SUSPENDED: &str = "account suspended";

/// The SSO enforcement policy of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EnforcementPolicy {
    /// Members who had a password before SSO keep it; every new member uses SSO.
    #[default]
    Mixed,
    /// Everyone must sign in through an identity provider; passwords stop working.
    Enforced,
}

/// How new members of an account come to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProvisioningMode {
    /// An existing member invites them explicitly.
    #[default]
    Invite,
    /// They are created on their first successful SSO login.
    JustInTime,
    /// The identity provider creates, updates and removes them over SCIM.
    Scim,
}

macro_rules! text_enum {
    ($ty:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// The stable text form used in storage, configuration and APIs.
            pub const fn as_str(&self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::DomainError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err($crate::DomainError::UnknownValue { what: $what, value: other.to_owned() }),
                }
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(EnforcementPolicy, "enforcement policy", { Mixed => "mixed", Enforced => "enforced" });
text_enum!(ProvisioningMode, "provisioning mode", {
    Invite => "invite",
    JustInTime => "just_in_time",
    Scim => "scim",
});

/// The networks API calls (including SCIM) may come from. Empty means "anywhere".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpRestrictions(Vec<IpNet>);

impl IpRestrictions {
    /// Most ranges an account may list.
    pub const MAX_RANGES: usize = 256;

    /// No restriction: every address is allowed.
    pub fn none() -> Self {
        Self(Vec::new())
    }

    /// Parses a list of CIDR ranges; a bare address means that single host.
    pub fn parse<S: AsRef<str>>(ranges: &[S]) -> Result<Self, DomainError> {
        if ranges.len() > Self::MAX_RANGES {
            return Err(DomainError::TooLong {
                field: "API IP restrictions",
                max: Self::MAX_RANGES,
            });
        }
        ranges
            .iter()
            .map(|r| parse_range(r.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether an address may call the API.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.is_empty() || self.0.iter().any(|net| net.contains(&ip))
    }

    /// Whether any restriction is set.
    pub fn is_restricted(&self) -> bool {
        !self.0.is_empty()
    }

    /// The ranges, in the order given.
    pub fn ranges(&self) -> &[IpNet] {
        &self.0
    }
}

fn parse_range(text: &str) -> Result<IpNet, DomainError> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| DomainError::InvalidCidr(text.to_owned()))
}

/// IPv4 clients reaching a dual-stack socket show up as `::ffff:a.b.c.d`; compare them as
/// the IPv4 address they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(ranges: &[&str], ip: &str) -> bool {
        IpRestrictions::parse(ranges)
            .unwrap()
            .allows(ip.parse().unwrap())
    }

    #[test]
    fn ip_restrictions() {
        assert!(allows(&[], "198.51.100.7"));
        assert!(allows(&["203.0.113.0/24"], "203.0.113.9"));
        assert!(!allows(&["203.0.113.0/24"], "203.0.114.9"));
        assert!(allows(&["203.0.113.5"], "203.0.113.5"));
        assert!(!allows(&["203.0.113.5"], "203.0.113.6"));
        assert!(allows(&["2001:db8::/32"], "2001:db8::1"));
        assert!(!allows(&["2001:db8::/32"], "2001:db9::1"));
        assert!(allows(&["203.0.113.0/24"], "::ffff:203.0.113.9"));
        assert!(allows(&["10.0.0.0/8", "203.0.113.0/24"], "203.0.113.1"));
        // Host bits in the range are ignored rather than rejected.
        assert_eq!(
            IpRestrictions::parse(&["203.0.113.7/24"]).unwrap().ranges()[0].to_string(),
            "203.0.113.0/24"
        );
    }

    #[test]
    fn bad_ranges_are_refused() {
        for bad in [
            "",
            "300.0.0.0/8",
            "10.0.0.0/33",
            "example.com",
            "10.0.0.0/8/8",
        ] {
            assert_eq!(
                IpRestrictions::parse(&[bad]),
                Err(DomainError::InvalidCidr(bad.trim().to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn enums_round_trip() {
        for p in [
            ProvisioningMode::Invite,
            ProvisioningMode::JustInTime,
            ProvisioningMode::Scim,
        ] {
            assert_eq!(p.as_str().parse::<ProvisioningMode>().unwrap(), p);
        }
        for e in [EnforcementPolicy::Mixed, EnforcementPolicy::Enforced] {
            assert_eq!(e.as_str().parse::<EnforcementPolicy>().unwrap(), e);
        }
        assert!("Enforced".parse::<EnforcementPolicy>().is_err());
    }
}
