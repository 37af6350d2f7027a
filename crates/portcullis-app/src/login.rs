//! Password sign-in: the account and member are found, Argon2id verifies (against a
//! dummy hash for unknown emails, so timing reveals nothing), the domain decides whether
//! a password may be used at all, and a session is opened. Every attempt is audited.

use chrono::Utc;
use portcullis_domain::policy::{self, PasswordRefusal};
use portcullis_domain::{
    AccountSlug, Actor, AuthMethod, Email, EmailDomain, EnforcementPolicy, User, ACCOUNT_SUSPENDED,
};
use serde_json::json;

use crate::sessions::{self, SignedIn};
use crate::{audit, password, AppError, Exec};

/// Why a password sign-in failed.
#[derive(Debug)]
pub enum LoginFailure {
    /// Credentials wrong, unknown or unusable: one answer for all, so it never tells
    /// whether an email belongs to a member.
    Credentials,
    /// The account requires single sign-on.
    SsoRequired,
    /// An operator suspended the account.
    Suspended,
    /// The password was right but the member may not use it (deactivated, a bot, no
    /// password).
    Refused(PasswordRefusal),
    /// Something else broke.
    App(AppError),
}

impl From<AppError> for LoginFailure {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

/// The one message for every credential failure.
pub const BAD_CREDENTIALS: &str = "wrong email or password";

impl LoginFailure {
    /// The failure as the person may see it.
    pub fn into_app_error(self) -> AppError {
        match self {
            Self::Credentials => AppError::Unauthorized(BAD_CREDENTIALS.into()),
            Self::SsoRequired => AppError::Forbidden(PasswordRefusal::SsoEnforced.to_string()),
            Self::Suspended => AppError::Forbidden(ACCOUNT_SUSPENDED.into()),
            Self::Refused(refusal) => AppError::Forbidden(refusal.to_string()),
            Self::App(e) => e,
        }
    }
}

fn refusal_code(r: PasswordRefusal) -> &'static str {
    match r {
        PasswordRefusal::SsoEnforced => "sso_enforced",
        PasswordRefusal::NoPassword => "no_password",
        PasswordRefusal::Inactive => "inactive",
        PasswordRefusal::Bot => "bot",
    }
}

/// What a sign-in found before the password is checked.
struct Found {
    account: portcullis_domain::Account,
    user: Option<User>,
    /// The email is on a domain the account verified and holds to SSO.
    sso_domain: bool,
}

/// A password sign-in to the account `slug`; opens a session lasting `ttl_minutes`. The
/// account and member are read, the password is checked off the async threads (Argon2id
/// takes tens of milliseconds), and the outcome is written with its audit event.
pub async fn with_password(
    exec: &impl Exec,
    slug: &str,
    email: &str,
    password_text: &str,
    ip: Option<String>,
    ttl_minutes: i64,
) -> Result<SignedIn, LoginFailure> {
    let burn = |password_text: String| async move {
        // Burn the same time as a real check.
        exec.compute(move || Ok(password::verify(&password_text, None)))
            .await
    };
    let Ok(slug) = AccountSlug::parse(slug) else {
        burn(password_text.to_owned()).await?;
        return Err(LoginFailure::Credentials);
    };
    let address = email.to_owned();
    let found = exec
        .read(move |store| {
            let Some(account) = store.account_by_slug(&slug)? else {
                return Ok(None);
            };
            let (user, sso_domain) = match Email::parse(&address) {
                Ok(email) => {
                    let claim = match EmailDomain::of(&email) {
                        Some(domain) => store.verified_domain(&domain)?,
                        None => None,
                    };
                    let sso_domain =
                        claim.is_some_and(|c| c.account == account.id && c.sso_required);
                    (store.user_by_email(account.id, &email)?, sso_domain)
                }
                Err(_) => (None, false),
            };
            Ok(Some(Found {
                account,
                user,
                sso_domain,
            }))
        })
        .await?;
    let Some(Found {
        account,
        user,
        sso_domain,
    }) = found
    else {
        burn(password_text.to_owned()).await?;
        return Err(LoginFailure::Credentials);
    };
    let account_enforced = account.enforcement == EnforcementPolicy::Enforced;
    // A domain held to SSO refuses passwords even in mixed mode.
    let enforced = account_enforced || sso_domain;
    // Under enforcement the stored hash is never looked at, but the time is the same.
    let hash = user
        .as_ref()
        .filter(|_| !enforced)
        .and_then(|u| u.password_hash.clone());
    let password_text = password_text.to_owned();
    let verified = exec
        .compute(move || Ok(password::verify(&password_text, hash.as_deref())))
        .await?;
    let now = Utc::now();
    let email = email.to_owned();
    exec.write(move |store| {
        let log = |action: &str, target: Option<&User>, reason: &str| {
            audit::record(
                store,
                &audit::event(
                    account.id,
                    target.map_or(Actor::Anonymous, |u| Actor::User(u.id)),
                    action,
                    target.map(|u| u.id.to_string()),
                    ip.clone(),
                    json!({ "method": "password", "reason": reason, "email": email }),
                    now,
                ),
            )?;
            let data = json!({"method": "password", "reason": reason, "email": email,
                              "member": target.map(crate::webhooks::member_data)});
            crate::webhooks::emit(store, account.id, action, &data, now)
        };
        if account.is_suspended() {
            log("login.failed", user.as_ref(), "account_suspended")?;
            return Ok(Err(LoginFailure::Suspended));
        }
        if enforced {
            let reason = if account_enforced {
                "sso_enforced"
            } else {
                "sso_required_for_domain"
            };
            log("login.failed", user.as_ref(), reason)?;
            return Ok(Err(LoginFailure::SsoRequired));
        }
        let user = match user {
            Some(user) if verified => user,
            None => {
                log("login.failed", None, "unknown_email")?;
                return Ok(Err(LoginFailure::Credentials));
            }
            Some(user) => {
                log("login.failed", Some(&user), "wrong_password")?;
                return Ok(Err(LoginFailure::Credentials));
            }
        };
        if let Err(refusal) = policy::may_use_password(&account, &user) {
            log("login.failed", Some(&user), refusal_code(refusal))?;
            return Ok(Err(LoginFailure::Refused(refusal)));
        }
        let session = sessions::open(store, &user, AuthMethod::Password, None, now, ttl_minutes)?;
        log("login.succeeded", Some(&user), "ok")?;
        Ok(Ok(SignedIn {
            session,
            user,
            account,
        }))
    })
    .await?
}
