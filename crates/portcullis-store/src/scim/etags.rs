//! What else changes when a member or a group does. A member's `groups` shows the groups
//! they are in (with their names), and a group's `members` shows its members (with their
//! display names), so a change to one is a change to the representation of the other:
//! its version (the ETag) and `meta.lastModified` move too (RFC 7643 §3.1, RFC 9110
//! §13.1.2), in the same transaction, and `If-None-Match` never answers 304 for a body
//! that is no longer current.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::AnyConnection;
use crate::json_in::{one_of, Unindexed};
use crate::schema::{group_members, groups, users};
use crate::StoreError;

/// The members of `account` with these ids (as text) change at `now`: their groups did.
pub(crate) fn touch_members(
    conn: &mut AnyConnection,
    account: &str,
    members: &[String],
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    if members.is_empty() {
        return Ok(());
    }
    one_of!(conn, users::id, members, |c, theirs| {
        diesel::update(
            users::table
                .filter(Unindexed(users::account_id).eq(account))
                .filter(theirs),
        )
        .set((
            users::version.eq(users::version + 1),
            users::updated_at.eq(now),
        ))
        .execute(c)?
    });
    Ok(())
}

/// The members of a group (ids as text).
pub(crate) fn members_of(conn: &mut AnyConnection, group: &str) -> Result<Vec<String>, StoreError> {
    Ok(group_members::table
        .filter(group_members::group_id.eq(group))
        .select(group_members::user_id)
        .load(conn)?)
}

/// The groups `member` is in change at `now`: their members did (a rename, a deletion).
pub(crate) fn touch_groups_of(
    conn: &mut AnyConnection,
    member: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let theirs = group_members::table
        .filter(group_members::user_id.eq(member))
        .select(group_members::group_id);
    diesel::update(groups::table.filter(groups::id.eq_any(theirs)))
        .set((
            groups::version.eq(groups::version + 1),
            groups::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// [`touch_groups_of`] the member `id` at `now` when `display_name` is not the name
/// stored for them (to be called before it is stored). A read of the member's row, and a
/// write only when the name changes: most changes to a member leave it.
pub(crate) fn touch_groups_if_renamed(
    conn: &mut AnyConnection,
    id: &str,
    display_name: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let stored: Option<String> = users::table
        .find(id)
        .select(users::display_name)
        .first(conn)
        .optional()?;
    match stored {
        Some(name) if name != display_name => touch_groups_of(conn, id, now),
        _ => Ok(()),
    }
}
