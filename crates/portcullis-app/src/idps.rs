//! Identity providers (SAML and OpenID Connect). A SAML IdP is made from pasted metadata
//! XML, from a metadata URL (fetched now and on refresh, keeping the last good copy when
//! a refresh fails), or by hand. An OIDC issuer is checked by discovery before it is
//! saved. A SAML IdP can have its AuthnRequests signed, single logout and encrypted
//! assertions: Portcullis then makes the IdP's SP signing or encryption key pairs
//! ([`sp_key`]).
//!
//! These use cases reach the network (metadata, discovery) and make keys before they
//! write, so they are `async` and run their store and CPU work through [`Exec`].

pub mod sp_key;

use sp_key::with_keys;
pub use sp_key::{rotate_sp_encryption_key, rotate_sp_key};

use chrono::Utc;
use portcullis_domain::policy;
use portcullis_domain::{
    Actor, AssertionEncryption, IdentityProvider, IdpId, IdpProtocol, OidcSettings, SamlSettings,
    SpEncryptionKeys, SpKeyPair,
};
use portcullis_sso::oidc::HttpPolicy;
use portcullis_sso::saml;
use portcullis_store::Store;
use serde_json::json;
use uuid::Uuid;

use crate::providers::ProviderCache;
use crate::{audit, webhooks, AppError, Caller, Exec};

/// Writes the audit event of a change to `idp` and emits its webhook event
/// (`idp.created`, `idp.deleted`, or `idp.updated` for every other change).
fn record(
    store: &Store,
    event: &portcullis_domain::AuditEvent,
    idp: &IdentityProvider,
) -> Result<(), AppError> {
    audit::record(store, event)?;
    let kind = match event.action.as_str() {
        "idp.created" => "idp.created",
        "idp.deleted" => "idp.deleted",
        _ => "idp.updated",
    };
    webhooks::emit(store, idp.account, kind, &webhooks::idp_data(idp), event.at)
}

/// SAML settings as entered: metadata XML, or a metadata URL, or entity id + SSO URL +
/// certificates.
#[derive(Debug, Default, Clone)]
pub struct SamlInput {
    /// The IdP's metadata document, pasted.
    pub metadata_xml: Option<String>,
    /// Where to fetch the metadata.
    pub metadata_url: Option<String>,
    /// By hand: the IdP's entity id.
    pub entity_id: Option<String>,
    /// By hand: the IdP's SSO URL.
    pub sso_url: Option<String>,
    /// By hand: the signing certificates, PEM or base64 DER.
    pub certificates: Option<Vec<String>>,
    /// The attribute carrying the email, when not a usual one.
    pub email_attribute: Option<String>,
    /// The attribute carrying the display name, when not a usual one.
    pub name_attribute: Option<String>,
    /// By hand: the IdP's SingleLogoutService URL (HTTP-Redirect); metadata gives its
    /// own.
    pub slo_url: Option<String>,
}

/// OIDC settings as entered; on update, `None` keeps a field.
#[derive(Debug, Default, Clone)]
pub struct OidcInput {
    /// The issuer URL.
    pub issuer: Option<String>,
    /// The client id.
    pub client_id: Option<String>,
    /// The client secret (write-only).
    pub client_secret: Option<String>,
    /// Scopes besides `openid` (default `email profile`).
    pub scopes: Option<Vec<String>>,
}

/// A new IdP: exactly one of `saml` or `oidc`.
#[derive(Debug, Default, Clone)]
pub struct NewIdp {
    /// What people see in the sign-in chooser.
    pub description: String,
    /// Whether it can be used at once (default true).
    pub enabled: Option<bool>,
    /// Accept IdP-initiated sign-in (SAML only).
    pub idp_initiated: Option<bool>,
    /// Sign AuthnRequests (SAML only).
    pub sign_authn_requests: Option<bool>,
    /// Encrypted assertions (SAML only; default off).
    pub encrypted_assertions: Option<AssertionEncryption>,
    /// Accept emails the OIDC IdP does not mark `email_verified` (OIDC only; default
    /// off).
    pub trust_unverified_email: Option<bool>,
    /// SAML settings.
    pub saml: Option<SamlInput>,
    /// OIDC settings.
    pub oidc: Option<OidcInput>,
}

