//! The email domains an account claims and proves it owns with a DNS TXT record
//! (`_portcullis-challenge.<domain>` holding `portcullis-verification=<token>`).

use std::future::Future;

use chrono::{DateTime, Utc};
use portcullis_domain::email_domain::Check;
use portcullis_domain::{
    policy, Account, AccountDomain, AccountId, DomainError, DomainId, Email, EmailDomain,
    EnforcementPolicy, IdpId,
};
use portcullis_store::{conflict, Store, StoreError};
use rand::RngCore;
use serde_json::json;

use crate::{audit, AppError, Caller, Exec};

/// Looks up the TXT records of a name: the server's resolver (`PORTCULLIS_DNS_SERVERS`).
pub trait TxtLookup {
    /// The TXT values at `name` (each record's strings joined); empty when the name or
    /// its TXT records do not exist; `Err` with what went wrong when the lookup failed.
    fn txt(&self, name: &str) -> impl Future<Output = Result<Vec<String>, String>>;
}

/// The account's claims, by name.
pub fn list(store: &Store, caller: &Caller) -> Result<Vec<AccountDomain>, AppError> {
    caller.require_manager()?;
    Ok(store.domains(caller.account.id)?)
}

/// One of the account's claims.
pub fn get(store: &Store, caller: &Caller, id: DomainId) -> Result<AccountDomain, AppError> {
    caller.require_manager()?;
    store
        .domain(caller.account.id, id)?
        .ok_or(AppError::NotFound)
}

/// Whether `email` is on a domain `account` has verified.
pub fn on_verified_domain(
    store: &Store,
    account: AccountId,
    email: &Email,
) -> Result<bool, AppError> {
    let Some(domain) = EmailDomain::of(email) else {
        return Ok(false);
    };
    Ok(store
        .verified_domain(&domain)?
        .is_some_and(|d| d.account == account))
}

/// The rule "provision only verified domains": when `account` holds to it, a new member
/// (or a new userName) must have an email on one of its verified domains, else 400 naming
/// the domain.
pub fn check_provisionable(
    store: &Store,
    account: &Account,
    email: &Email,
) -> Result<(), AppError> {
    if !account.provision_only_verified_domains || on_verified_domain(store, account.id, email)? {
        return Ok(());
    }
    Err(not_verified(email).into())
}

/// The refusal of `email` by the rule "provision only verified domains", naming its
/// domain.
pub fn not_verified(email: &Email) -> DomainError {
    let domain = email
        .as_str()
        .rsplit_once('@')
        .map_or(email.as_str(), |(_, d)| d);
    DomainError::DomainNotVerified(domain.to_owned())
}

/// A fresh verification token: 128 random bits, hex.
fn token() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn detail(d: &AccountDomain) -> serde_json::Value {
    json!({"domain": d.domain.as_str(), "verified": d.is_verified(),
           "sso_required": d.sso_required, "idp_id": d.idp.map(|i| i.to_string())})
}

/// Claims a domain for the account (400 for a name no account can own; 409 when the
/// account already claims it or another account has verified it).
pub fn create(
    store: &Store,
    caller: &Caller,
    domain: &str,
    now: DateTime<Utc>,
) -> Result<AccountDomain, AppError> {
    caller.require_manager()?;
    let domain = EmailDomain::parse(domain)?;
    if store
        .verified_domain(&domain)?
        .is_some_and(|d| d.account != caller.account.id)
    {
        return Err(AppError::Conflict(format!(
            "{domain} is verified by another account"
        )));
    }
    let claim = AccountDomain::new(
        DomainId::from_uuid(uuid::Uuid::new_v4()),
        caller.account.id,
        domain,
        token(),
        now,
    );
    store.transaction(|store| {
        store.insert_domain(&claim).map_err(|e| match e {
            StoreError::Conflict { what } if what == conflict::DOMAIN => {
                AppError::Conflict(format!("the account already claims {}", claim.domain))
            }
            other => other.into(),
        })?;
        let event = caller.event(
            "domain.added",
            Some(claim.id.to_string()),
            detail(&claim),
            now,
        );
        audit::record(store, &event)?;
        Ok(claim)
    })
}

/// Removes a claim.
pub fn delete(
    store: &Store,
    caller: &Caller,
    id: DomainId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    caller.require_manager()?;
    store.transaction(|store| {
        let claim = store
            .domain(caller.account.id, id)?
            .ok_or(AppError::NotFound)?;
        store.delete_domain(caller.account.id, id)?;
        let event = caller.event("domain.removed", Some(id.to_string()), detail(&claim), now);
        audit::record(store, &event)
    })
}

