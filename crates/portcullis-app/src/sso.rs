//! Completing an SSO sign-in, whatever the protocol. `portcullis-sso` verifies the IdP's
//! answer; this module holds what comes before and after: the pending login each answer
//! must belong to (one check for both legs), and the step every sign-in ends with — the
//! pending login claimed, the assertion's replay refused, the domain's decision,
//! just-in-time creation, linking the subject, accepting an invitation and opening the
//! session — in one transaction.
//!
//! Every attempt, successful or not, leaves one audit event (`login.succeeded` or
//! `login.failed`) whose detail names the IdP and a precise reason code (the `reason()`
//! of a SAML or OIDC rejection, or an [`SsoRefusal`] code), so an admin can diagnose a
//! misconfigured IdP from the audit log alone.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use portcullis_domain::policy::{self, KnownPerson, SsoDecision, SsoIdentity, SsoRefusal};
use portcullis_domain::sign_in_attempt::{self, SignInAttempt};
use portcullis_domain::{
    Account, Actor, AuthMethod, IdentityProvider, IdpId, SecretHash, Session, User, UserId,
};
use portcullis_store::{PendingLogin, Store};
use serde_json::json;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::invitations::{self, SsoInvitee};
use crate::{audit, role_rules, sessions, AppError};

/// How long a login attempt may take between leaving for the IdP and coming back.
pub const PENDING_LOGIN_TTL: Duration = Duration::minutes(10);

/// Clock skew tolerated between Portcullis and the IdPs.
pub const CLOCK_SKEW: Duration = Duration::minutes(2);

/// The return path that carries an invitation through the IdP: it names the token's
/// hash, never the token.
pub const INVITE_RETURN: &str = "/invite/complete/";

/// The `return_to` of a test sign-in started from a setup link: the identity is
/// verified and the attempt recorded, but nobody is signed in or created.
pub const TEST_RETURN: &str = "/setup/sso";

/// The `return_to` of a sign-in that accepts the invitation whose token hashes to
/// `token_hash`.
pub fn invitation_return_to(token_hash: &SecretHash) -> String {
    format!("{INVITE_RETURN}{}", token_hash.as_str())
}

/// The audit reason code of a domain refusal.
pub fn refusal_code(r: SsoRefusal) -> &'static str {
    match r {
        SsoRefusal::ForeignIdp => "foreign_idp",
        SsoRefusal::IdpDisabled => "idp_disabled",
        SsoRefusal::NotProvisioned(_) => "not_provisioned",
        SsoRefusal::Inactive => "inactive",
        SsoRefusal::Bot => "bot",
        SsoRefusal::SubjectConflict => "subject_conflict",
        SsoRefusal::DomainNotVerified => "domain_not_verified",
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
    /// The SAML NameID's format, once known.
    pub name_id_format: Option<String>,
    /// What each step of the sign-in checked, by step name, for the debugger's trace
    /// (`portcullis_domain::sign_in_attempt`).
    pub details: BTreeMap<String, String>,
    /// The IdP's answer, secrets blanked out, for the trace.
    pub response: Option<String>,
}

impl Attempt {
    /// Notes what `step` checked.
    pub fn note(&mut self, step: &str, detail: impl Into<String>) {
        self.details.insert(step.to_owned(), detail.into());
    }
}

/// A refused sign-in: the audit reason code and what the person is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The reason code in the audit log.
    pub reason: &'static str,
    /// The refusal shown.
    pub error: AppError,
}

impl Refusal {
    /// An IdP answer that failed verification.
    pub fn rejected(idp: &IdentityProvider, reason: &'static str) -> Self {
        Self {
            reason,
            error: AppError::Unauthorized(format!(
                "Signing in through {} failed: its answer could not be accepted (reason: {reason}). \
                 Please start again; if it keeps failing, ask an admin of this account to check the \
                 audit log.",
                idp.description
            )),
        }
    }

    /// An answer that does not belong to a login this browser started.
    pub fn not_this_login(idp: &IdentityProvider, reason: &'static str) -> Self {
        Self {
            reason,
            error: AppError::Forbidden(format!(
                "This answer from {} does not belong to a sign-in started in this browser, or the \
                 sign-in took too long or was already used (reason: {reason}). Please start again.",
                idp.description
            )),
        }
    }

    /// An account an operator suspended.
    pub fn suspended() -> Self {
        Self {
            reason: "account_suspended",
            error: AppError::Forbidden(portcullis_domain::ACCOUNT_SUSPENDED.into()),
        }
    }

