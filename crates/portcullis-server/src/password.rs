//! Password hashing with Argon2id (the `argon2` crate's defaults: m=19 MiB, t=2, p=1, as
//! OWASP recommends).

use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::{Alphanumeric, DistString};

use crate::error::AppError;

/// Hashes a password into a PHC string.
pub fn hash(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing a password: {e}")))
}

/// A hash no password matches, verified when the email is unknown so that the answer
/// takes as long as for a real member (no user enumeration through timing).
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash(&random_password()).unwrap_or_default());

/// Checks a password against a stored hash; `None` burns the same time and fails.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let stored = stored.unwrap_or(DUMMY_HASH.as_str());
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A random 24-character password for a new admin.
pub fn random_password() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 24)
}

/// Checks a password someone chooses.
pub fn check_strength(password: &str) -> Result<(), AppError> {
    if password.chars().count() < 12 {
        return Err(AppError::BadRequest(
            "a password needs at least 12 characters".into(),
        ));
    }
    if password.len() > 1024 {
        return Err(AppError::BadRequest(
            "a password may have at most 1024 bytes".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&h)));
        assert!(!verify("correct horse batterz", Some(&h)));
        assert!(!verify("correct horse battery", None));
        assert!(!verify("x", Some("not a phc string")));
    }

    #[test]
    fn random_passwords_differ() {
        let (a, b) = (random_password(), random_password());
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
        assert!(check_strength(&a).is_ok());
        assert!(check_strength("short").is_err());
    }
}
