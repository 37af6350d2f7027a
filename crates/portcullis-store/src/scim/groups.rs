//! Groups of account members, managed over SCIM.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::{AccountId, AuditEvent, GroupId, UserId};

use super::etags::{members_of, touch_members};
use super::filter::group_pred;
use super::users::HUMAN;
use super::{GroupField, ScimQuery};
use crate::audit::insert_audit;
use crate::connection::{AnyConnection, MultiBackend};
use crate::convert::{parse, scim_time, utc};
use crate::json_in::{one_of, Unindexed};
use crate::schema::{group_members, groups, users};
use crate::{Store, StoreError};

/// A group as SCIM sees it (members are read separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroupRow {
    /// Stable id.
    pub id: GroupId,
    /// The account it belongs to.
    pub account: AccountId,
    /// Unique in the account, compared case-insensitively.
    pub display_name: String,
    /// The IdP's id for the group.
    pub external_id: Option<String>,
    /// Other SCIM attributes as the server chose to keep them.
    pub scim_json: Option<String>,
    /// Bumped by every change, members included (the ETag); 1 after creation.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// What a group update does to the members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange<'a> {
    /// Leave them as they are.
    Keep,
    /// Make them exactly these (PUT, or PATCH `replace members`).
    Set(&'a [UserId]),
    /// Add some and remove others (PATCH `add` / `remove`). Adding a member twice or
    /// removing a non-member does nothing.
    Edit {
        /// Users to add; each must be a (non-bot) user of the account.
        add: &'a [UserId],
        /// Users to remove; ids that are not members are ignored.
        remove: &'a [UserId],
    },
}