/// A change to an IdP; `None` keeps a field.
#[derive(Debug, Default, Clone)]
pub struct IdpChange {
    /// New description.
    pub description: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// IdP-initiated sign-in (SAML only).
    pub idp_initiated: Option<bool>,
    /// Sign AuthnRequests (SAML only).
    pub sign_authn_requests: Option<bool>,
    /// Encrypted assertions (SAML only).
    pub encrypted_assertions: Option<AssertionEncryption>,
    /// Accept emails the OIDC IdP does not mark `email_verified` (OIDC only).
    pub trust_unverified_email: Option<bool>,
    /// New SAML settings (replace the current ones).
    pub saml: Option<SamlInput>,
    /// New OIDC settings.
    pub oidc: Option<OidcInput>,
}

/// The refusal for IdP-initiated sign-in on an OIDC IdP.
pub const OIDC_IDP_INITIATED: &str =
    "IdP-initiated sign-in is only available for SAML identity providers; OpenID Connect cannot start a sign-in at the IdP";

/// The refusal for the `email_verified` switch on a SAML IdP.
pub const OIDC_TRUST_EMAIL: &str =
    "trusting unverified emails is a switch of OpenID Connect identity providers (SAML assertions carry no email_verified)";

/// The refusal for signed AuthnRequests on an OIDC IdP.
pub const OIDC_SIGNED_REQUESTS: &str =
    "signed AuthnRequests are only available for SAML identity providers";

/// The refusal for encrypted assertions on an OIDC IdP.
pub const OIDC_ENCRYPTED_ASSERTIONS: &str =
    "encrypted assertions are only available for SAML identity providers";

fn sso_error(e: portcullis_sso::SsoError) -> AppError {
    AppError::BadRequest(e.to_string())
}

/// What Portcullis itself keeps of a SAML IdP besides what the admin enters: the
/// switches and the SP key pairs.
struct SamlOwn {
    idp_initiated: bool,
    sign_authn_requests: bool,
    encrypted_assertions: AssertionEncryption,
    sp_signing_key: Option<SpKeyPair>,
    sp_encryption_keys: Option<SpEncryptionKeys>,
}

impl SamlOwn {
    fn of(settings: &SamlSettings) -> Self {
        Self {
            idp_initiated: settings.idp_initiated,
            sign_authn_requests: settings.sign_authn_requests,
            encrypted_assertions: settings.encrypted_assertions,
            sp_signing_key: settings.sp_signing_key.clone(),
            sp_encryption_keys: settings.sp_encryption_keys.clone(),
        }
    }
}

