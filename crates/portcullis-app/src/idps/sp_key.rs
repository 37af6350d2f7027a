//! A SAML IdP's SP key pairs, for signing and for encryption: made here (a fresh RSA key
//! and random serial, the self-signed certificate made by `portcullis-sso`) when a
//! switch first needs them, kept when it goes off, and replaced on request. A private key
//! only ever leaves this module inside the IdP, which the store seals before writing.

use chrono::Utc;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use portcullis_domain::{
    AssertionEncryption, IdentityProvider, IdpId, IdpProtocol, SamlSettings, SpEncryptionKeys,
    SpKeyPair,
};
use portcullis_sso::saml::{self, SpKeyUse};
use rand::RngCore;

use super::{saml_idp, save};
use crate::{AppError, Caller, Exec};

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

/// `settings` with the SP key pairs its switches need, made when missing, and checked.
/// A key pair made once is kept when its switch goes off, so switching it on again
/// keeps the certificate the IdP knows.
pub(super) async fn with_keys(
    exec: &impl Exec,
    idp: IdpId,
    mut settings: SamlSettings,
) -> Result<SamlSettings, AppError> {
    let signs = settings.sign_authn_requests || settings.slo_url.is_some();
    if signs && settings.sp_signing_key.is_none() {
        settings.sp_signing_key = Some(
            exec.compute(move || generate(idp, SpKeyUse::Signing))
                .await?,
        );
    }
    let encrypts = settings.encrypted_assertions != AssertionEncryption::Off;
    if encrypts && settings.sp_encryption_keys.is_none() {
        settings.sp_encryption_keys = Some(SpEncryptionKeys {
            current: exec
                .compute(move || generate(idp, SpKeyUse::Encryption))
                .await?,
            previous: None,
        });
    }
    Ok(settings.validate()?)
}

/// Replaces a SAML IdP's SP key pair with a new one, for instance when the old private
/// key may have leaked. The IdP must be given the new certificate (or the SP metadata
/// again): until then it refuses the signed requests.
pub async fn rotate_sp_key(
    exec: &impl Exec,
    caller: &Caller,
    id: IdpId,
) -> Result<IdentityProvider, AppError> {
    let (before, current) = saml_idp(exec, caller, id, "an SP signing key").await?;
    let fresh = exec
        .compute(move || generate(id, SpKeyUse::Signing))
        .await?;
    let mut after = before.clone();
    after.protocol = IdpProtocol::Saml(SamlSettings {
        sp_signing_key: Some(fresh),
        ..current
    });
    save(exec, caller, &before, after, "idp.sp_key.rotated").await
}

/// Replaces a SAML IdP's SP encryption key pair with a new one, whose certificate the SP
/// metadata publishes from now on. The replaced pair still decrypts for
/// [`portcullis_domain::PREVIOUS_ENCRYPTION_KEY_GRACE`], so sign-ins the IdP encrypts
/// before it takes the new certificate succeed.
pub async fn rotate_sp_encryption_key(
    exec: &impl Exec,
    caller: &Caller,
    id: IdpId,
) -> Result<IdentityProvider, AppError> {
    let (before, current) = saml_idp(exec, caller, id, "an SP encryption key").await?;
    let Some(keys) = current.sp_encryption_keys.clone() else {
        return Err(AppError::BadRequest(
            "this identity provider has no SP encryption key: set encrypted_assertions to accept or require first".into(),
        ));
    };
    let fresh = exec
        .compute(move || generate(id, SpKeyUse::Encryption))
        .await?;
    let mut after = before.clone();
    after.protocol = IdpProtocol::Saml(SamlSettings {
        sp_encryption_keys: Some(keys.rotated(fresh, Utc::now())),
        ..current
    });
    save(
        exec,
        caller,
        &before,
        after,
        "idp.sp_encryption_key.rotated",
    )
    .await
}
