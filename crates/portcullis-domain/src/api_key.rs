//! API keys and the high-entropy secrets behind them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{AccountId, ApiKeyId, DomainError, UserId};

/// An API key. Only the hash of its secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Stable id.
    pub id: ApiKeyId,
    /// The account the key acts in.
    pub account: AccountId,
    /// The admin or bot user the key belongs to.
    pub owner: UserId,
    /// What the key is for.
    pub description: String,
    /// The first characters of the secret, to recognise it in lists.
    pub prefix: String,
    /// SHA-256 of the secret.
    pub secret_hash: SecretHash,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; revoked keys never work again.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Which APIs it may call.
    pub scopes: Scopes,
    /// Made before keys had scopes, and given every scope so that nothing running broke:
    /// it should be replaced with a scoped key.
    pub legacy_full_access: bool,
}

/// An API a key may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The SCIM API (`/scim/v2`), what an IdP provisions with.
    Scim,
    /// The admin API (`/api/v1`): members, keys, IdPs, policy, restrictions.
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 2] = [Scope::Scim, Scope::Admin];

    /// The scope's name on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Scim => "scim",
            Self::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Scope {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s.trim())
            .ok_or_else(|| DomainError::UnknownValue {
                what: "scope (scim or admin)",
                value: s.to_owned(),
            })
    }
}

/// The scopes of a key: at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scopes {
    scim: bool,
    admin: bool,
}

impl Scopes {
    /// Every scope (what keys made before scopes existed were given).
    pub const FULL: Scopes = Scopes {
        scim: true,
        admin: true,
    };

    /// The scopes named in `names`; none at all, or an unknown name, is refused.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, DomainError> {
        let mut scopes = Scopes {
            scim: false,
            admin: false,
        };
        for name in names {
            match name.as_ref().parse::<Scope>()? {
                Scope::Scim => scopes.scim = true,
                Scope::Admin => scopes.admin = true,
            }
        }
        if scopes.list().is_empty() {
            return Err(DomainError::Empty("scopes"));
        }
        Ok(scopes)
    }

    /// Just `scope`.
    pub fn only(scope: Scope) -> Self {
        Self {
            scim: scope == Scope::Scim,
            admin: scope == Scope::Admin,
        }
    }

    /// Whether the key may call the API of `scope`.
    pub fn allows(self, scope: Scope) -> bool {
        match scope {
            Scope::Scim => self.scim,
            Scope::Admin => self.admin,
        }
    }

    /// The scopes, in [`Scope::ALL`] order.
    pub fn list(self) -> Vec<Scope> {
        Scope::ALL.into_iter().filter(|s| self.allows(*s)).collect()
    }

    /// As stored: the names separated by spaces.
    pub fn to_stored(self) -> String {
        self.list()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// From what [`Scopes::to_stored`] wrote.
    pub fn from_stored(text: &str) -> Result<Self, DomainError> {
        Self::parse(&text.split_whitespace().collect::<Vec<_>>())
    }
}

/// A freshly made secret (API key, invitation token). It is shown once and never stored:
/// only its [`SecretHash`] is.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    /// The text every API key starts with, so leaked keys are easy to recognise.
    pub const PREFIX: &'static str = "pcl_";

    /// Builds a secret from 32 random bytes the caller drew.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(format!("{}{}", Self::PREFIX, URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The secret text, to show once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored.
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }

    /// A short prefix for lists (`pcl_AbCd1234`).
    pub fn display_prefix(&self) -> String {
        self.0.chars().take(Self::PREFIX.len() + 8).collect()
    }
}

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKeySecret(<redacted>)")
    }
}

/// SHA-256 of a high-entropy secret, hex-encoded. A fast hash is right here: the secrets
/// carry 256 random bits, so there is nothing to brute-force. Its `Debug` shows none of
/// it, so that no log line carries what a lookup by hash would accept.
#[derive(Clone)]
pub struct SecretHash(String);

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

impl SecretHash {
    /// Hashes a presented secret.
    pub fn of(secret: &str) -> Self {
        Self(format!("{:x}", Sha256::digest(secret.as_bytes())))
    }

    /// Wraps a hash read back from storage.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq for SecretHash {
    /// Constant-time comparison.
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for SecretHash {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_and_hash_deterministically() {
        let secret = ApiKeySecret::from_random([7; 32]);
        assert!(secret.expose().starts_with("pcl_"));
        assert_eq!(secret.expose().len(), 4 + 43);
        assert_eq!(secret.hash(), SecretHash::of(secret.expose()));
        assert_ne!(secret.hash(), ApiKeySecret::from_random([8; 32]).hash());
        assert_eq!(secret.display_prefix().len(), 12);
        assert!(!format!("{secret:?}").contains(secret.expose()));
    }

    #[test]
    fn known_sha256() {
        assert_eq!(
            SecretHash::of("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn scopes_are_one_or_both_and_never_none() {
        assert_eq!(Scopes::parse(&["scim"]).unwrap(), Scopes::only(Scope::Scim));
        assert_eq!(
            Scopes::parse(&["admin", "scim", "admin"]).unwrap(),
            Scopes::FULL
        );
        assert!(Scopes::parse::<&str>(&[]).is_err());
        assert!(Scopes::parse(&["root"]).is_err());
        assert!(!Scopes::only(Scope::Scim).allows(Scope::Admin));
        for scopes in [
            Scopes::FULL,
            Scopes::only(Scope::Scim),
            Scopes::only(Scope::Admin),
        ] {
            assert_eq!(Scopes::from_stored(&scopes.to_stored()).unwrap(), scopes);
        }
    }
}
