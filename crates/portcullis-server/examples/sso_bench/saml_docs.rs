//! Signed SAML responses for the benchmark, made in advance (signing costs as much as
//! verifying, and the IdP does it, not Portcullis), each with its own response and
//! assertion id. The IdP's key is written to disk by `seed` and read back by `acs`, since
//! the two run in different processes.

use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use openssl::pkey::PKey;
use openssl::x509::X509;
use portcullis_sso::saml::SpConfig;

use crate::saml_fixture::{self, Key, Params};

const KEY_FILE: &str = "idp-key.pem";
const CERT_FILE: &str = "idp-cert.pem";

/// Writes `key` into `dir`.
pub fn save_key(dir: &Path, key: &Key) -> Result<()> {
    std::fs::write(dir.join(KEY_FILE), key.key.private_key_to_pem_pkcs8()?)?;
    std::fs::write(dir.join(CERT_FILE), &key.cert_pem)?;
    Ok(())
}

/// Reads the key `seed` wrote into `dir`; it lives as long as the program.
pub fn load_key(dir: &Path) -> Result<&'static Key> {
    let pem = std::fs::read(dir.join(KEY_FILE)).context("reading the IdP key")?;
    let cert_pem = std::fs::read_to_string(dir.join(CERT_FILE)).context("reading the IdP cert")?;
    let cert = X509::from_pem(cert_pem.as_bytes())?;
    Ok(Box::leak(Box::new(Key {
        key: PKey::private_key_from_pem(&pem)?,
        cert_b64: base64::engine::general_purpose::STANDARD.encode(cert.to_der()?),
        cert_pem,
    })))
}

/// What a response says.
pub struct Wanted {
    /// The SP it is for.
    pub sp: SpConfig,
    /// Who signs it.
    pub key: &'static Key,
    /// `Some(request id)`: an answer to that request; `None`: unsolicited.
    pub in_response_to: Option<String>,
    /// The member's email (NameID and `email` attribute).
    pub email: String,
    /// Makes the ids unique.
    pub serial: usize,
}

/// The base64 `SAMLResponse` for `wanted`, issued at `now`.
pub fn signed_response(wanted: &Wanted, now: DateTime<Utc>, tag: &str) -> String {
    let mut p = match &wanted.in_response_to {
        Some(id) => {
            let mut p = Params::valid(&wanted.sp, now);
            p.in_response_to = Some(id.clone());
            p.sc_in_response_to = Some(id.clone());
            p
        }
        None => Params::unsolicited(&wanted.sp, now),
    };
    p.key = wanted.key;
    p.name_id = wanted.email.clone();
    p.attributes = vec![
        ("email".into(), wanted.email.clone()),
        ("displayName".into(), format!("Bench {}", wanted.serial)),
    ];
    p.assertion_id = format!("_a{tag}-{}", wanted.serial);
    p.response_id = format!("_r{tag}-{}", wanted.serial);
    p.b64()
}

/// Signs `count` responses on `threads` threads; `wanted(i)` describes the i-th.
pub fn sign_all(
    count: usize,
    threads: usize,
    wanted: &(dyn Fn(usize) -> Wanted + Sync),
) -> Result<Vec<String>> {
    let now = saml_fixture::wall_clock();
    let tag = format!("{:x}", now.timestamp());
    let threads = threads.max(1);
    let tag = tag.as_str();
    let parts: Vec<Vec<String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(move |t| {
                s.spawn(move || {
                    (t..count)
                        .step_by(threads)
                        .map(|i| signed_response(&wanted(i), now, tag))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| anyhow::anyhow!("a signing thread panicked"))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    // Back into the order of `i`.
    let mut out = vec![String::new(); count];
    for (t, part) in parts.into_iter().enumerate() {
        for (k, doc) in part.into_iter().enumerate() {
            out[t + k * threads] = doc;
        }
    }
    Ok(out)
}
