//! Makes a SAML IdP's SP key pair: a fresh RSA key and random serial drawn here, the
//! self-signed certificate made by `portcullis-sso`. The private key only ever leaves
//! this module inside the IdP, which the store seals before writing.

use chrono::Utc;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use portcullis_domain::{IdpId, SpKeyPair};
use portcullis_sso::saml::{self, SpKeyUse};
use rand::RngCore;

use crate::AppError;

/// Size of the RSA keys made for signing and for encryption.
pub const SP_KEY_BITS: u32 = 3072;

/// A new SP key pair for `idp`, for signing or for encryption. RSA generation takes a
/// noticeable fraction of a second: run it through [`crate::Exec::compute`].
pub fn generate(idp: IdpId, key_use: SpKeyUse) -> Result<SpKeyPair, AppError> {
    let rsa = Rsa::generate(SP_KEY_BITS)
        .and_then(PKey::from_rsa)
        .map_err(|e| AppError::Internal(format!("generating the SP key: {e}")))?;
    let mut serial = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut serial);
    saml::sp_key_pair(&rsa, idp, key_use, serial, Utc::now())
        .map_err(|e| AppError::Internal(format!("making the SP certificate: {e}")))
}
