//! Setup links: an account admin makes a time-limited link for the customer's IT admin,
//! who owns the IdP but is not a member. The link opens only the sections it names
//! (identity providers, a SCIM key, email domains), never members, roles, the policy or
//! other keys; it can be revoked, and every use is audited as the link.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use portcullis_domain::{
    Account, ApiKey, ApiKeySecret, IdpId, SecretHash, SetupLink, SetupLinkId, SetupSection, User,
};
use portcullis_store::Store;
use rand::RngCore;
use serde_json::json;
use uuid::Uuid;

use crate::provisioning::{self, KeyOwner};
use crate::{audit, AppError, Caller, Via};

/// Makes a link opening `sections` for `expires_in_hours` (1 to 168); returns it with
/// its secret token (for the URL, shown once).
pub fn create(
    store: &Store,
    caller: &Caller,
    sections: &[String],
    expires_in_hours: i64,
    now: DateTime<Utc>,
) -> Result<(SetupLink, String), AppError> {
    caller.require_manager()?;
    let (sections, validity) = SetupLink::check_request(sections, expires_in_hours)?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let link = SetupLink {
        id: SetupLinkId::from_uuid(Uuid::new_v4()),
        account: caller.account.id,
        token_hash: SecretHash::of(&token),
        sections,
        idp: IdpId::from_uuid(Uuid::new_v4()),
        created_by: caller.user().map(|u| u.id),
        created_at: now,
        expires_at: now + validity,
        revoked_at: None,
    };
    store.transaction(|store| {
        store.insert_setup_link(&link)?;
        audit::record(
            store,
            &caller.event(
                "setup_link.created",
                Some(link.id.to_string()),
                json!({
                    "sections": link.sections.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                    "expires_at": link.expires_at.to_rfc3339(),
                }),
                now,
            ),
        )
    })?;
    Ok((link, token))
}

/// The account's links, newest first.
pub fn list(store: &Store, caller: &Caller) -> Result<Vec<SetupLink>, AppError> {
    caller.require_manager()?;
    Ok(store.list_setup_links(caller.account.id)?)
}

/// Revokes a live link of the account at once (`NotFound` for an unknown, foreign or
/// already revoked one).
pub fn revoke(
    store: &Store,
    caller: &Caller,
    id: SetupLinkId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    caller.require_manager()?;
    store.transaction(|store| {
        if !store.revoke_setup_link(caller.account.id, id, now)? {
            return Err(AppError::NotFound);
        }
        audit::record(
            store,
            &caller.event(
                "setup_link.revoked",
                Some(id.to_string()),
                serde_json::Value::Null,
                now,
            ),
        )
    })
}

/// The caller a link's `token` makes, with the link: unknown tokens are `NotFound`,
/// revoked and expired links `Gone`, a suspended account `Forbidden`.
pub fn open(
    store: &Store,
    token: &str,
    ip: Option<std::net::IpAddr>,
    now: DateTime<Utc>,
) -> Result<(Caller, SetupLink), AppError> {
    let link = store
        .setup_link_by_token(&SecretHash::of(token))?
        .ok_or(AppError::NotFound)?;
    if !link.is_usable(now) {
        return Err(AppError::Gone(
            "this setup link was revoked or has expired; ask the account's admin for a new one"
                .into(),
        ));
    }
    let account: Account = store.account(link.account)?.ok_or(AppError::NotFound)?;
    if account.is_suspended() {
        return Err(AppError::Forbidden(
            portcullis_domain::ACCOUNT_SUSPENDED.into(),
        ));
    }
    let caller = Caller {
        account,
        via: Via::SetupLink {
            link: link.id,
            sections: link.sections.clone(),
            opened: None,
        },
        ip,
    };
    Ok((caller, link))
}

/// Makes the SCIM key of a link opening `scim`: a bot named for the link owns a
/// `scim`-scoped key, and the account provisions over SCIM (as the dashboard's SCIM page
/// does); the secret is shown once.
pub fn create_scim_key(
    store: &Store,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<(ApiKey, User, ApiKeySecret), AppError> {
    let caller = caller.open(SetupSection::Scim)?;
    let name = format!("SCIM ({})", now.format("%Y-%m-%d %H:%M"));
    provisioning::switch_on_scim(
        store,
        &caller,
        "SCIM key made through a setup link",
        KeyOwner::NewBot(name),
        now,
    )
}