    /// The refusal of an IdP that may not sign anyone in now: disabled, or its account
    /// suspended.
    pub fn unusable(account: &Account, idp: &IdentityProvider) -> Option<Self> {
        if account.is_suspended() {
            Some(Self::suspended())
        } else if !idp.enabled {
            Some(Self::disabled(idp))
        } else {
            None
        }
    }

    /// A disabled IdP.
    pub fn disabled(idp: &IdentityProvider) -> Self {
        Self {
            reason: "idp_disabled",
            error: AppError::Forbidden(format!(
                "{} is disabled; ask an admin of this account",
                idp.description
            )),
        }
    }
}

/// Writes the `login.failed` event of a refused attempt.
pub fn record_refusal(
    store: &Store,
    account: &Account,
    idp: &IdentityProvider,
    reason: &str,
    attempt: &Attempt,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    record(
        store,
        account,
        idp,
        None,
        "login.failed",
        reason,
        attempt,
        now,
    )
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
) -> Result<(), AppError> {
    let detail = json!({
        "method": "sso",
        "protocol": idp.kind(),
        "idp": idp.id.to_string(),
        "idp_description": idp.description,
        "reason": reason,
        "email": attempt.email,
        "subject": attempt.subject,
        "name_id_format": attempt.name_id_format,
    });
    if matches!(action, "login.succeeded" | "login.failed" | "login.tested") {
        let mut details = attempt.details.clone();
        if action == "login.failed" {
            let step = sign_in_attempt::failing_step(reason);
            details
                .entry(step.into())
                .or_insert_with(|| format!("refused ({reason})"));
        }
        if action == "login.succeeded" {
            details.entry("decision".into()).or_insert_with(|| {
                format!("signed in as {}", attempt.email.as_deref().unwrap_or(""))
            });
        }
        store.insert_sign_in_attempt(&SignInAttempt {
            id: Uuid::new_v4(),
            account: account.id,
            idp: idp.id,
            protocol: idp.kind().to_owned(),
            succeeded: action != "login.failed",
            reason: reason.to_owned(),
            email: attempt.email.clone(),
            steps: sign_in_attempt::trace(idp.kind(), reason, &details),
            response: attempt.response.clone(),
            at: now,
        })?;
    }
    // A test sign-in is no event of the account's members.
    if action != "user.created_just_in_time" && action != "login.tested" {
        let data = json!({"method": "sso", "protocol": idp.kind(), "idp": idp.id.to_string(),
                          "reason": reason, "email": attempt.email,
                          "member_id": user.map(|u| u.to_string())});
        crate::webhooks::emit(store, account.id, action, &data, now)?;
    }
    audit::record(
        store,
        &audit::event(
            account.id,
            user.map_or(Actor::Anonymous, Actor::User),
            action,
            user.map(|u| u.to_string()),
            attempt.ip.clone(),
            detail,
            now,
        ),
    )
}

/// The IdP an answer came back to (the ACS, callback and metadata URLs carry no account),
/// with its account: unknown ids are `NotFound`.
pub fn idp_by_id(store: &Store, id: IdpId) -> Result<(Account, IdentityProvider), AppError> {
    let idp = store.idp_by_id(id)?.ok_or(AppError::NotFound)?;
    let account = store.account(idp.account)?.ok_or(AppError::NotFound)?;
    Ok((account, idp))
}

/// The pending login `key` an answer claims to belong to, checked the same way for both
/// legs: it exists and has not expired (else `unknown`, the leg's reason code), it was
/// started for this IdP, and the browser presenting the answer carries the binding
/// cookie whose hash (`presented`) the login stored. Reads only: the login is claimed
/// by [`finish`], in the transaction that signs in.
pub fn pending(
    store: &Store,
    key: &str,
    idp: &IdentityProvider,
    presented: Option<&str>,
    unknown: &'static str,
    now: DateTime<Utc>,
) -> Result<Result<PendingLogin, Refusal>, AppError> {
    let Some(pending) = store.pending_login(key, now)? else {
        return Ok(Err(Refusal::not_this_login(idp, unknown)));
    };
    if pending.idp != idp.id {
        return Ok(Err(Refusal::not_this_login(idp, "wrong_idp")));
    }
    let bound = presented.is_some_and(|presented| {
        !pending.browser_binding.is_empty()
            && bool::from(
                presented
                    .as_bytes()
                    .ct_eq(pending.browser_binding.as_bytes()),
            )
    });
    if !bound {
        return Ok(Err(Refusal::not_this_login(idp, "browser_mismatch")));
    }
    Ok(Ok(pending))
}

