//! The step every SSO login ends with, whatever the protocol: a verified identity is
//! matched against the account's members, the domain decides, and a session is opened
//! (or the refusal is shown and audited).
//!
//! Every attempt, successful or not, leaves one audit event (`login.succeeded` or
//! `login.failed`) whose detail names the IdP and a precise reason code (the
//! `reason()` of a SAML or OIDC rejection, or an [`SsoRefusal`] code), so an admin can
//! diagnose a misconfigured IdP from the audit log alone.

use actix_web::http::header;
use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use portcullis_domain::policy::{self, KnownPerson, SsoDecision, SsoIdentity, SsoRefusal};
use portcullis_domain::{
    Account, Actor, AuthMethod, IdentityProvider, Role, SecretHash, User, UserId, UserKind,
    UserOrigin,
};
use portcullis_store::{Store, StoreError, UserListQuery};
use serde_json::json;
use uuid::Uuid;

use crate::error::{AppError, PageError};
use crate::state::AppState;
use crate::{ops, session};

/// The audit reason code of a domain refusal.
pub fn refusal_code(r: SsoRefusal) -> &'static str {
    match r {
        SsoRefusal::ForeignIdp => "foreign_idp",
        SsoRefusal::IdpDisabled => "idp_disabled",
        SsoRefusal::NotProvisioned(_) => "not_provisioned",
        SsoRefusal::Inactive => "inactive",
        SsoRefusal::Bot => "bot",
        SsoRefusal::SubjectConflict => "subject_conflict",
    }
}

