//! Password hashing with Argon2id (the `argon2` crate's defaults: m=19 MiB, t=2, p=1, as
//! OWASP recommends).

use std::sync::{Condvar, LazyLock, Mutex, PoisonError};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::distributions::{Alphanumeric, DistString};

use crate::AppError;

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
///
/// The work memory (19 MiB per check) comes from [`MEMORY`], a few buffers allocated once
/// and reused: allocating and freeing it per login left the allocator holding hundreds
/// of MiB under a stream of logins (seen in `cargo xtask soak`). It also caps how many
/// checks run at once to the number of cores, which is all the CPU can do anyway.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let stored = stored.unwrap_or(DUMMY_HASH.as_str());
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = MEMORY.with_blocks(blocks, |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
    });
    // `Output`'s equality is constant-time.
    computed.is_ok() && Output::new(&out).is_ok_and(|actual| actual == expected)
}

/// Argon2 work memory, reused between checks; at most `limit` buffers exist.
struct MemoryPool {
    state: Mutex<PoolState>,
    returned: Condvar,
    limit: usize,
}

struct PoolState {
    free: Vec<Vec<Block>>,
    created: usize,
}

/// One buffer per core.
static MEMORY: LazyLock<MemoryPool> = LazyLock::new(|| MemoryPool {
    state: Mutex::new(PoolState {
        free: Vec::new(),
        created: 0,
    }),
    returned: Condvar::new(),
    limit: std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 16)),
});

impl MemoryPool {
    /// Runs `f` with `blocks` blocks of work memory, waiting for a buffer when all are in
    /// use (called on blocking threads only).
    fn with_blocks<T>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let mut buffer = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(buffer) = state.free.pop() {
                    break buffer;
                }
                if state.created < self.limit {
                    state.created += 1;
                    break Vec::new();
                }
                state = self
                    .returned
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        if buffer.len() < blocks {
            buffer.resize(blocks, Block::default());
        }
        let result = f(&mut buffer[..blocks]);
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .free
            .push(buffer);
        self.returned.notify_one();
        result
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
        // A hash made elsewhere with other parameters verifies too (argon2's own path).
        let salt = SaltString::generate(&mut OsRng);
        let params = Params::new(8 * 1024, 3, 1, None).unwrap();
        let other = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"another password", &salt)
            .unwrap()
            .to_string();
        assert!(verify("another password", Some(&other)));
        assert!(!verify("another passworD", Some(&other)));
        // A changed hash value or salt fails.
        let cut = h.rfind('$').unwrap() + 6;
        let flipped = if &h[cut..=cut] == "A" { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &h[..cut], &h[cut + 1..]);
        assert!(!verify("correct horse battery", Some(&tampered)));
    }

    #[test]
    fn concurrent_checks_share_the_bounded_memory() {
        let h = hash("correct horse battery").unwrap();
        let results: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let h = &h;
                    s.spawn(move || {
                        let password = if i % 2 == 0 {
                            "correct horse battery"
                        } else {
                            "wrong"
                        };
                        verify(password, Some(h))
                    })
                })
                .collect();
            handles.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(
            results,
            [true, false, true, false, true, false, true, false]
        );
        // Other tests may hold a buffer right now; none is ever made beyond the limit.
        let state = MEMORY.state.lock().unwrap();
        assert!(state.created <= MEMORY.limit, "{} buffers", state.created);
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