/// A claim as events show it (what `GET /api/v1/domains/{id}` shows, less the token).
fn event_data(d: &AccountDomain) -> serde_json::Value {
    json!({"id": d.id.to_string(), "domain": d.domain.as_str(), "verified": d.is_verified(),
           "verified_at": d.verified_at, "sso_required": d.sso_required,
           "idp_id": d.idp.map(|i| i.to_string())})
}

/// What a lookup found, for a person: the values, or that there were none.
fn found_text(found: &[String]) -> String {
    if found.is_empty() {
        "no TXT record".into()
    } else {
        format!("only {}", found.join(", "))
    }
}

/// Saves a checked claim: a verification another account made first is refused.
fn save_checked(store: &Store, claim: &AccountDomain) -> Result<(), AppError> {
    store.save_domain(claim).map_err(|e| match e {
        StoreError::Conflict { what } if what == conflict::VERIFIED_DOMAIN => {
            AppError::Conflict(format!("{} is verified by another account", claim.domain))
        }
        other => other.into(),
    })
}

/// Looks the claim's record up and verifies the domain when it holds the token: the
/// claim as it now is, or 409 saying what was found instead (no record, other values, a
/// DNS error).
pub async fn verify(
    exec: &impl Exec,
    dns: &impl TxtLookup,
    caller: &Caller,
    id: DomainId,
    now: DateTime<Utc>,
) -> Result<AccountDomain, AppError> {
    let who = caller.clone();
    let mut claim = exec.read(move |store| get(store, &who, id)).await?;
    let name = claim.domain.challenge_name();
    let found = dns.txt(&name).await.map_err(|e| {
        AppError::Conflict(format!(
            "the lookup of the TXT record at {name} failed: {e}"
        ))
    })?;
    let check = claim.checked(&found, now);
    let who = caller.clone();
    let saved = claim.clone();
    exec.write(move |store| {
        store.transaction(|store| {
            save_checked(store, &saved)?;
            if check == (Check::Verified { newly: true }) {
                crate::webhooks::emit(
                    store,
                    saved.account,
                    "domain.verified",
                    &event_data(&saved),
                    now,
                )?;
                let event = who.event(
                    "domain.verified",
                    Some(saved.id.to_string()),
                    detail(&saved),
                    now,
                );
                audit::record(store, &event)?;
            }
            Ok(())
        })
    })
    .await?;
    match check {
        Check::Verified { .. } => Ok(claim),
        _ => Err(AppError::Conflict(format!(
            "{name} should hold {:?}; the lookup found {}",
            claim.challenge_value(),
            found_text(&found)
        ))),
    }
}

/// How long a verified domain goes between two lookups of its record.
pub const RECHECK_EVERY: chrono::Duration = chrono::Duration::days(1);

/// Claims looked up per round trip to the store by [`recheck_due`].
const RECHECK_BATCH: i64 = 100;

/// Looks up again the record of every verified domain not checked for [`RECHECK_EVERY`],
/// in every account. A record gone is noted (`domain.record_missing`, the first time);
/// gone for [`GRACE`](portcullis_domain::email_domain::GRACE), the domain stops being
/// verified (`domain.unverified`). A lookup that fails changes nothing but the time of
/// the check. Returns how many domains were looked up. Every replica may run it: a claim
/// saved twice with the same finding is the same claim.
pub async fn recheck_due(
    exec: &impl Exec,
    dns: &impl TxtLookup,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let mut looked_up = 0;
    loop {
        let due = exec
            .read(move |store| Ok(store.domains_to_recheck(now - RECHECK_EVERY, RECHECK_BATCH)?))
            .await?;
        let last_batch = (due.len() as i64) < RECHECK_BATCH;
        for mut claim in due {
            looked_up += 1;
            let was_missing = claim.missing_since.is_some();
            let check = match dns.txt(&claim.domain.challenge_name()).await {
                Ok(found) => Some(claim.checked(&found, now)),
                Err(e) => {
                    tracing::warn!(domain = %claim.domain, error = %e, "re-checking a verified domain failed");
                    claim.checked_at = Some(now);
                    None
                }
            };
            let action = match check {
                Some(Check::Missing) if !was_missing => Some("domain.record_missing"),
                Some(Check::Lapsed) => Some("domain.unverified"),
                _ => None,
            };
            exec.write(move |store| {
                store.transaction(|store| {
                    save_checked(store, &claim)?;
                    if action == Some("domain.unverified") {
                        crate::webhooks::emit(
                            store,
                            claim.account,
                            "domain.unverified",
                            &event_data(&claim),
                            now,
                        )?;
                    }
                    if let Some(action) = action {
                        let event = audit::event(
                            claim.account,
                            portcullis_domain::Actor::System,
                            action,
                            Some(claim.id.to_string()),
                            None,
                            detail(&claim),
                            now,
                        );
                        audit::record(store, &event)?;
                    }
                    Ok(())
                })
            })
            .await?;
        }
        if last_batch {
            return Ok(looked_up);
        }
    }
}