/// A verified identity, ready to sign in.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The account of the IdP.
    pub account: Account,
    /// The IdP that verified the identity.
    pub idp: IdentityProvider,
    /// Who the IdP verified.
    pub identity: SsoIdentity,
    /// The pending login the answer belongs to (`None` for an IdP-initiated sign-in) and
    /// the reason code when it is gone.
    pub claim: Option<(String, &'static str)>,
    /// The assertion id and until when it must not be seen again (SAML).
    pub replay: Option<(String, DateTime<Utc>)>,
    /// Where to go afterwards (a local path checked when the login started).
    pub return_to: String,
    /// Who is trying, for the audit log.
    pub attempt: Attempt,
    /// How long the session lasts.
    pub ttl_minutes: i64,
}

/// How a sign-in ended.
#[derive(Debug, Clone)]
pub enum Finished {
    /// Signed in: the new session and where to go.
    SignedIn {
        /// The session to put in the cookie.
        session: Session,
        /// Where to go.
        return_to: String,
    },
    /// Refused (and audited).
    Refused(Refusal),
    /// A test sign-in ([`TEST_RETURN`]) verified the identity; nobody was signed in.
    Tested {
        /// Where to show the result.
        return_to: String,
    },
}

/// Finishes a sign-in in one transaction: claims the pending login (a second use is
/// refused), records the assertion (a replay is refused), accepts the invitation the
/// sign-in carries or lets the domain decide (linking the subject on the first sign-in,
/// creating the member just in time where the account says so), and opens the session.
/// A refusal is audited and committed with the claim, so the answer cannot be used again.
pub fn finish(store: &Store, c: Completion, now: DateTime<Utc>) -> Result<Finished, AppError> {
    store.transaction(|store| {
        let mut attempt = c.attempt.clone();
        attempt.email = Some(c.identity.email.to_string());
        attempt.subject = Some(c.identity.subject.clone());
        let refuse = |store: &Store, refusal: Refusal, attempt: &Attempt| {
            record_refusal(store, &c.account, &c.idp, refusal.reason, attempt, now)?;
            Ok(Finished::Refused(refusal))
        };
        // Read again inside the transaction: a suspension made while the person was at
        // the IdP holds.
        let account = store.account(c.account.id)?.ok_or(AppError::NotFound)?;
        if account.is_suspended() {
            return refuse(store, Refusal::suspended(), &attempt);
        }
        if let Some((key, unknown)) = &c.claim {
            if store.take_pending_login(key, now)?.is_none() {
                return refuse(store, Refusal::not_this_login(&c.idp, unknown), &attempt);
            }
        }
        if let Some((assertion, expires)) = &c.replay {
            if store.remember_assertion(c.idp.id, assertion, *expires)? {
                attempt.note(
                    "replay",
                    format!("assertion {assertion} seen for the first time"),
                );
            } else {
                attempt.note("replay", format!("assertion {assertion} was already used"));
                return refuse(
                    store,
                    Refusal::rejected(&c.idp, "assertion_replayed"),
                    &attempt,
                );
            }
        }
        if c.return_to == TEST_RETURN {
            attempt.note(
                "decision",
                format!(
                    "test sign-in: {} verified; nobody was signed in",
                    c.identity.email
                ),
            );
            record(
                store,
                &c.account,
                &c.idp,
                None,
                "login.tested",
                "ok",
                &attempt,
                now,
            )?;
            return Ok(Finished::Tested {
                return_to: TEST_RETURN.to_owned(),
            });
        }
        let invitation = c.return_to.strip_prefix(INVITE_RETURN);
        let user = match invitation {
            Some(hash)
                if store
                    .user_by_email(c.account.id, &c.identity.email)?
                    .is_none() =>
            {
                match accept_invitation(store, &c, hash, now) {
                    Ok(user) => user,
                    // The invitation's own refusals are shown as they are.
                    Err(error) => {
                        return refuse(
                            store,
                            Refusal {
                                reason: "invitation_refused",
                                error,
                            },
                            &attempt,
                        )
                    }
                }
            }
            _ => match decide(store, &c, &attempt, now)? {
                Ok(user) => user,
                Err(refusal) => return Ok(Finished::Refused(refusal)),
            },
        };
        let cause = role_rules::Cause {
            account: c.account.id,
            actor: Actor::System,
            ip: attempt.ip.clone(),
            detail: json!({"sso": c.idp.id.to_string(), "idp_description": c.idp.description}),
            now,
        };
        let user = role_rules::apply_claims(store, user, &c.identity.claims, &cause)?;
        let session = sessions::open(
            store,
            &user,
            AuthMethod::Sso(c.idp.id),
            c.identity.logout_hint.as_ref(),
            now,
            c.ttl_minutes,
        )?;
        record(
            store,
            &c.account,
            &c.idp,
            Some(user.id),
            "login.succeeded",
            "ok",
            &attempt,
            now,
        )?;
        // A member who signed in through an invitation link goes home.
        let return_to = match invitation {
            Some(_) => format!("/a/{}/", c.account.slug),
            None => c.return_to.clone(),
        };
        Ok(Finished::SignedIn { session, return_to })
    })
}

