//! Role rules: the identity provider decides who is an admin. A rule gives a role to the
//! members of a SCIM group, or to the people whose SSO sign-in carries a claim value.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::account::text_enum;
use crate::{AccountId, DomainError, Role, RoleRuleId};

/// The claims and attributes searched by an `sso_claim` rule that names none: the OIDC
/// `groups` and `roles` claims (Okta's `groups` attribute too), and Entra ID's group and
/// role claim URIs.
pub const DEFAULT_CLAIMS: &[&str] = &[
    "groups",
    "roles",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
];

/// The claims (OIDC) or attributes (SAML) of a sign-in, by name, each with its text
/// values.
pub type Claims = BTreeMap<String, Vec<String>>;

/// Where a rule looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoleSource {
    /// The display names of the SCIM groups a member belongs to.
    ScimGroup,
    /// The values of a claim or attribute of each SSO sign-in.
    SsoClaim,
}

text_enum!(RoleSource, "role rule source", { ScimGroup => "scim_group", SsoClaim => "sso_claim" });

/// Gives `role` to members whose group (or claim) has `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRule {
    /// Stable id.
    pub id: RoleRuleId,
    /// The account it belongs to.
    pub account: AccountId,
    /// Where it looks.
    pub source: RoleSource,
    /// For `sso_claim`: the one claim or attribute to read; `None` reads
    /// [`DEFAULT_CLAIMS`].
    pub claim: Option<String>,
    /// The group name (letter case aside, ASCII only) or the exact claim value.
    pub value: String,
    /// The role it gives.
    pub role: Role,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// The longest value or claim name accepted.
pub const MAX_TEXT: usize = 255;

fn text(field: &'static str, value: &str) -> Result<String, DomainError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(DomainError::Empty(field));
    }
    if value.chars().count() > MAX_TEXT {
        return Err(DomainError::TooLong {
            field,
            max: MAX_TEXT,
        });
    }
    Ok(value.to_owned())
}

impl RoleRule {
    /// A checked rule: a value of 1 to 255 characters, and a claim name only for
    /// `sso_claim` rules.
    pub fn new(
        id: RoleRuleId,
        account: AccountId,
        source: RoleSource,
        claim: Option<&str>,
        value: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<Self, DomainError> {
        let claim = match (source, claim) {
            (_, None) => None,
            (RoleSource::SsoClaim, Some(c)) => Some(text("claim", c)?),
            (RoleSource::ScimGroup, Some(_)) => {
                return Err(DomainError::UnknownValue {
                    what: "field of a scim_group rule",
                    value: "claim".into(),
                })
            }
        };
        Ok(Self {
            id,
            account,
            source,
            claim,
            value: text("value", value)?,
            role,
            created_at: now,
        })
    }

    /// Whether a member of the group named `name` matches (a `scim_group` rule).
    pub fn matches_group(&self, name: &str) -> bool {
        self.source == RoleSource::ScimGroup && self.value.eq_ignore_ascii_case(name.trim())
    }

    /// Whether a sign-in with `claims` matches (an `sso_claim` rule): one of the values of
    /// the claims it reads is its value, exactly. Claim names compare without ASCII case.
    pub fn matches_claims(&self, claims: &Claims) -> bool {
        if self.source != RoleSource::SsoClaim {
            return false;
        }
        let read = |name: &str| match &self.claim {
            Some(claim) => claim.eq_ignore_ascii_case(name),
            None => DEFAULT_CLAIMS.iter().any(|d| d.eq_ignore_ascii_case(name)),
        };
        claims
            .iter()
            .filter(|(name, _)| read(name))
            .flat_map(|(_, values)| values)
            .any(|v| v.trim() == self.value)
    }
}

/// How much a role may do; the highest matching rule wins.
fn rank(role: Role) -> u8 {
    match role {
        Role::Admin => 1,
        Role::Member => 0,
    }
}

/// The role a set of rules gives a member, and the rule it cites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleVerdict<'a> {
    /// The role the member should have.
    pub role: Role,
    /// The rule that decided: the matching rule with the highest role, or, when none
    /// matched, the highest rule the member no longer meets.
    pub rule: &'a RoleRule,
    /// Whether `rule` matched (else the member falls back to `member`).
    pub matched: bool,
}