/// Inserted with `NULL` for a `None`, as [`crate::user`]'s row is (no optional column has
/// another default), so that diesel keeps the `INSERT`'s prepared statement.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = groups, treat_none_as_default_value = false)]
struct GroupRow {
    id: String,
    account_id: String,
    display_name: String,
    display_name_lower: String,
    external_id: Option<String>,
    scim_json: Option<String>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl GroupRow {
    fn from_domain(g: &ScimGroupRow) -> Self {
        Self {
            id: g.id.to_string(),
            account_id: g.account.to_string(),
            display_name: g.display_name.clone(),
            display_name_lower: g.display_name.to_lowercase(),
            external_id: g.external_id.clone(),
            scim_json: g.scim_json.clone(),
            version: g.version,
            created_at: scim_time(g.created_at),
            updated_at: scim_time(g.updated_at),
        }
    }

    fn into_domain(self) -> Result<ScimGroupRow, StoreError> {
        Ok(ScimGroupRow {
            id: parse(&self.id, "group id")?,
            account: parse(&self.account_id, "account id")?,
            display_name: self.display_name,
            external_id: self.external_id,
            scim_json: self.scim_json,
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

/// Checks that every id is a non-bot user of the account; the first that is not is
/// `UnknownMember`. Returns the ids as text, without duplicates.
pub(super) fn check_members(
    conn: &mut AnyConnection,
    account: &str,
    members: &[UserId],
) -> Result<Vec<String>, StoreError> {
    let wanted: BTreeSet<String> = members.iter().map(ToString::to_string).collect();
    let wanted: Vec<String> = wanted.into_iter().collect();
    if wanted.is_empty() {
        return Ok(wanted);
    }
    let found: Vec<String> = one_of!(conn, users::id, &wanted, |c, theirs| users::table
        .filter(Unindexed(users::account_id).eq(account))
        .filter(users::kind.eq(HUMAN))
        .filter(theirs)
        .select(users::id)
        .load(c)?);
    let found: HashSet<String> = found.into_iter().collect();
    if let Some(missing) = members.iter().find(|m| !found.contains(&m.to_string())) {
        return Err(StoreError::UnknownMember(*missing));
    }
    Ok(wanted)
}

/// Adds members (ids as text) not in the group yet; returns those added.
fn add_members(
    conn: &mut AnyConnection,
    group: &str,
    members: &[String],
) -> Result<Vec<String>, StoreError> {
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let present: Vec<String> = in_group(conn, group, members)?;
    let present: HashSet<&String> = present.iter().collect();
    let added: Vec<String> = members
        .iter()
        .filter(|m| !present.contains(m))
        .cloned()
        .collect();
    // One statement per row: diesel's multi-backend connection has no batch insert.
    // The statement is prepared once and reused inside the transaction.
    for member in &added {
        diesel::insert_into(group_members::table)
            .values((
                group_members::group_id.eq(group),
                group_members::user_id.eq(member),
            ))
            .execute(conn)?;
    }
    Ok(added)
}

/// Removes members that are in the group; returns those removed.
fn remove_members(
    conn: &mut AnyConnection,
    group: &str,
    members: &[String],
) -> Result<Vec<String>, StoreError> {
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let gone = in_group(conn, group, members)?;
    if !gone.is_empty() {
        one_of!(conn, group_members::user_id, &gone, |c, theirs| {
            diesel::delete(
                group_members::table
                    .filter(group_members::group_id.eq(group))
                    .filter(theirs),
            )
            .execute(c)?
        });
    }
    Ok(gone)
}

/// Which of `members` (ids as text) are in the group.
fn in_group(
    conn: &mut AnyConnection,
    group: &str,
    members: &[String],
) -> Result<Vec<String>, StoreError> {
    Ok(one_of!(
        conn,
        group_members::user_id,
        members,
        |c, theirs| {
            group_members::table
                .filter(group_members::group_id.eq(group))
                .filter(theirs)
                .select(group_members::user_id)
                .load(c)?
        }
    ))
}

/// Changes the members of a group as told; the members who joined or left change too
/// (their `groups` did), at `now`.
fn apply_members(
    conn: &mut AnyConnection,
    account: &str,
    group: &str,
    change: MemberChange<'_>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let (joined, left) = match change {
        MemberChange::Keep => return Ok(()),
        MemberChange::Set(members) => {
            let members = check_members(conn, account, members)?;
            let wanted: HashSet<&String> = members.iter().collect();
            let leaving: Vec<String> = members_of(conn, group)?
                .into_iter()
                .filter(|m| !wanted.contains(m))
                .collect();
            let left = remove_members(conn, group, &leaving)?;
            (add_members(conn, group, &members)?, left)
        }
        MemberChange::Edit { add, remove } => {
            let add = check_members(conn, account, add)?;
            let remove: Vec<String> = remove.iter().map(ToString::to_string).collect();
            let left = remove_members(conn, group, &remove)?;
            (add_members(conn, group, &add)?, left)
        }
    };
    touch_members(conn, account, &[joined, left].concat(), now)
}

fn groups_of(account: &str) -> groups::BoxedQuery<'static, MultiBackend> {
    groups::table
        .filter(groups::account_id.eq(account.to_owned()))
        .into_boxed()
}

fn load(
    conn: &mut AnyConnection,
    account: &str,
    id: &str,
) -> Result<Option<ScimGroupRow>, StoreError> {
    groups_of(account)
        .filter(groups::id.eq(id.to_owned()))
        .select(GroupRow::as_select())
        .first(conn)
        .optional()?
        .map(GroupRow::into_domain)
        .transpose()
}

/// Bumps the group's version (and sets its update time) if it still has `expected`;
/// the new version, or `PreconditionFailed` / `NotFound`.
fn bump(
    conn: &mut AnyConnection,
    account: &str,
    id: &str,
    expected: Option<i64>,
    now: NaiveDateTime,
) -> Result<i64, StoreError> {
    let target = groups::table
        .filter(groups::account_id.eq(account))
        .filter(groups::id.eq(id));
    let changes = (
        groups::version.eq(groups::version + 1),
        groups::updated_at.eq(now),
    );
    let n = match expected {
        Some(v) => diesel::update(target.filter(groups::version.eq(v)))
            .set(changes)
            .execute(conn)?,
        None => diesel::update(target).set(changes).execute(conn)?,
    };
    if n == 0 {
        return Err(match load(conn, account, id)? {
            Some(_) => StoreError::PreconditionFailed,
            None => StoreError::NotFound,
        });
    }
    Ok(groups::table.find(id).select(groups::version).first(conn)?)
}

impl Store {
    /// The group with this id in this account.
    pub fn scim_group(
        &self,
        account: AccountId,
        id: GroupId,
    ) -> Result<Option<ScimGroupRow>, StoreError> {
        self.read(|conn| load(conn, &account.to_string(), &id.to_string()))
    }

    /// Creates a group with its members, in one transaction (the members change too:
    /// their `groups` show it). A display name taken in the account (case-insensitively)
    /// is `Conflict { what: "group displayName" }`; a member that is not a user of the
    /// account is `UnknownMember` and nothing is created.
    ///
    /// `audit`, when given, is written in the same transaction, so the change and its
    /// audit event are stored together or not at all.
    pub fn insert_scim_group(
        &self,
        row: &ScimGroupRow,
        members: &[UserId],
        audit: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let row = GroupRow::from_domain(row);
        self.write(|conn| {
            let members = check_members(conn, &row.account_id, members)?;
            diesel::insert_into(groups::table)
                .values(&row)
                .execute(conn)?;
            let joined = add_members(conn, &row.id, &members)?;
            touch_members(conn, &row.account_id, &joined, row.created_at)?;
            insert_audit(conn, audit)
        })
    }

    /// Replaces a group's display name, externalId, `scim_json` and update time, and
    /// changes its members as told, in one transaction; returns the new version. Members
    /// who join or leave, and every member when the name changes, change too (their
    /// `groups` show it). With
    /// `expected_version`, only if the stored version still is that one
    /// (`PreconditionFailed` otherwise). An unknown member applies nothing.
    ///
    /// `audit`, when given, is written in the same transaction, so the change and its
    /// audit event are stored together or not at all.
    pub fn replace_scim_group(
        &self,
        row: &ScimGroupRow,
        members: MemberChange<'_>,
        expected_version: Option<i64>,
        audit: Option<&AuditEvent>,
    ) -> Result<i64, StoreError> {
        let row = GroupRow::from_domain(row);
        self.write(|conn| {
            let version = bump(
                conn,
                &row.account_id,
                &row.id,
                expected_version,
                row.updated_at,
            )?;
            let renamed = groups::table
                .find(&row.id)
                .filter(groups::display_name.ne(&row.display_name))
                .count()
                .get_result::<i64>(conn)?
                > 0;
            if renamed {
                // Every member shows the group's name in their `groups`.
                let members = members_of(conn, &row.id)?;
                touch_members(conn, &row.account_id, &members, row.updated_at)?;
            }
            diesel::update(groups::table.find(&row.id))
                .set((
                    groups::display_name.eq(&row.display_name),
                    groups::display_name_lower.eq(&row.display_name_lower),
                    groups::external_id.eq(&row.external_id),
                    groups::scim_json.eq(&row.scim_json),
                ))
                .execute(conn)?;
            apply_members(conn, &row.account_id, &row.id, members, row.updated_at)?;
            insert_audit(conn, audit)?;
            Ok(version)
        })
    }

    /// Adds and removes members (SCIM PATCH on `members`) in one transaction; returns
    /// the group's new version. The members who joined or left change too. An added id that is not a (non-bot) user of the account
    /// is `UnknownMember(id)` and nothing is applied; removing a non-member does
    /// nothing (IdPs remove members they deleted a moment ago).
    pub fn patch_group_members(
        &self,
        account: AccountId,
        group: GroupId,
        add: &[UserId],
        remove: &[UserId],
        expected_version: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let (account, group, now) = (account.to_string(), group.to_string(), scim_time(now));
        self.write(|conn| {
            let version = bump(conn, &account, &group, expected_version, now)?;
            let change = MemberChange::Edit { add, remove };
            apply_members(conn, &account, &group, change, now)?;
            Ok(version)
        })
    }

    /// Deletes a group (its memberships go with it; its members change at `now`). `false`
    /// when the account has no such group (and nothing is audited).
    ///
    /// `audit`, when given, is written in the same transaction, so the change and its
    /// audit event are stored together or not at all.
    pub fn delete_scim_group(
        &self,
        account: AccountId,
        id: GroupId,
        now: DateTime<Utc>,
        audit: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        let (account, id, now) = (account.to_string(), id.to_string(), scim_time(now));
        self.write(|conn| {
            if load(conn, &account, &id)?.is_none() {
                return Ok(false);
            }
            let members = members_of(conn, &id)?;
            touch_members(conn, &account, &members, now)?;
            diesel::delete(group_members::table.filter(group_members::group_id.eq(&id)))
                .execute(conn)?;
            diesel::delete(groups::table.find(&id)).execute(conn)?;
            insert_audit(conn, audit)?;
            Ok(true)
        })
    }

    /// One page of the account's groups matching the query, and the exact number
    /// matching; stable order as for users.
    pub fn list_scim_groups(
        &self,
        account: AccountId,
        q: &ScimQuery<GroupField>,
    ) -> Result<(Vec<ScimGroupRow>, i64), StoreError> {
        let account = account.to_string();
        let filtered = || -> Result<_, StoreError> {
            let mut query = groups_of(&account);
            if let Some(filter) = &q.filter {
                query = query.filter(group_pred(filter)?);
            }
            Ok(query)
        };
        self.read(|conn| {
            let total = filtered()?.count().get_result::<i64>(conn)?;
            if q.limit <= 0 || q.offset >= total {
                return Ok((Vec::new(), total));
            }
            let query = filtered()?;
            let query = match q.sort {
                None => query.order_by(groups::created_at.asc()),
                Some((field, ascending)) => {
                    macro_rules! by {
                        ($col:expr) => {
                            if ascending {
                                query.order_by($col.asc())
                            } else {
                                query.order_by($col.desc())
                            }
                        };
                    }
                    match field {
                        GroupField::Id => by!(groups::id),
                        GroupField::DisplayName => by!(groups::display_name_lower),
                        GroupField::Created => by!(groups::created_at),
                        GroupField::LastModified => by!(groups::updated_at),
                        GroupField::ExternalId => {
                            let unassigned =
                                groups::external_id.is_null().or(groups::external_id.eq(""));
                            if ascending {
                                query
                                    .order_by(unassigned.asc())
                                    .then_order_by(groups::external_id.asc())
                            } else {
                                query
                                    .order_by(unassigned.desc())
                                    .then_order_by(groups::external_id.desc())
                            }
                        }
                    }
                }
            };
            let rows = query
                .then_order_by(groups::created_at.asc())
                .then_order_by(groups::id.asc())
                .offset(q.offset.max(0))
                .limit(q.limit)
                .select(GroupRow::as_select())
                .load(conn)?;
            let rows = rows
                .into_iter()
                .map(GroupRow::into_domain)
                .collect::<Result<Vec<_>, _>>()?;
            Ok((rows, total))
        })
    }

    /// A group's members with their display names, oldest member first. Empty for an
    /// unknown group or another account's.
    pub fn members_of_group(
        &self,
        account: AccountId,
        group: GroupId,
    ) -> Result<Vec<(UserId, String)>, StoreError> {
        Ok(self
            .members_of_groups(account, &[group])?
            .remove(&group)
            .unwrap_or_default())
    }

    /// The members of several groups at once (one statement, for a page of
    /// groups). Groups without members are absent from the map.
    pub fn members_of_groups(
        &self,
        account: AccountId,
        group_ids: &[GroupId],
    ) -> Result<HashMap<GroupId, Vec<(UserId, String)>>, StoreError> {
        let account = account.to_string();
        self.read(|conn| {
            let mut out: HashMap<GroupId, Vec<(UserId, String)>> = HashMap::new();
            let ids: Vec<String> = group_ids.iter().map(ToString::to_string).collect();
            let rows: Vec<(String, String, String)> =
                one_of!(conn, group_members::group_id, &ids, |c, theirs| {
                    group_members::table
                        .inner_join(groups::table)
                        .inner_join(users::table)
                        .filter(Unindexed(groups::account_id).eq(&account))
                        .filter(theirs)
                        .order((users::created_at.asc(), users::id.asc()))
                        .select((group_members::group_id, users::id, users::display_name))
                        .load(c)?
                });
            for (group, user, name) in rows {
                out.entry(parse(&group, "group id")?)
                    .or_default()
                    .push((parse(&user, "user id")?, name));
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inserted by one statement diesel prepares once (`None` written as `NULL`).
    #[test]
    fn a_row_is_inserted_by_a_statement_prepared_once() {
        let at = chrono::DateTime::UNIX_EPOCH.naive_utc();
        let row = GroupRow {
            id: "g".into(),
            account_id: "a".into(),
            display_name: "G".into(),
            display_name_lower: "g".into(),
            external_id: None,
            scim_json: None,
            version: 1,
            created_at: at,
            updated_at: at,
        };
        let insert = diesel::insert_into(groups::table).values(&row);
        assert!(crate::connection::prepared_once(&insert));
    }
}
