//! Encryption at rest of the secrets Portcullis must be able to read back (OIDC client
//! secrets, SP private keys): XChaCha20-Poly1305 with a 256-bit key from configuration. Stored values look
//! like `enc:v1:<base64(nonce ‖ ciphertext)>`; the key never touches the database.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::StoreError;

const PREFIX: &str = "enc:v1:";
const NONCE_LEN: usize = 24;

/// The key that seals stored secrets.
#[derive(Clone)]
pub struct SecretCipher(XChaCha20Poly1305);

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretCipher(<key>)")
    }
}

impl SecretCipher {
    /// A cipher for a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self(XChaCha20Poly1305::new(key.into()))
    }

    /// Seals a secret with a fresh random nonce.
    pub fn seal(&self, plain: &str) -> Result<String, StoreError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .0
            .encrypt(&nonce, plain.as_bytes())
            .map_err(|_| StoreError::Corrupt("cannot encrypt a secret".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// Opens a sealed secret; a value stored before encryption was configured is returned
    /// as it is.
    pub fn open(&self, stored: &str) -> Result<String, StoreError> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| StoreError::Corrupt("a sealed secret is not base64".into()))?;
        if bytes.len() < NONCE_LEN {
            return Err(StoreError::Corrupt("a sealed secret is truncated".into()));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = self
            .0
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| {
                StoreError::Corrupt(
                    "a sealed secret does not open with the configured encryption key".into(),
                )
            })?;
        String::from_utf8(plain)
            .map_err(|_| StoreError::Corrupt("a sealed secret is not UTF-8".into()))
    }
}

/// Whether a stored value is sealed (rather than in clear).
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// Seals with the cipher when there is one.
pub(crate) fn seal(cipher: Option<&SecretCipher>, plain: &str) -> Result<String, StoreError> {
    match cipher {
        Some(c) => c.seal(plain),
        None => Ok(plain.to_owned()),
    }
}

/// Opens with the cipher; a sealed value without a cipher is an error, never returned raw.
pub(crate) fn open(cipher: Option<&SecretCipher>, stored: &str) -> Result<String, StoreError> {
    match cipher {
        Some(c) => c.open(stored),
        None if stored.starts_with(PREFIX) => Err(StoreError::Corrupt(
            "a secret is encrypted but no encryption key is configured".into(),
        )),
        None => Ok(stored.to_owned()),
    }
}

/// Seals a secret that must never be stored in clear (an SP private key): without a
/// cipher nothing is written.
pub(crate) fn seal_required(
    cipher: Option<&SecretCipher>,
    plain: &str,
) -> Result<String, StoreError> {
    cipher.ok_or(StoreError::NoEncryptionKey)?.seal(plain)
}

/// Opens a secret that is only ever stored sealed: a value in clear is refused as corrupt
/// rather than used.
pub(crate) fn open_required(
    cipher: Option<&SecretCipher>,
    stored: &str,
) -> Result<String, StoreError> {
    if !stored.starts_with(PREFIX) {
        return Err(StoreError::Corrupt(
            "a secret that is only stored encrypted is in clear".into(),
        ));
    }
    open(cipher, stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let a = SecretCipher::new(&[1; 32]);
        let b = SecretCipher::new(&[2; 32]);
        let sealed = a.seal("client-secret").unwrap();
        assert!(sealed.starts_with(PREFIX));
        assert!(!sealed.contains("client-secret"));
        assert_ne!(
            sealed,
            a.seal("client-secret").unwrap(),
            "fresh nonce each time"
        );
        assert_eq!(a.open(&sealed).unwrap(), "client-secret");
        assert!(b.open(&sealed).is_err());
        assert!(open(None, &sealed).is_err());
        // Tampering is detected.
        let mut tampered = sealed.clone();
        tampered.replace_range(sealed.len() - 4.., "AAAA");
        assert!(a.open(&tampered).is_err());
        assert_eq!(a.open("legacy-plain").unwrap(), "legacy-plain");
    }

    #[test]
    fn required_secrets_are_never_stored_or_read_in_clear() {
        let a = SecretCipher::new(&[1; 32]);
        assert!(matches!(
            seal_required(None, "key"),
            Err(StoreError::NoEncryptionKey)
        ));
        let sealed = seal_required(Some(&a), "key").unwrap();
        assert_eq!(open_required(Some(&a), &sealed).unwrap(), "key");
        assert!(matches!(
            open_required(Some(&a), "key"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(open_required(None, &sealed).is_err());
    }
}