/// What the account's rules of `source` say about a member for whom `matches` tells which
/// rules match: `None` when the account has no rule of that source (roles are then the
/// admins' to set). With rules but no match, the member is a `member`.
pub fn verdict<'a>(
    rules: &'a [RoleRule],
    source: RoleSource,
    matches: impl Fn(&RoleRule) -> bool,
) -> Option<RoleVerdict<'a>> {
    let highest = |it: &mut dyn Iterator<Item = &'a RoleRule>| {
        // `max_by_key` keeps the last of equals; the first made should win.
        it.fold(None::<&'a RoleRule>, |best, r| match best {
            Some(b) if rank(b.role) >= rank(r.role) => Some(b),
            _ => Some(r),
        })
    };
    let of_source = || rules.iter().filter(move |r| r.source == source);
    if let Some(rule) = highest(&mut of_source().filter(|r| matches(r))) {
        return Some(RoleVerdict {
            role: rule.role,
            rule,
            matched: true,
        });
    }
    highest(&mut of_source()).map(|rule| RoleVerdict {
        role: Role::Member,
        rule,
        matched: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn rule(n: u128, source: RoleSource, claim: Option<&str>, value: &str, role: Role) -> RoleRule {
        RoleRule::new(
            RoleRuleId::from_uuid(Uuid::from_u128(n)),
            AccountId::from_uuid(Uuid::nil()),
            source,
            claim,
            value,
            role,
            DateTime::UNIX_EPOCH,
        )
        .unwrap()
    }

    fn claims(pairs: &[(&str, &[&str])]) -> Claims {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn group_names_compare_without_ascii_case_only() {
        let r = rule(
            1,
            RoleSource::ScimGroup,
            None,
            "Portcullis Admins",
            Role::Admin,
        );
        assert!(r.matches_group("portcullis admins"));
        assert!(r.matches_group(" Portcullis Admins "));
        assert!(!r.matches_group("Portcullis Admin"));
        // The Kelvin sign lower-cases to `k` in Unicode: it is not a `K`.
        let k = rule(2, RoleSource::ScimGroup, None, "Kadmins", Role::Admin);
        assert!(!k.matches_group("\u{212A}admins"));
        assert!(!r.matches_claims(&claims(&[("groups", &["Portcullis Admins"])])));
    }

    #[test]
    fn claim_rules_read_the_standard_claims_or_the_one_named() {
        let r = rule(1, RoleSource::SsoClaim, None, "Admins", Role::Admin);
        assert!(r.matches_claims(&claims(&[("groups", &["Staff", "Admins"])])));
        assert!(r.matches_claims(&claims(&[("roles", &["Admins"])])));
        assert!(r.matches_claims(&claims(&[(
            "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
            &["Admins"]
        )])));
        assert!(
            !r.matches_claims(&claims(&[("groups", &["admins"])])),
            "values are exact"
        );
        assert!(!r.matches_claims(&claims(&[("department", &["Admins"])])));
        let named = rule(
            2,
            RoleSource::SsoClaim,
            Some("memberOf"),
            "Admins",
            Role::Admin,
        );
        assert!(named.matches_claims(&claims(&[("memberof", &["Admins"])])));
        assert!(!named.matches_claims(&claims(&[("groups", &["Admins"])])));
        assert!(!named.matches_group("Admins"));
    }

    #[test]
    fn rules_are_checked_when_made() {
        let id = RoleRuleId::from_uuid(Uuid::nil());
        let acc = AccountId::from_uuid(Uuid::nil());
        let now = DateTime::UNIX_EPOCH;
        let make = |source, claim, value: &str| {
            RoleRule::new(id, acc, source, claim, value, Role::Admin, now)
        };
        assert!(make(RoleSource::ScimGroup, None, "  ").is_err());
        assert!(make(RoleSource::ScimGroup, None, &"x".repeat(256)).is_err());
        assert!(make(RoleSource::ScimGroup, Some("groups"), "Admins").is_err());
        assert!(make(RoleSource::SsoClaim, Some(" "), "Admins").is_err());
        assert_eq!(
            make(RoleSource::SsoClaim, Some(" groups "), " Admins ")
                .unwrap()
                .value,
            "Admins"
        );
    }

    #[test]
    fn the_highest_matching_rule_decides_else_member() {
        let rules = [
            rule(1, RoleSource::ScimGroup, None, "Staff", Role::Member),
            rule(2, RoleSource::ScimGroup, None, "Admins", Role::Admin),
            rule(3, RoleSource::ScimGroup, None, "Owners", Role::Admin),
        ];
        let in_groups = |names: &'static [&'static str]| {
            move |r: &RoleRule| names.iter().any(|n| r.matches_group(n))
        };
        let v = verdict(
            &rules,
            RoleSource::ScimGroup,
            in_groups(&["Staff", "Owners"]),
        )
        .unwrap();
        assert_eq!(
            (v.role, v.rule.id, v.matched),
            (Role::Admin, rules[2].id, true)
        );
        let v = verdict(&rules, RoleSource::ScimGroup, in_groups(&["Staff"])).unwrap();
        assert_eq!(
            (v.role, v.rule.id, v.matched),
            (Role::Member, rules[0].id, true)
        );
        let v = verdict(
            &rules,
            RoleSource::ScimGroup,
            in_groups(&["Admins", "Owners"]),
        )
        .unwrap();
        assert_eq!(v.rule.id, rules[1].id, "the first made of equals");
        let v = verdict(&rules, RoleSource::ScimGroup, in_groups(&[])).unwrap();
        assert_eq!(
            (v.role, v.rule.id, v.matched),
            (Role::Member, rules[1].id, false)
        );
        assert_eq!(verdict(&rules, RoleSource::SsoClaim, |_| true), None);
    }
}
