//! The sign-in debugger: the account's SSO attempts of the last 7 days, step by step.

use portcullis_domain::sign_in_attempt::SignInAttempt;
use portcullis_store::{AttemptFilter, Store};

use crate::{AppError, Caller};

/// A page of the account's attempts, newest first.
pub fn list(
    store: &Store,
    caller: &Caller,
    filter: &AttemptFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<SignInAttempt>, AppError> {
    caller.require_manager()?;
    Ok(store.sign_in_attempts(caller.account.id, filter, limit, offset)?)
}

/// One attempt with its steps and the IdP's (redacted) answer.
pub fn get(store: &Store, caller: &Caller, id: uuid::Uuid) -> Result<SignInAttempt, AppError> {
    caller.require_manager()?;
    store
        .sign_in_attempt(caller.account.id, id)?
        .ok_or(AppError::NotFound)
}
