//! Dashboard sessions: opening one after a sign-in, finding the live one a cookie names,
//! and ending it.

use chrono::{DateTime, Duration, Utc};
use portcullis_domain::{
    Account, Actor, AuthMethod, IdentityProvider, LogoutHint, Session, SessionId, User,
};
use portcullis_store::Store;
use uuid::Uuid;

use crate::{audit, AppError};

/// A live session with its member and account.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session row.
    pub session: Session,
    /// The member.
    pub user: User,
    /// Their account.
    pub account: Account,
}

/// Starts and stores a session of `user`, with what signing out at its IdP will need.
pub fn open(
    store: &Store,
    user: &User,
    method: AuthMethod,
    logout_hint: Option<&LogoutHint>,
    now: DateTime<Utc>,
    ttl_minutes: i64,
) -> Result<Session, AppError> {
    let session = Session::start(
        SessionId::from_uuid(Uuid::new_v4()),
        user,
        method,
        now,
        Duration::minutes(ttl_minutes),
    );
    store.insert_session_with_hint(&session, logout_hint)?;
    Ok(session)
}

/// The session `id` with its member and account while it is live, its member active and
/// human and its account not suspended; `None` otherwise (ended, expired, deactivated,
/// deleted, suspended).
pub fn resume(
    store: &Store,
    id: SessionId,
    now: DateTime<Utc>,
) -> Result<Option<SignedIn>, AppError> {
    let Some(session) = store.session(id)? else {
        return Ok(None);
    };
    if !session.is_live(now) {
        return Ok(None);
    }
    let user = store.user(session.account, session.user)?;
    let account = store.account(session.account)?;
    Ok(match (user, account) {
        (Some(user), Some(account)) if user.active && !user.is_bot() && !account.is_suspended() => {
            Some(SignedIn {
                session,
                user,
                account,
            })
        }
        _ => None,
    })
}

/// Ends a session (sign-out), on every replica at once; returns what signing out at its
/// IdP needs, when the session kept it.
pub fn end(
    store: &Store,
    signed_in: &SignedIn,
    now: DateTime<Utc>,
) -> Result<Option<LogoutHint>, AppError> {
    store.transaction(|store| {
        let hint = store.session_logout_hint(signed_in.session.id)?;
        store.revoke_session(signed_in.session.id, now)?;
        audit::record(
            store,
            &audit::event(
                signed_in.account.id,
                Actor::User(signed_in.user.id),
                "logout",
                Some(signed_in.user.id.to_string()),
                None,
                serde_json::Value::Null,
                now,
            ),
        )?;
        Ok(hint)
    })
}

/// A `LogoutRequest` from an IdP, verified by `portcullis-sso`.
#[derive(Debug, Clone)]
pub struct IdpLogout<'a> {
    /// The IdP that sent it.
    pub idp: &'a IdentityProvider,
    /// The request's `ID`, remembered until `replay_expires_at` so that it ends
    /// sessions only once.
    pub request_id: &'a str,
    /// The NameID whose sessions end.
    pub name_id: &'a str,
    /// When not empty, only the sessions with one of these SessionIndex values end.
    pub session_indexes: &'a [String],
    /// Until when the request's id must be remembered.
    pub replay_expires_at: DateTime<Utc>,
}

/// Ends, in one transaction, the live sessions an IdP's `LogoutRequest` names (its
/// NameID at that IdP, and SessionIndex when given) on every replica, with an audit
/// entry (`logout.idp`) for each; returns how many ended. A request seen before (its id,
/// at that IdP) is refused as a replay and ends nothing.
pub fn end_by_idp(
    store: &Store,
    logout: &IdpLogout<'_>,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let idp = logout.idp;
    store.transaction(|store| {
        let replay_key = format!("logout:{}", logout.request_id);
        if !store.remember_assertion(idp.id, &replay_key, logout.replay_expires_at)? {
            return Err(AppError::BadRequest(
                "this LogoutRequest was used before (a replay)".into(),
            ));
        }
        let ended =
            store.revoke_saml_sessions(idp.id, logout.name_id, logout.session_indexes, now)?;
        for (account, user) in &ended {
            audit::record(
                store,
                &audit::event(
                    *account,
                    Actor::System,
                    "logout.idp",
                    Some(user.to_string()),
                    None,
                    serde_json::json!({
                        "idp": idp.id.to_string(),
                        "idp_description": idp.description,
                    }),
                    now,
                ),
            )?;
        }
        Ok(ended.len())
    })
}
