//! Identity providers. Protocol settings are one JSON text column, so that adding a
//! setting needs no migration. A SAML IdP's SP keys, which Portcullis makes rather than
//! an admin enters, have columns of their own, sealed with the configured encryption key
//! (never in clear: without a key they are not written): the signing pair as the sealed
//! private key and the certificate in clear, the encryption pairs as one sealed JSON
//! value.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::{
    AccountId, AssertionEncryption, IdentityProvider, IdpId, IdpProtocol, OidcSettings,
    SamlSettings, SpEncryptionKeys, SpKeyPair,
};
use serde::{Deserialize, Serialize};

use crate::cipher::{self, SecretCipher};
use crate::convert::{db_time, parse, utc};
use crate::schema::{
    account_domains, assertion_replay, identity_providers, pending_logins, sso_links,
};
use crate::{Store, StoreError};

const SAML: &str = "saml";
const OIDC: &str = "oidc";

/// The stored form of [`SamlSettings`]. Kept apart from the domain type so the domain
/// needs no serde and the stored shape changes only on purpose.
#[derive(Serialize, Deserialize)]
struct SamlJson {
    idp_entity_id: String,
    sso_url: String,
    signing_certificates: Vec<String>,
    idp_initiated: bool,
    #[serde(default)]
    metadata_url: Option<String>,
    #[serde(default)]
    metadata_xml: Option<String>,
    #[serde(default)]
    email_attribute: Option<String>,
    #[serde(default)]
    name_attribute: Option<String>,
    #[serde(default)]
    sign_authn_requests: bool,
    /// `off`, `accept` or `require`; absent (off) before encryption existed.
    #[serde(default = "encryption_off")]
    encrypted_assertions: String,
    #[serde(default)]
    slo_url: Option<String>,
}

fn encryption_off() -> String {
    AssertionEncryption::Off.as_str().to_owned()
}

/// The stored form of [`SpEncryptionKeys`], sealed as a whole.
#[derive(Serialize, Deserialize)]
struct EncryptionKeysJson {
    current: KeyPairJson,
    #[serde(default)]
    previous: Option<(KeyPairJson, DateTime<Utc>)>,
}

#[derive(Serialize, Deserialize)]
struct KeyPairJson {
    private_key_pem: String,
    certificate: String,
}

impl KeyPairJson {
    fn of(pair: &SpKeyPair) -> Self {
        Self {
            private_key_pem: pair.private_key_pem.clone(),
            certificate: pair.certificate.clone(),
        }
    }

    fn into_pair(self) -> SpKeyPair {
        SpKeyPair {
            private_key_pem: self.private_key_pem,
            certificate: self.certificate,
        }
    }
}

fn seal_encryption_keys(
    cipher: Option<&SecretCipher>,
    keys: &SpEncryptionKeys,
) -> Result<String, StoreError> {
    let json = to_json(&EncryptionKeysJson {
        current: KeyPairJson::of(&keys.current),
        previous: keys
            .previous
            .as_ref()
            .map(|(pair, until)| (KeyPairJson::of(pair), *until)),
    })?;
    cipher::seal_required(cipher, &json)
}

fn open_encryption_keys(
    cipher: Option<&SecretCipher>,
    sealed: &str,
) -> Result<SpEncryptionKeys, StoreError> {
    let json: EncryptionKeysJson = serde_json::from_str(&cipher::open_required(cipher, sealed)?)
        .map_err(|e| StoreError::Corrupt(format!("SP encryption keys: {e}")))?;
    Ok(SpEncryptionKeys {
        current: json.current.into_pair(),
        previous: json.previous.map(|(pair, until)| (pair.into_pair(), until)),
    })
}

/// The stored form of [`OidcSettings`].
#[derive(Serialize, Deserialize)]
struct OidcJson {
    issuer: String,
    client_id: String,
    client_secret: String,
    #[serde(default)]
    scopes: Vec<String>,
    /// Absent from settings written before the switch existed: those IdPs keep the
    /// behaviour they were set up with (emails trusted unless `email_verified` is false),
    /// so nothing running breaks. Every write stores it.
    #[serde(default = "trusted_before_the_switch")]
    trust_unverified_email: bool,
}

fn trusted_before_the_switch() -> bool {
    true
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = identity_providers)]
struct IdpRow {
    id: String,
    account_id: String,
    description: String,
    enabled: bool,
    protocol: String,
    settings: String,
    created_at: NaiveDateTime,
    sp_signing_key: Option<String>,
    sp_certificate: Option<String>,
    sp_encryption_keys: Option<String>,
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("IdP settings: {e}")))
}