/// Builds SAML settings from metadata XML, a metadata URL or hand-entered values, and
/// makes the SP key pairs they need.
async fn saml_settings(
    exec: &impl Exec,
    net: &HttpPolicy,
    id: IdpId,
    input: SamlInput,
    own: SamlOwn,
) -> Result<SamlSettings, AppError> {
    let (metadata_xml, metadata_url, parsed) =
        if let Some(xml) = input.metadata_xml.filter(|x| !x.trim().is_empty()) {
            let parsed = saml::parse_idp_metadata(&xml).map_err(sso_error)?;
            (Some(xml), None, Some(parsed))
        } else if let Some(url) = input.metadata_url.filter(|u| !u.trim().is_empty()) {
            let url = url.trim().to_owned();
            let (xml, parsed) = saml::fetch_metadata(&url, net).await.map_err(sso_error)?;
            (Some(xml), Some(url), Some(parsed))
        } else {
            (None, None, None)
        };
    let (idp_entity_id, sso_url, signing_certificates, slo_url) = match parsed {
        Some(p) => (p.entity_id, p.sso_url, p.signing_certificates, p.slo_url),
        None => {
            let certificates = input
                .certificates
                .unwrap_or_default()
                .iter()
                .filter(|c| !c.trim().is_empty())
                .map(|c| saml::normalize_certificate(c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(sso_error)?;
            (
                input.entity_id.unwrap_or_default().trim().to_owned(),
                input.sso_url.unwrap_or_default().trim().to_owned(),
                certificates,
                input
                    .slo_url
                    .map(|u| u.trim().to_owned())
                    .filter(|u| !u.is_empty()),
            )
        }
    };
    with_keys(
        exec,
        id,
        SamlSettings {
            idp_entity_id,
            sso_url,
            signing_certificates,
            idp_initiated: own.idp_initiated,
            metadata_url,
            metadata_xml,
            email_attribute: input.email_attribute.filter(|a| !a.trim().is_empty()),
            name_attribute: input.name_attribute.filter(|a| !a.trim().is_empty()),
            sign_authn_requests: own.sign_authn_requests,
            sp_signing_key: own.sp_signing_key,
            encrypted_assertions: own.encrypted_assertions,
            sp_encryption_keys: own.sp_encryption_keys,
            slo_url,
        },
    )
    .await
}

/// Checks OIDC settings, including discovery of the issuer.
async fn oidc_settings(net: &HttpPolicy, s: OidcSettings) -> Result<OidcSettings, AppError> {
    let s = s.validate()?;
    if s.client_secret.trim().is_empty() {
        return Err(AppError::BadRequest("the client secret is required".into()));
    }
    portcullis_sso::oidc::discover(&s.issuer, net)
        .await
        .map_err(sso_error)?;
    Ok(s)
}

fn scopes(list: Option<Vec<String>>) -> Vec<String> {
    list.unwrap_or_else(|| vec!["email".into(), "profile".into()])
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && s != "openid")
        .collect()
}

/// The account's IdPs.
pub fn list(store: &Store, caller: &Caller) -> Result<Vec<IdentityProvider>, AppError> {
    caller.require_manager()?;
    Ok(store.list_idps(caller.account.id)?)
}

/// An IdP of the caller's account (`NotFound` for another account's).
pub fn get(store: &Store, caller: &Caller, id: IdpId) -> Result<IdentityProvider, AppError> {
    caller.require_manager()?;
    store.idp(caller.account.id, id)?.ok_or(AppError::NotFound)
}

fn event(
    caller_actor: Actor,
    caller: Option<&Caller>,
    idp: &IdentityProvider,
    action: &str,
) -> portcullis_domain::AuditEvent {
    audit::event(
        idp.account,
        caller_actor,
        action,
        Some(idp.id.to_string()),
        caller.and_then(Caller::ip_text),
        json!({
            "description": idp.description,
            "protocol": idp.kind(),
            "enabled": idp.enabled,
            "idp_initiated": idp.allows_idp_initiated(),
            "sign_authn_requests": matches!(&idp.protocol, IdpProtocol::Saml(s) if s.sign_authn_requests),
            "encrypted_assertions": match &idp.protocol {
                IdpProtocol::Saml(s) => Some(s.encrypted_assertions.as_str()),
                IdpProtocol::Oidc(_) => None,
            },
            "single_logout": matches!(&idp.protocol, IdpProtocol::Saml(s) if s.slo_url.is_some()),
        }),
        Utc::now(),
    )
}

/// Creates an IdP in the caller's account.
pub async fn create(
    exec: &impl Exec,
    net: &HttpPolicy,
    caller: &Caller,
    new: NewIdp,
) -> Result<IdentityProvider, AppError> {
    create_with_id(exec, net, caller, IdpId::from_uuid(Uuid::new_v4()), new).await
}

/// [`create`] with the id chosen before (the one a setup link reserved, whose URLs the
/// IT admin may already have pasted into the IdP). An id in use is a conflict.
pub async fn create_with_id(
    exec: &impl Exec,
    net: &HttpPolicy,
    caller: &Caller,
    id: IdpId,
    new: NewIdp,
) -> Result<IdentityProvider, AppError> {
    caller.require_manager()?;
    let description = IdentityProvider::validate_description(&new.description)?;
    let idp_initiated = new.idp_initiated.unwrap_or(false);
    let sign_authn_requests = new.sign_authn_requests.unwrap_or(false);
    if new.trust_unverified_email == Some(true) && new.oidc.is_none() {
        return Err(AppError::BadRequest(OIDC_TRUST_EMAIL.into()));
    }
    let protocol = match (new.saml, new.oidc) {
        (Some(s), None) => {
            let own = SamlOwn {
                idp_initiated,
                sign_authn_requests,
                encrypted_assertions: new.encrypted_assertions.unwrap_or_default(),
                sp_signing_key: None,
                sp_encryption_keys: None,
            };
            IdpProtocol::Saml(saml_settings(exec, net, id, s, own).await?)
        }
        (None, Some(o)) => {
            if idp_initiated {
                return Err(AppError::BadRequest(OIDC_IDP_INITIATED.into()));
            }
            if sign_authn_requests {
                return Err(AppError::BadRequest(OIDC_SIGNED_REQUESTS.into()));
            }
            if new
                .encrypted_assertions
                .is_some_and(|e| e != AssertionEncryption::Off)
            {
                return Err(AppError::BadRequest(OIDC_ENCRYPTED_ASSERTIONS.into()));
            }
            IdpProtocol::Oidc(
                oidc_settings(
                    net,
                    OidcSettings {
                        issuer: o.issuer.unwrap_or_default().trim().to_owned(),
                        client_id: o.client_id.unwrap_or_default().trim().to_owned(),
                        client_secret: o.client_secret.unwrap_or_default(),
                        scopes: scopes(o.scopes),
                        trust_unverified_email: new.trust_unverified_email.unwrap_or(false),
                    },
                )
                .await?,
            )
        }
        _ => {
            return Err(AppError::BadRequest(
                "give exactly one of `saml` or `oidc`".into(),
            ))
        }
    };
    let idp = IdentityProvider {
        id,
        account: caller.account.id,
        description,
        enabled: new.enabled.unwrap_or(true),
        protocol,
        created_at: Utc::now(),
    };
    let (saved, event) = (
        idp.clone(),
        event(caller.actor(), Some(caller), &idp, "idp.created"),
    );
    exec.write(move |store| {
        store.transaction(|store| {
            store.insert_idp(&saved)?;
            record(store, &event, &saved)
        })
    })
    .await?;
    Ok(idp)
}

/// Saves a changed IdP in one transaction, asking the domain first when it stops being
/// usable (the last enabled IdP under enforcement cannot be disabled). Disabling it ends
/// the sessions that signed in through it.
pub(crate) async fn save(
    exec: &impl Exec,
    caller: &Caller,
    before: &IdentityProvider,
    after: IdentityProvider,
    action: &'static str,
) -> Result<IdentityProvider, AppError> {
    let disabling = before.enabled && !after.enabled;
    let (saved, event) = (
        after.clone(),
        event(caller.actor(), Some(caller), &after, action),
    );
    exec.write(move |store| {
        store.transaction(|store| {
            if disabling {
                may_remove(store, &saved)?;
                store.revoke_idp_sessions(saved.id, event.at)?;
            }
            store.update_idp(&saved)?;
            record(store, &event, &saved)
        })
    })
    .await?;
    Ok(after)
}

fn may_remove(store: &Store, idp: &IdentityProvider) -> Result<(), AppError> {
    let account = store.account(idp.account)?.ok_or(AppError::NotFound)?;
    let idps = store.list_idps(idp.account)?;
    policy::may_remove_idp(&account, &idps, idp.id).map_err(|e| AppError::Conflict(e.to_string()))
}

/// Applies a change to an IdP. Logins stop using what OIDC discovery found for the old
/// settings.
pub async fn update(
    exec: &impl Exec,
    net: &HttpPolicy,
    providers: &ProviderCache,
    caller: &Caller,
    id: IdpId,
    change: IdpChange,
) -> Result<IdentityProvider, AppError> {
    let who = caller.clone();
    let before = exec.read(move |store| get(store, &who, id)).await?;
    let mut after = before.clone();
    if let Some(d) = &change.description {
        after.description = IdentityProvider::validate_description(d)?;
    }
    if let Some(enabled) = change.enabled {
        after.enabled = enabled;
    }
    after.protocol = match (before.protocol.clone(), change.saml, change.oidc) {
        (IdpProtocol::Saml(current), saml, None) => {
            if change.trust_unverified_email == Some(true) {
                return Err(AppError::BadRequest(OIDC_TRUST_EMAIL.into()));
            }
            let own = SamlOwn {
                idp_initiated: change.idp_initiated.unwrap_or(current.idp_initiated),
                sign_authn_requests: change
                    .sign_authn_requests
                    .unwrap_or(current.sign_authn_requests),
                encrypted_assertions: change
                    .encrypted_assertions
                    .unwrap_or(current.encrypted_assertions),
                ..SamlOwn::of(&current)
            };
            match saml {
                Some(input) => {
                    IdpProtocol::Saml(saml_settings(exec, net, id, input, own).await?)
                }
                None => IdpProtocol::Saml(
                    with_keys(
                        exec,
                        id,
                        SamlSettings {
                            idp_initiated: own.idp_initiated,
                            sign_authn_requests: own.sign_authn_requests,
                            encrypted_assertions: own.encrypted_assertions,
                            ..current
                        },
                    )
                    .await?,
                ),
            }
        }
        (IdpProtocol::Oidc(current), None, oidc) => {
            if change.idp_initiated == Some(true) {
                return Err(AppError::BadRequest(OIDC_IDP_INITIATED.into()));
            }
            if change.sign_authn_requests == Some(true) {
                return Err(AppError::BadRequest(OIDC_SIGNED_REQUESTS.into()));
            }
            if change
                .encrypted_assertions
                .is_some_and(|e| e != AssertionEncryption::Off)
            {
                return Err(AppError::BadRequest(OIDC_ENCRYPTED_ASSERTIONS.into()));
            }
            match oidc {
                Some(o) => {
                    let new_secret = o.client_secret.filter(|s| !s.is_empty());
                    let next = OidcSettings {
                        issuer: o.issuer.map_or(current.issuer.clone(), |i| i.trim().to_owned()),
                        client_id: o
                            .client_id
                            .map_or(current.client_id.clone(), |c| c.trim().to_owned()),
                        client_secret: new_secret
                            .clone()
                            .unwrap_or(current.client_secret.clone()),
                        scopes: o.scopes.map_or(current.scopes.clone(), |s| scopes(Some(s))),
                        trust_unverified_email: change
                            .trust_unverified_email
                            .unwrap_or(current.trust_unverified_email),
                    };
                    // The stored secret belongs to the issuer and client it was given
                    // for: it is never sent to another one's token endpoint.
                    let moved =
                        next.issuer != current.issuer || next.client_id != current.client_id;
                    if moved && new_secret.is_none() {
                        return Err(AppError::BadRequest(
                            "client_secret is required when the issuer or client id changes"
                                .into(),
                        ));
                    }
                    IdpProtocol::Oidc(oidc_settings(net, next).await?)
                }
                None => IdpProtocol::Oidc(OidcSettings {
                    trust_unverified_email: change
                        .trust_unverified_email
                        .unwrap_or(current.trust_unverified_email),
                    ..current
                }),
            }
        }
        _ => {
            return Err(AppError::BadRequest(
                "an IdP keeps its protocol: send `saml` settings to a SAML IdP and `oidc` settings to an OIDC IdP".into(),
            ))
        }
    };
    let saved = save(exec, caller, &before, after, "idp.updated").await;
    providers.invalidate(id);
    saved
}

/// Fetches a SAML IdP's metadata URL again. On failure the last good copy is kept and
/// the refusal says why.
pub async fn refresh_metadata(
    exec: &impl Exec,
    net: &HttpPolicy,
    caller: &Caller,
    id: IdpId,
) -> Result<IdentityProvider, AppError> {
    let (before, current) = saml_idp(exec, caller, id, "metadata").await?;
    let current = &current;
    let Some(url) = current.metadata_url.clone() else {
        return Err(AppError::BadRequest(
            "this identity provider was not created from a metadata URL".into(),
        ));
    };
    let settings = refreshed(exec, net, id, current, &url).await.map_err(|e| {
        AppError::Conflict(format!(
            "could not refresh the metadata ({}); the last good copy is kept",
            e.public_message()
        ))
    })?;
    let mut after = before.clone();
    after.protocol = IdpProtocol::Saml(settings);
    save(exec, caller, &before, after, "idp.metadata.refreshed").await
}

async fn refreshed(
    exec: &impl Exec,
    net: &HttpPolicy,
    id: IdpId,
    current: &SamlSettings,
    url: &str,
) -> Result<SamlSettings, AppError> {
    let (xml, parsed) = saml::fetch_metadata(url, net).await.map_err(sso_error)?;
    with_keys(
        exec,
        id,
        SamlSettings {
            idp_entity_id: parsed.entity_id,
            sso_url: parsed.sso_url,
            signing_certificates: parsed.signing_certificates,
            slo_url: parsed.slo_url,
            metadata_xml: Some(xml),
            ..current.clone()
        },
    )
    .await
}

/// A SAML IdP of the caller's account with its settings; another protocol is refused as
/// having no `what`.
pub(crate) async fn saml_idp(
    exec: &impl Exec,
    caller: &Caller,
    id: IdpId,
    what: &str,
) -> Result<(IdentityProvider, SamlSettings), AppError> {
    let who = caller.clone();
    let idp = exec.read(move |store| get(store, &who, id)).await?;
    match &idp.protocol {
        IdpProtocol::Saml(settings) => {
            let settings = settings.clone();
            Ok((idp, settings))
        }
        IdpProtocol::Oidc(_) => Err(AppError::BadRequest(format!(
            "only SAML identity providers have {what}"
        ))),
    }
}

/// Refreshes every SAML IdP that came from a metadata URL; failures keep the last good
/// copy and are logged. Returns how many changed. Run on a schedule by the server.
pub async fn refresh_all(exec: &impl Exec, net: &HttpPolicy) -> Result<usize, AppError> {
    let idps = exec.read(|store| Ok(store.all_idps()?)).await?;
    let mut refreshed_count = 0;
    for idp in idps {
        let IdpProtocol::Saml(current) = &idp.protocol else {
            continue;
        };
        let Some(url) = current.metadata_url.as_deref() else {
            continue;
        };
        match refreshed(exec, net, idp.id, current, url).await {
            Ok(settings) if IdpProtocol::Saml(settings.clone()) != idp.protocol => {
                let mut after = idp.clone();
                after.protocol = IdpProtocol::Saml(settings);
                let event = event(Actor::System, None, &after, "idp.metadata.refreshed");
                exec.write(move |store| {
                    store.transaction(|store| {
                        store.update_idp(&after)?;
                        record(store, &event, &after)
                    })
                })
                .await?;
                refreshed_count += 1;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(idp = %idp.id, error = %e, "metadata refresh failed; keeping the last good copy")
            }
        }
    }
    Ok(refreshed_count)
}

/// Deletes an IdP with its SSO links and ends the sessions that signed in through it,
/// unless it is the last enabled one under enforcement.
pub fn delete(
    store: &Store,
    providers: &ProviderCache,
    caller: &Caller,
    id: IdpId,
) -> Result<(), AppError> {
    let deleted = store.transaction(|store| {
        let idp = get(store, caller, id)?;
        may_remove(store, &idp)?;
        store.revoke_idp_sessions(idp.id, Utc::now())?;
        store.delete_idp(idp.account, idp.id)?;
        record(
            store,
            &event(caller.actor(), Some(caller), &idp, "idp.deleted"),
            &idp,
        )
    });
    providers.invalidate(id);
    deleted
}

/// How long before a SAML signing certificate expires the account is warned.
pub const EXPIRY_WARNING: chrono::Duration = chrono::Duration::days(30);

/// When the `idp.certificate_expiring` event is emitted: this many days before.
const WARN_AT_DAYS: [i64; 3] = [1, 7, 30];

/// A SAML IdP whose signing certificate expires soon (or has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringCertificate {
    /// The IdP.
    pub idp: IdpId,
    /// Its description.
    pub description: String,
    /// When its first certificate to expire does.
    pub expires_at: chrono::DateTime<Utc>,
}