/// A change to a claim's policy; `None` keeps a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainChange {
    /// Members on the domain must sign in through an IdP.
    pub sso_required: Option<bool>,
    /// The IdP people of the domain are sent to (`Some(None)`: the account's choice).
    pub idp: Option<Option<IdpId>>,
}

/// Changes a claim's policy. Its IdP must be one of the account's; requiring SSO
/// follows the enforcement rule (an enabled IdP, and a session that signed in through
/// one, or an API key) and ends the password sessions of the members on the domain.
pub fn update(
    store: &Store,
    caller: &Caller,
    id: DomainId,
    change: DomainChange,
    now: DateTime<Utc>,
) -> Result<AccountDomain, AppError> {
    caller.require_manager()?;
    store.transaction(|store| {
        let account = &caller.account;
        let claim = store.domain(account.id, id)?.ok_or(AppError::NotFound)?;
        let mut next = claim.clone();
        if let Some(idp) = change.idp {
            if let Some(idp) = idp {
                store.idp(account.id, idp)?.ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "idp_id: {idp} is not an identity provider of this account"
                    ))
                })?;
            }
            next.idp = idp;
        }
        let newly_required = change.sso_required == Some(true) && !claim.sso_required;
        if newly_required {
            let idps = store.list_idps(account.id)?;
            policy::may_set_enforcement(
                account,
                &idps,
                EnforcementPolicy::Enforced,
                caller.requester(),
            )
            .map_err(|e| AppError::Conflict(e.to_string()))?;
        }
        if let Some(required) = change.sso_required {
            next.sso_required = required;
        }
        if next == claim {
            return Ok(next);
        }
        save_checked(store, &next)?;
        if newly_required {
            store.revoke_password_sessions_on(account.id, &next.domain, now)?;
        }
        let event = caller.event("domain.updated", Some(id.to_string()), detail(&next), now);
        audit::record(store, &event)?;
        Ok(next)
    })
}

/// Where email-first sign-in sends a person whose email is on a verified domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoRoute {
    /// Straight to this IdP's start.
    Idp(IdpId),
    /// To the account's chooser (several enabled IdPs, none named by the domain).
    Chooser,
}

/// Where the SSO of `email` is: the account that verified its domain (only `within`, when
/// given) and the IdP to use — the domain's own when it is enabled, else the account's only
/// enabled IdP, else its chooser. `None` for an email on no verified domain, or whose
/// account has no enabled IdP: such people sign in on their account's own page.
pub fn sso_route(
    store: &Store,
    email: &Email,
    within: Option<AccountId>,
) -> Result<Option<(Account, SsoRoute)>, AppError> {
    let Some(domain) = EmailDomain::of(email) else {
        return Ok(None);
    };
    let Some(claim) = store.verified_domain(&domain)? else {
        return Ok(None);
    };
    if within.is_some_and(|a| a != claim.account) {
        return Ok(None);
    }
    let enabled: Vec<IdpId> = store
        .list_idps(claim.account)?
        .into_iter()
        .filter(|i| i.enabled)
        .map(|i| i.id)
        .collect();
    let route = match (
        claim.idp.filter(|i| enabled.contains(i)),
        enabled.as_slice(),
    ) {
        (Some(idp), _) => SsoRoute::Idp(idp),
        (None, []) => return Ok(None),
        (None, [only]) => SsoRoute::Idp(*only),
        (None, _) => SsoRoute::Chooser,
    };
    let Some(account) = store.account(claim.account)? else {
        return Ok(None);
    };
    Ok(Some((account, route)))
}

/// Whether the account has verified a domain (its login page then asks for the email
/// first).
pub fn has_verified(store: &Store, account: AccountId) -> Result<bool, AppError> {
    Ok(store
        .domains(account)?
        .iter()
        .any(AccountDomain::is_verified))
}