impl IdpRow {
    fn from_domain(
        idp: &IdentityProvider,
        cipher: Option<&SecretCipher>,
    ) -> Result<Self, StoreError> {
        let (protocol, settings) = match &idp.protocol {
            IdpProtocol::Saml(s) => (
                SAML,
                to_json(&SamlJson {
                    idp_entity_id: s.idp_entity_id.clone(),
                    sso_url: s.sso_url.clone(),
                    signing_certificates: s.signing_certificates.clone(),
                    idp_initiated: s.idp_initiated,
                    metadata_url: s.metadata_url.clone(),
                    metadata_xml: s.metadata_xml.clone(),
                    email_attribute: s.email_attribute.clone(),
                    name_attribute: s.name_attribute.clone(),
                    sign_authn_requests: s.sign_authn_requests,
                    encrypted_assertions: s.encrypted_assertions.as_str().to_owned(),
                    slo_url: s.slo_url.clone(),
                })?,
            ),
            IdpProtocol::Oidc(o) => (
                OIDC,
                to_json(&OidcJson {
                    issuer: o.issuer.clone(),
                    client_id: o.client_id.clone(),
                    client_secret: cipher::seal(cipher, &o.client_secret)?,
                    scopes: o.scopes.clone(),
                    trust_unverified_email: o.trust_unverified_email,
                })?,
            ),
        };
        let (sp_signing_key, sp_certificate) = match &idp.protocol {
            IdpProtocol::Saml(SamlSettings {
                sp_signing_key: Some(key),
                ..
            }) => (
                Some(cipher::seal_required(cipher, &key.private_key_pem)?),
                Some(key.certificate.clone()),
            ),
            _ => (None, None),
        };
        let sp_encryption_keys = match &idp.protocol {
            IdpProtocol::Saml(SamlSettings {
                sp_encryption_keys: Some(keys),
                ..
            }) => Some(seal_encryption_keys(cipher, keys)?),
            _ => None,
        };
        Ok(Self {
            id: idp.id.to_string(),
            account_id: idp.account.to_string(),
            description: idp.description.clone(),
            enabled: idp.enabled,
            protocol: protocol.to_owned(),
            settings,
            created_at: db_time(idp.created_at),
            sp_signing_key,
            sp_certificate,
            sp_encryption_keys,
        })
    }

    fn into_domain(self, cipher: Option<&SecretCipher>) -> Result<IdentityProvider, StoreError> {
        let protocol = match self.protocol.as_str() {
            SAML => {
                let s: SamlJson = from_json(&self.settings)?;
                IdpProtocol::Saml(SamlSettings {
                    idp_entity_id: s.idp_entity_id,
                    sso_url: s.sso_url,
                    signing_certificates: s.signing_certificates,
                    idp_initiated: s.idp_initiated,
                    metadata_url: s.metadata_url,
                    metadata_xml: s.metadata_xml,
                    email_attribute: s.email_attribute,
                    name_attribute: s.name_attribute,
                    sign_authn_requests: s.sign_authn_requests,
                    sp_signing_key: match (self.sp_signing_key, self.sp_certificate) {
                        (Some(sealed), Some(certificate)) => Some(SpKeyPair {
                            private_key_pem: cipher::open_required(cipher, &sealed)?,
                            certificate,
                        }),
                        (None, None) => None,
                        _ => {
                            return Err(StoreError::Corrupt(
                                "an SP key without its certificate, or the reverse".into(),
                            ))
                        }
                    },
                    encrypted_assertions: AssertionEncryption::parse(&s.encrypted_assertions)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    sp_encryption_keys: self
                        .sp_encryption_keys
                        .as_deref()
                        .map(|sealed| open_encryption_keys(cipher, sealed))
                        .transpose()?,
                    slo_url: s.slo_url,
                })
            }
            OIDC => {
                let o: OidcJson = from_json(&self.settings)?;
                IdpProtocol::Oidc(OidcSettings {
                    issuer: o.issuer,
                    client_id: o.client_id,
                    client_secret: cipher::open(cipher, &o.client_secret)?,
                    scopes: o.scopes,
                    trust_unverified_email: o.trust_unverified_email,
                })
            }
            other => return Err(StoreError::Corrupt(format!("IdP protocol {other:?}"))),
        };
        Ok(IdentityProvider {
            id: parse(&self.id, "IdP id")?,
            account: parse(&self.account_id, "account id")?,
            description: self.description,
            enabled: self.enabled,
            protocol,
            created_at: utc(self.created_at),
        })
    }
}

fn idps_in(conn: &mut crate::connection::AnyConnection, account: &str) -> QueryResult<Vec<IdpRow>> {
    identity_providers::table
        .filter(identity_providers::account_id.eq(account))
        .order((
            identity_providers::created_at.asc(),
            identity_providers::id.asc(),
        ))
        .select(IdpRow::as_select())
        .load(conn)
}