fn accept_invitation(
    store: &Store,
    c: &Completion,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<User, AppError> {
    let display = c
        .identity
        .display_name
        .clone()
        .unwrap_or_else(|| c.identity.email.to_string());
    let who = SsoInvitee {
        idp: c.idp.id,
        subject: (!c.identity.transient).then_some(c.identity.subject.as_str()),
        email: &c.identity.email,
        display_name: &display,
    };
    // A refusal must leave nothing of the acceptance behind, but the claim and the
    // audit event of the refusal stay: a savepoint of its own.
    store.transaction(|store| {
        invitations::accept_via_sso(
            store,
            &SecretHash::from_stored(token_hash.to_owned()),
            &who,
            c.attempt.ip.clone(),
            now,
        )
    })
}

/// The domain's decision on a verified identity: the member to sign in (linked or made
/// just in time), or the refusal (audited).
fn decide(
    store: &Store,
    c: &Completion,
    attempt: &Attempt,
    now: DateTime<Utc>,
) -> Result<Result<User, Refusal>, AppError> {
    let (account, idp, identity) = (&c.account, &c.idp, &c.identity);
    // A transient subject was never stored: nothing is looked up by it.
    let by_subject = match store.sso_link(idp.id, &identity.subject)? {
        Some(id) if !identity.transient => store.user(account.id, id)?,
        _ => None,
    };
    let by_email = store.user_by_email(account.id, &identity.email)?;
    let by_email_subject = match &by_email {
        Some(user) if !identity.transient => store.sso_subject_of(idp.id, user.id)?,
        _ => None,
    };
    let on_verified_domain = account.provision_only_verified_domains
        && by_subject.is_none()
        && by_email.is_none()
        && crate::domains::on_verified_domain(store, account.id, &identity.email)?;
    let known = KnownPerson {
        by_subject: by_subject.as_ref(),
        by_email: by_email.as_ref(),
        by_email_subject: by_email_subject.as_deref(),
        on_verified_domain,
    };
    match policy::decide_sso_login(account, idp, identity, known) {
        Err(refusal) => {
            let target = by_subject.as_ref().or(by_email.as_ref()).map(|u| u.id);
            let reason = refusal_code(refusal);
            let mut attempt = attempt.clone();
            attempt.note("decision", refusal.to_string());
            let attempt = &attempt;
            record(
                store,
                account,
                idp,
                target,
                "login.failed",
                reason,
                attempt,
                now,
            )?;
            // The refusal names no one: whoever signed in at the IdP learns nothing about
            // the account's members, its admins included.
            let mut message = refusal.to_string();
            message.push('.');
            Ok(Err(Refusal {
                reason,
                error: AppError::Forbidden(message),
            }))
        }
        Ok(SsoDecision::SignIn { user, link }) => {
            if link {
                store.link_sso_subject(idp.id, &identity.subject, user, now)?;
            }
            let user = by_subject
                .into_iter()
                .chain(by_email)
                .find(|u| u.id == user)
                .ok_or(AppError::NotFound)?;
            Ok(Ok(user))
        }
        Ok(SsoDecision::CreateJustInTime {
            email,
            display_name,
            role,
            link,
        }) => {
            let user = User::just_in_time(
                crate::ids::new_user_id(),
                account.id,
                email,
                display_name,
                role,
                now,
            );
            if link {
                store.insert_user_with_sso_link(&user, idp.id, &identity.subject, now)?;
            } else {
                store.insert_user(&user)?;
            }
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
            crate::webhooks::emit_member(store, "member.created", &user, now)?;
            Ok(Ok(user))
        }
    }
}