/// Who is trying to sign in, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct Attempt {
    /// The client's address.
    pub ip: Option<String>,
    /// The email the IdP vouched for, once known.
    pub email: Option<String>,
    /// The IdP's subject, once known.
    pub subject: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn record(
    store: &Store,
    account: &Account,
    idp: &IdentityProvider,
    user: Option<UserId>,
    action: &str,
    reason: &str,
    attempt: &Attempt,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let detail = json!({
        "method": "sso",
        "protocol": idp.kind(),
        "idp": idp.id.to_string(),
        "idp_description": idp.description,
        "reason": reason,
        "email": attempt.email,
        "subject": attempt.subject,
    });
    ops::audit_detail(
        store,
        account.id,
        user.map_or(Actor::Anonymous, Actor::User),
        action,
        user.map(|u| u.to_string()),
        attempt.ip.clone(),
        detail.to_string(),
        now,
    )
    .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Audits a refused attempt with `reason` and returns the page to show.
pub async fn refuse(
    state: &AppState,
    account: &Account,
    idp: &IdentityProvider,
    reason: &'static str,
    error: AppError,
    attempt: Attempt,
) -> PageError {
    let (account, idp) = (account.clone(), idp.clone());
    let audited = state
        .db(move |store| {
            record(
                store,
                &account,
                &idp,
                None,
                "login.failed",
                reason,
                &attempt,
                Utc::now(),
            )
        })
        .await;
    if let Err(e) = audited {
        tracing::error!(error = %e, reason, "could not audit a refused SSO login");
    }
    PageError(error)
}

/// The page for an IdP answer that failed verification.
pub fn rejected(idp: &IdentityProvider, reason: &str) -> AppError {
    AppError::Unauthorized(format!(
        "Signing in through {} failed: its answer could not be accepted (reason: {reason}). \
         Please start again; if it keeps failing, ask an admin of this account to check the \
         audit log.",
        idp.description
    ))
}

/// The page for an answer that does not belong to a login this browser started.
pub fn not_this_login(idp: &IdentityProvider, reason: &str) -> AppError {
    AppError::Forbidden(format!(
        "This answer from {} does not belong to a sign-in started in this browser, or the \
         sign-in took too long or was already used (reason: {reason}). Please start again.",
        idp.description
    ))
}

enum Finished {
    SignedIn(portcullis_domain::Session),
    Refused(SsoRefusal, Vec<String>),
}

/// Decides what `identity` may do in `account` and opens the session: links the IdP
/// subject on the first login, creates the member just in time when the account says
/// so, and redirects to `return_to` (a local path checked when the login started).
pub async fn complete(
    state: &AppState,
    account: &Account,
    idp: &IdentityProvider,
    identity: SsoIdentity,
    return_to: String,
    mut attempt: Attempt,
) -> Result<HttpResponse, PageError> {
    attempt.email = Some(identity.email.to_string());
    attempt.subject = Some(identity.subject.clone());
    let ttl = state.config.session_ttl_minutes;
    if let Some(hash) = return_to.strip_prefix(INVITE_RETURN) {
        return accept_invitation(state, account, idp, identity, hash.to_owned(), attempt).await;
    }
    let (account_c, idp_c, attempt_c) = (account.clone(), idp.clone(), attempt.clone());
    let finished = state
        .db(move |store| finish(store, &account_c, &idp_c, &identity, &attempt_c, ttl))
        .await?;
    match finished {
        Finished::SignedIn(session) => {
            let token = state.keys.sign(&session)?;
            Ok(HttpResponse::SeeOther()
                .cookie(session::session_cookie(
                    token,
                    state.config.secure_cookies(),
                    ttl,
                ))
                .insert_header((header::LOCATION, return_to))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish())
        }
        Finished::Refused(refusal, admins) => {
            let mut message = refusal.to_string();
            if matches!(refusal, SsoRefusal::NotProvisioned(_)) && !admins.is_empty() {
                message.push_str(&format!(" (admins: {})", admins.join(", ")));
            }
            message.push('.');
            Err(PageError(AppError::Forbidden(message)))
        }
    }
}

/// The return path the invitation page sends an invitee through the IdP with (see
/// `dashboard::invite::sso_return_to`).
const INVITE_RETURN: &str = "/invite/complete/";

/// An invitee came back from the IdP: the invitation (by its token hash) becomes a member
/// with the email the IdP verified, linked to their subject, and they are signed in. A
/// person who is already a member simply signs in as usual.
async fn accept_invitation(
    state: &AppState,
    account: &Account,
    idp: &IdentityProvider,
    identity: SsoIdentity,
    token_hash: String,
    attempt: Attempt,
) -> Result<HttpResponse, PageError> {
    let email = identity.email.clone();
    let id = account.id;
    let existing = state
        .db(move |store| store.user_by_email(id, &email))
        .await?;
    if existing.is_some() {
        let home = format!("/a/{}/", account.slug);
        return Box::pin(complete(state, account, idp, identity, home, attempt)).await;
    }
    let ttl = state.config.session_ttl_minutes;
    let idp_id = idp.id;
    let ip = attempt.ip.clone();
    let session = state
        .db(move |store| {
            let now = Utc::now();
            let display = identity
                .display_name
                .clone()
                .unwrap_or_else(|| identity.email.to_string());
            let who = crate::dashboard::invite::SsoInvitee {
                idp: idp_id,
                subject: &identity.subject,
                email: identity.email.as_str(),
                display_name: &display,
            };
            let user = match crate::dashboard::invite::accept_via_sso(
                store,
                &SecretHash::from_stored(token_hash),
                &who,
                ip,
                now,
            ) {
                Ok(user) => user,
                Err(e) => return Ok(Err(e)),
            };
            let session = session::new_session(&user, AuthMethod::Sso(idp_id), now, ttl);
            store.insert_session(&session)?;
            Ok(Ok(session))
        })
        .await?
        .map_err(PageError)?;
    let token = state.keys.sign(&session)?;
    Ok(HttpResponse::SeeOther()
        .cookie(session::session_cookie(
            token,
            state.config.secure_cookies(),
            ttl,
        ))
        .insert_header((header::LOCATION, format!("/a/{}/", account.slug)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

fn finish(
    store: &Store,
    account: &Account,
    idp: &IdentityProvider,
    identity: &SsoIdentity,
    attempt: &Attempt,
    ttl: i64,
) -> Result<Finished, StoreError> {
    let now = Utc::now();
    let by_subject = match store.sso_link(idp.id, &identity.subject)? {
        Some(id) => store.user(account.id, id)?,
        None => None,
    };
    let by_email = store.user_by_email(account.id, &identity.email)?;
    let by_email_subject = match &by_email {
        Some(user) => store.sso_subject_of(idp.id, user.id)?,
        None => None,
    };
    let known = KnownPerson {
        by_subject: by_subject.as_ref(),
        by_email: by_email.as_ref(),
        by_email_subject: by_email_subject.as_deref(),
    };
    let user = match policy::decide_sso_login(account, idp, identity, known) {
        Err(refusal) => {
            let target = by_subject.as_ref().or(by_email.as_ref()).map(|u| u.id);
            record(
                store,
                account,
                idp,
                target,
                "login.failed",
                refusal_code(refusal),
                attempt,
                now,
            )?;
            return Ok(Finished::Refused(refusal, admin_contacts(store, account)?));
        }
        Ok(SsoDecision::SignIn { user, link }) => {
            if link {
                store.link_sso_subject(idp.id, &identity.subject, user, now)?;
            }
            by_subject
                .into_iter()
                .chain(by_email)
                .find(|u| u.id == user)
                .ok_or(StoreError::NotFound)?
        }
        Ok(SsoDecision::CreateJustInTime {
            email,
            display_name,
            role,
        }) => {
            let user = just_in_time(account, email, display_name, role, now);
            store.insert_user_with_sso_link(&user, idp.id, &identity.subject, now)?;
            record(
                store,
                account,
                idp,
                Some(user.id),
                "user.created_just_in_time",
                "ok",
                attempt,
                now,
            )?;
            user
        }
    };
    let session = session::new_session(&user, AuthMethod::Sso(idp.id), now, ttl);
    store.insert_session(&session)?;
    record(
        store,
        account,
        idp,
        Some(user.id),
        "login.succeeded",
        "ok",
        attempt,
        now,
    )?;
    Ok(Finished::SignedIn(session))
}

fn just_in_time(
    account: &Account,
    email: portcullis_domain::Email,
    display_name: String,
    role: Role,
    now: DateTime<Utc>,
) -> User {
    User {
        id: UserId::from_uuid(Uuid::new_v4()),
        account: account.id,
        email,
        display_name,
        kind: UserKind::Human,
        role,
        active: true,
        // Members created through SSO never have a password.
        password_hash: None,
        external_id: None,
        origin: UserOrigin::JustInTime,
        created_at: now,
        updated_at: now,
    }
}

/// Whom a person who is not provisioned should ask: up to five active admins.
fn admin_contacts(store: &Store, account: &Account) -> Result<Vec<String>, StoreError> {
    let query = UserListQuery {
        kind: Some(UserKind::Human),
        search: None,
        offset: 0,
        limit: 500,
    };
    let (users, _) = store.list_users(account.id, &query)?;
    Ok(users
        .into_iter()
        .filter(|u| u.active && u.role == Role::Admin)
        .take(5)
        .map(|u| u.email.to_string())
        .collect())
}
