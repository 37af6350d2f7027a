//! Groups of users, managed over SCIM.

use diesel::prelude::*;

use crate::connection::AnyConnection;
use crate::schema::group_members;
use crate::StoreError;

/// Removes a user from every group.
pub(crate) fn delete_memberships_of(
    conn: &mut AnyConnection,
    user: &str,
) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(group_members::table.filter(group_members::user_id.eq(user)))
            .execute(conn)?,
    )
}