/// When the first of an IdP's signing certificates expires (`None` for OIDC, or
/// certificates that cannot be read).
pub fn certificate_expiry(idp: &IdentityProvider) -> Option<chrono::DateTime<Utc>> {
    let IdpProtocol::Saml(saml) = &idp.protocol else {
        return None;
    };
    saml.signing_certificates
        .iter()
        .filter_map(|c| saml::certificate_expiry(c).ok())
        .min()
}

/// The account's SAML IdPs whose signing certificate expires within
/// [`EXPIRY_WARNING`] of `now` (for the banners).
pub fn expiring_certificates(
    store: &Store,
    caller: &Caller,
    now: chrono::DateTime<Utc>,
) -> Result<Vec<ExpiringCertificate>, AppError> {
    Ok(list(store, caller)?
        .iter()
        .filter_map(|idp| {
            let expires_at = certificate_expiry(idp)?;
            (expires_at - now <= EXPIRY_WARNING).then(|| ExpiringCertificate {
                idp: idp.id,
                description: idp.description.clone(),
                expires_at,
            })
        })
        .collect())
}

/// Emits `idp.certificate_expiring` (audit log and webhooks) for every SAML IdP whose
/// first certificate expires within 30, 7 or 1 days of `now`, once per threshold (the
/// daily work calls it). Returns how many warnings it gave.
pub fn warn_expiring(store: &Store, now: chrono::DateTime<Utc>) -> Result<usize, AppError> {
    let mut warned = 0;
    for idp in store.all_idps()? {
        let Some(expires_at) = certificate_expiry(&idp) else {
            continue;
        };
        let Some(days) = WARN_AT_DAYS
            .iter()
            .copied()
            .find(|d| expires_at - now <= chrono::Duration::days(*d))
        else {
            continue;
        };
        // Given once per threshold: a warning given since the threshold's own window
        // opened (a day before it) counts.
        let since = expires_at - chrono::Duration::days(days + 1);
        let target = idp.id.to_string();
        if store.has_audit(idp.account, "idp.certificate_expiring", &target, since)? {
            continue;
        }
        store.transaction(|store| {
            let mut data = webhooks::idp_data(&idp);
            if let Some(d) = data.as_object_mut() {
                d.insert("certificate_expires_at".into(), json!(expires_at));
                d.insert("days".into(), json!(days));
            }
            webhooks::emit(store, idp.account, "idp.certificate_expiring", &data, now)?;
            audit::record(
                store,
                &audit::event(
                    idp.account,
                    Actor::System,
                    "idp.certificate_expiring",
                    Some(target.clone()),
                    None,
                    json!({"description": idp.description, "expires_at": expires_at, "days": days}),
                    now,
                ),
            )
        })?;
        warned += 1;
    }
    Ok(warned)
}
