//! The key that encrypts stored secrets (OIDC client secrets, SAML SP private keys) at rest.
//!
//! It comes from `PORTCULLIS_ENCRYPTION_KEY` (32 bytes, base64). On the embedded SQLite
//! default it may be left unset: a random key is then kept in a file beside the database
//! (`<database>.key`, mode 0600), so a copy of the database alone reveals no secret. On
//! PostgreSQL every replica must share the key, so it must be configured.

use std::io::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use portcullis_store::Backend;
use rand::RngCore;

/// Decodes a configured key.
pub fn parse(text: &str) -> Result<[u8; 32]> {
    let bytes = STANDARD
        .decode(text.trim())
        .context("PORTCULLIS_ENCRYPTION_KEY must be base64 (e.g. `openssl rand -base64 32`)")?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("PORTCULLIS_ENCRYPTION_KEY must decode to exactly 32 bytes"))
}

/// The key for `database_url`: the configured one, or (SQLite only) the one kept beside
/// the database file, made on first use.
pub fn resolve(configured: Option<&str>, database_url: &str) -> Result<[u8; 32]> {
    if let Some(text) = configured {
        return parse(text);
    }
    let (backend, target) = Backend::from_url(database_url);
    if backend == Backend::Postgres {
        bail!(
            "set PORTCULLIS_ENCRYPTION_KEY (32 random bytes, base64; the same on every replica) \
             to run on PostgreSQL: it encrypts OIDC client secrets and SAML SP private keys at rest"
        );
    }
    let path = format!("{target}.key");
    load_or_create(Path::new(&path))
}

fn load_or_create(path: &Path) -> Result<[u8; 32]> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            parse(&text).with_context(|| format!("reading the key file {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            match options.open(path) {
                Ok(mut file) => {
                    file.write_all(STANDARD.encode(key).as_bytes())?;
                    file.sync_all()?;
                    Ok(key)
                }
                // Another process made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(path),
                Err(e) => {
                    Err(e).with_context(|| format!("creating the key file {}", path.display()))
                }
            }
        }
        Err(e) => Err(e).with_context(|| format!("reading the key file {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_configured_or_kept_beside_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("p.db");
        let url = db.to_str().unwrap();
        let first = resolve(None, url).unwrap();
        assert_eq!(
            resolve(None, url).unwrap(),
            first,
            "the same key on restart"
        );
        let key_file = dir.path().join("p.db.key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let configured = STANDARD.encode([9u8; 32]);
        assert_eq!(resolve(Some(&configured), url).unwrap(), [9u8; 32]);
        assert!(resolve(Some("c2hvcnQ="), url).is_err(), "too short");
        assert!(resolve(Some("not base64!"), url).is_err());
        let err = resolve(None, "postgres://db.internal/portcullis").unwrap_err();
        assert!(
            err.to_string().contains("PORTCULLIS_ENCRYPTION_KEY"),
            "{err}"
        );
    }
}
