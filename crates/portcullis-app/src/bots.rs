//! Bot users: service users that own API keys which outlive any person.

use chrono::{DateTime, Utc};
use portcullis_domain::{User, UserId, UserKind};
use portcullis_store::{Store, UserListQuery};
use serde_json::json;

use crate::{audit, AppError, Caller};

/// The account's bots, oldest first.
pub fn list(store: &Store, caller: &Caller) -> Result<Vec<User>, AppError> {
    caller.require_manager()?;
    let (bots, _) = store.list_users(
        caller.account.id,
        &UserListQuery {
            kind: Some(UserKind::Bot),
            search: None,
            offset: 0,
            limit: 1000,
        },
    )?;
    Ok(bots)
}

/// Creates a bot named `name` (1 to 100 characters; a taken name is a conflict).
pub fn create(
    store: &Store,
    caller: &Caller,
    name: &str,
    now: DateTime<Utc>,
) -> Result<User, AppError> {
    caller.require_manager()?;
    let bot = User::bot(crate::ids::new_user_id(), caller.account.id, name, now)?;
    store.transaction(|store| {
        store.insert_user(&bot)?;
        audit::record(
            store,
            &caller.event(
                "bot.created",
                Some(bot.id.to_string()),
                json!({ "name": bot.display_name }),
                now,
            ),
        )
    })?;
    Ok(bot)
}

/// Deletes a bot with its API keys.
pub fn delete(
    store: &Store,
    caller: &Caller,
    id: UserId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    caller.require_manager()?;
    store.transaction(|store| {
        match store.user(caller.account.id, id)? {
            Some(u) if u.kind == UserKind::Bot => {}
            _ => return Err(AppError::NotFound),
        }
        crate::invitations::revoke_made_by(store, caller.account.id, id, now)?;
        let event = caller.event("bot.deleted", Some(id.to_string()), json!({}), now);
        store.delete_user(caller.account.id, id, now, Some(&event))?;
        Ok(())
    })
}

/// A member of the account by email, or a bot by its name (for the operator commands).
pub fn find_owner(store: &Store, caller: &Caller, email_or_bot: &str) -> Result<User, AppError> {
    let email = if email_or_bot.contains('@') {
        portcullis_domain::Email::parse(email_or_bot)?
    } else {
        User::bot_email(email_or_bot)?
    };
    store
        .user_by_email(caller.account.id, &email)?
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "{email_or_bot} is neither a member nor a bot of {}",
                caller.account.slug
            ))
        })
}