impl Store {
    /// Stores a new identity provider. Its account must exist (`NotFound` otherwise).
    pub fn insert_idp(&self, idp: &IdentityProvider) -> Result<(), StoreError> {
        let row = IdpRow::from_domain(idp, self.cipher.as_ref())?;
        self.write(|conn| {
            diesel::insert_into(identity_providers::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    /// The IdP with this id in this account; another account's IdP is `None`.
    pub fn idp(
        &self,
        account: AccountId,
        id: IdpId,
    ) -> Result<Option<IdentityProvider>, StoreError> {
        self.read(|conn| {
            identity_providers::table
                .filter(identity_providers::account_id.eq(account.to_string()))
                .filter(identity_providers::id.eq(id.to_string()))
                .select(IdpRow::as_select())
                .first(conn)
                .optional()?
                .map(|row| row.into_domain(self.cipher.as_ref()))
                .transpose()
        })
    }

    /// The IdP with this id in any account: for routing an ACS or redirect URL, which
    /// carries the IdP id. The caller then works in the IdP's own account.
    pub fn idp_by_id(&self, id: IdpId) -> Result<Option<IdentityProvider>, StoreError> {
        self.read(|conn| {
            identity_providers::table
                .find(id.to_string())
                .select(IdpRow::as_select())
                .first(conn)
                .optional()?
                .map(|row| row.into_domain(self.cipher.as_ref()))
                .transpose()
        })
    }

    /// The account's IdPs, oldest first.
    pub fn list_idps(&self, account: AccountId) -> Result<Vec<IdentityProvider>, StoreError> {
        self.read(|conn| {
            idps_in(conn, &account.to_string())?
                .into_iter()
                .map(|row| row.into_domain(self.cipher.as_ref()))
                .collect()
        })
    }

    /// Every account's IdPs, oldest first: for server-wide jobs such as the scheduled
    /// metadata refresh. Never for answering a request.
    pub fn all_idps(&self) -> Result<Vec<IdentityProvider>, StoreError> {
        self.read(|conn| {
            identity_providers::table
                .order((
                    identity_providers::created_at.asc(),
                    identity_providers::id.asc(),
                ))
                .select(IdpRow::as_select())
                .load(conn)?
                .into_iter()
                .map(|row| row.into_domain(self.cipher.as_ref()))
                .collect()
        })
    }

    /// Saves an IdP's description, enabled flag and protocol settings. `NotFound` when
    /// the account has no such IdP.
    pub fn update_idp(&self, idp: &IdentityProvider) -> Result<(), StoreError> {
        let row = IdpRow::from_domain(idp, self.cipher.as_ref())?;
        self.write(|conn| {
            let n = diesel::update(
                identity_providers::table
                    .filter(identity_providers::account_id.eq(&row.account_id))
                    .filter(identity_providers::id.eq(&row.id)),
            )
            .set((
                identity_providers::description.eq(&row.description),
                identity_providers::enabled.eq(row.enabled),
                identity_providers::protocol.eq(&row.protocol),
                identity_providers::settings.eq(&row.settings),
                identity_providers::sp_signing_key.eq(&row.sp_signing_key),
                identity_providers::sp_certificate.eq(&row.sp_certificate),
                identity_providers::sp_encryption_keys.eq(&row.sp_encryption_keys),
            ))
            .execute(conn)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
    }

    /// Deletes an IdP with its SSO links, pending logins and replay entries. `false`
    /// when the account has no such IdP.
    pub fn delete_idp(&self, account: AccountId, id: IdpId) -> Result<bool, StoreError> {
        let (account, id) = (account.to_string(), id.to_string());
        self.write(|conn| {
            let exists = identity_providers::table
                .filter(identity_providers::account_id.eq(&account))
                .filter(identity_providers::id.eq(&id))
                .count()
                .get_result::<i64>(conn)?
                > 0;
            if !exists {
                return Ok(false);
            }
            diesel::delete(sso_links::table.filter(sso_links::idp_id.eq(&id))).execute(conn)?;
            diesel::delete(pending_logins::table.filter(pending_logins::idp_id.eq(&id)))
                .execute(conn)?;
            diesel::delete(assertion_replay::table.filter(assertion_replay::idp_id.eq(&id)))
                .execute(conn)?;
            // Domains that sent people to it send them to the account's choice again.
            diesel::update(account_domains::table.filter(account_domains::idp_id.eq(&id)))
                .set(account_domains::idp_id.eq(None::<String>))
                .execute(conn)?;
            diesel::delete(identity_providers::table.find(&id)).execute(conn)?;
            Ok(true)
        })
    }
}
