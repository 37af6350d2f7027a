//! Members as SCIM shows them by default ([`ScimUserShown`]): the columns an answer
//! needs and the stored view of every other attribute, read in one statement that also
//! requires the account's authentication epoch (a key kept in memory,
//! [`Store::cached_api_key`]); and the upkeep of those stored views.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::email::identity_key;
use portcullis_domain::{AccountId, GroupId, UserId};

use super::filter::{CompareOp, Filter, FilterValue, UserField};
use super::users::{
    by_lookup, groups_of, lookup_of, to_usize, whole_list_page, GroupOfRow, Lookup, HUMAN,
};
use super::ScimQuery;
use crate::connection::{concrete, AnyConnection};
use crate::convert::{parse, utc};
use crate::json_in::{one_of, Unindexed};
use crate::schema::{api_auth_epochs, group_members, groups, user_emails, users};
use crate::stored_time::StoredTime;
use crate::user::UserRow;
use crate::{ScimUserRow, Store, StoreError};

/// A member as SCIM shows them by default, read from only what such an answer needs: the
/// columns behind `id`, `userName`, `displayName`, `active`, `externalId` and `meta`, and
/// the stored view of every other attribute ([`super::ScimUserRow::scim_view`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserShown {
    /// The member's id.
    pub id: UserId,
    /// Their email as stored (`userName`).
    pub user_name: String,
    /// `displayName` (empty when they have none).
    pub display_name: String,
    /// `active`.
    pub active: bool,
    /// `externalId`.
    pub external_id: Option<String>,
    /// [`super::ScimUserRow::scim_view`].
    pub view: String,
    /// The member's version (the ETag).
    pub version: i64,
    /// `meta.created`.
    pub created_at: DateTime<Utc>,
    /// `meta.lastModified`.
    pub updated_at: DateTime<Utc>,
    /// The groups the member belongs to (id and display name), by display name.
    pub groups: Vec<(GroupId, String)>,
}

/// A member of a page read as [`Store::scim_users_page_shown`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageMember {
    /// Shown from their columns and stored view.
    Shown(ScimUserShown),
    /// A member without a stored view: their whole row, with the groups they belong to
    /// (id and display name), by display name.
    Whole(Box<ScimUserRow>, Vec<(GroupId, String)>),
}

impl PageMember {
    /// The member's id.
    pub fn id(&self) -> UserId {
        match self {
            Self::Shown(shown) => shown.id,
            Self::Whole(row, _) => row.user.id,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
pub(super) struct ShownRow {
    id: String,
    email: String,
    display_name: String,
    active: bool,
    external_id: Option<String>,
    scim_view: Option<String>,
    version: i64,
    #[diesel(deserialize_as = StoredTime)]
    created_at: NaiveDateTime,
    #[diesel(deserialize_as = StoredTime)]
    updated_at: NaiveDateTime,
}

impl ShownRow {
    /// `None` for a member without a view.
    fn into_shown(self) -> Result<Option<ScimUserShown>, StoreError> {
        let Some(view) = self.scim_view else {
            return Ok(None);
        };
        Ok(Some(ScimUserShown {
            id: parse(&self.id, "user id")?,
            user_name: self.email,
            display_name: self.display_name,
            active: self.active,
            external_id: self.external_id,
            view,
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
            groups: Vec::new(),
        }))
    }
}

/// [`super::users::LoadMembers`] of [`ShownRow`]s.
fn load_shown(
    query: users::BoxedQuery<'static, crate::connection::MultiBackend>,
    conn: &mut AnyConnection,
) -> QueryResult<Vec<ShownRow>> {
    query.select(ShownRow::as_select()).load(conn)
}

/// The whole rows of the account's members with these ids, by id.
pub(super) fn whole_rows(
    conn: &mut AnyConnection,
    account: &str,
    ids: &[&str],
) -> Result<HashMap<String, UserRow>, StoreError> {
    let rows: Vec<UserRow> = one_of!(conn, users::id, ids, |c, theirs| {
        users::table
            .filter(Unindexed(users::account_id).eq(account))
            .filter(theirs)
            .select(UserRow::as_select())
            .load(c)?
    });
    Ok(rows.into_iter().map(|row| (row.id.clone(), row)).collect())
}

/// A member found by [`lookup_shown`], with one group they belong to or none.
type ShownWithGroup = (ShownRow, Option<GroupOfRow>);

/// A lookup ([`lookup_of`]) of [`ShownRow`]s with their groups, in one statement that also
/// requires the account's authentication epoch to be `epoch`: a row per member and group
/// (one with no group for a member in none), at most `limit` rows, in no order (a sort
/// would cost a sorter on every read; the caller sorts, and a full page tells it that
/// rows may be missing). `None` for every other query.
pub(super) fn lookup_shown(
    conn: &mut AnyConnection,
    account: &str,
    q: &ScimQuery<UserField>,
    epoch: i64,
) -> Result<Option<Vec<ShownWithGroup>>, StoreError> {
    let Some(found) = lookup_of(q) else {
        return Ok(None);
    };
    let limit = q.limit.max(0);
    let rows: Vec<ShownWithGroup> = by_lookup!(conn, found, account, |table| table
        .left_join(group_members::table)
        .left_join(groups::table.on(groups::id.eq(group_members::group_id)))
        .filter(Unindexed(users::kind).eq(HUMAN))
        .filter(epoch_is(account, epoch))
        .limit(limit)
        .select((
            ShownRow::as_select(),
            (
                groups::account_id,
                groups::display_name_lower,
                groups::id,
                groups::display_name,
            )
                .nullable(),
        )))?;
    Ok(Some(rows))
}

/// Members with their groups, from rows of a member and one group each ([`lookup_shown`],
/// the member read of [`Store::scim_user_shown`]): in the order of the general path
/// (creation time, then id), each member's groups by display name, then id, and only the
/// account's own groups. `None` when a member has no stored view.
fn members_with_groups(
    account: &str,
    mut rows: Vec<ShownWithGroup>,
) -> Result<Option<Vec<ScimUserShown>>, StoreError> {
    rows.sort_by(|(a, ag), (b, bg)| {
        (a.created_at, &a.id, ag.as_ref().map(|g| (&g.1, &g.2))).cmp(&(
            b.created_at,
            &b.id,
            bg.as_ref().map(|g| (&g.1, &g.2)),
        ))
    });
    let mut members: Vec<ScimUserShown> = Vec::new();
    let mut last: Option<String> = None;
    for (row, group) in rows {
        if last.as_deref() != Some(row.id.as_str()) {
            last = Some(row.id.clone());
            let Some(member) = row.into_shown()? else {
                return Ok(None);
            };
            members.push(member);
        }
        if let (Some((group_account, _, group, name)), Some(member)) = (group, members.last_mut()) {
            if group_account == account {
                member.groups.push((parse(&group, "group id")?, name));
            }
        }
    }
    Ok(Some(members))
}

/// The row of `api_auth_epochs` that says an account is at a given epoch.
type EpochRow<'a> = diesel::dsl::Filter<
    diesel::dsl::Filter<
        api_auth_epochs::table,
        diesel::dsl::Eq<api_auth_epochs::account_id, &'a str>,
    >,
    diesel::dsl::Eq<api_auth_epochs::epoch, i64>,
>;

/// Whether the account's authentication epoch is `epoch`: the condition under which a
/// read may rely on a key kept in memory ([`Store::cached_api_key`]), checked in the
/// read's own statement.
fn epoch_is(account: &str, epoch: i64) -> diesel::dsl::exists<EpochRow<'_>> {
    diesel::dsl::exists(
        api_auth_epochs::table
            .filter(api_auth_epochs::account_id.eq(account))
            .filter(api_auth_epochs::epoch.eq(epoch)),
    )
}

impl Store {
    /// The member with this id as [`ScimUserShown`] (with their groups), read only while
    /// the account's authentication epoch is `epoch` (that of a key read from memory,
    /// [`Store::cached_api_key`]), in the same statement. `None` when the epoch has moved,
    /// and for bots, other accounts' users, unknown ids and members without a stored view
    /// (for which [`Store::scim_user`] has the whole row).
    pub fn scim_user_shown(
        &self,
        account: AccountId,
        id: UserId,
        epoch: i64,
    ) -> Result<Option<ScimUserShown>, StoreError> {
        let account = account.to_string();
        // The lookup of one id: one statement, a row per group the member belongs to
        // (one with no group when they belong to none), with no limit on the groups.
        let by_id = ScimQuery::page(0, i64::MAX).filtered(Filter::Compare(
            UserField::Id,
            CompareOp::Eq,
            FilterValue::Str(id.to_string()),
        ));
        self.read(|conn| {
            let rows = lookup_shown(conn, &account, &by_id, epoch)?.unwrap_or_default();
            Ok(members_with_groups(&account, rows)?.and_then(|m| m.into_iter().next()))
        })
    }

    /// A page of the account's whole list (`q` without a filter or a sort), each member
    /// as [`ScimUserShown`] (with their groups) or, without a stored view, as their whole
    /// row with their groups ([`PageMember`]), with the account's member count: the page
    /// [`Store::list_scim_users`] reads, without the columns an answer does not show.
    /// `None` for every other query.
    pub fn scim_users_page_shown(
        &self,
        account: AccountId,
        q: &ScimQuery<UserField>,
    ) -> Result<Option<(Vec<PageMember>, i64)>, StoreError> {
        let account_id = account.to_string();
        // The page, the whole rows of its members without a view and their groups, on one
        // connection.
        let found = self.read(|conn| {
            let Some((rows, total)) = whole_list_page(self, conn, &account_id, q, load_shown)?
            else {
                return Ok(None);
            };
            let without_view: Vec<&str> = rows
                .iter()
                .filter(|row| row.scim_view.is_none())
                .map(|row| row.id.as_str())
                .collect();
            let whole = whole_rows(conn, &account_id, &without_view)?;
            let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
            let groups = groups_of(conn, &account_id, &ids)?;
            Ok(Some((rows, whole, groups, total)))
        })?;
        let Some((rows, mut whole, mut groups, total)) = found else {
            return Ok(None);
        };
        let mut page = Vec::with_capacity(rows.len());
        for row in rows {
            let member = match whole.remove(&row.id) {
                Some(row) => PageMember::Whole(Box::new(ScimUserRow::from_row(row)?), Vec::new()),
                None => match row.into_shown()? {
                    Some(shown) => PageMember::Shown(shown),
                    // Without a view, and removed since the page was read.
                    None => return Ok(None),
                },
            };
            page.push(member);
        }
        for member in &mut page {
            let theirs = groups.remove(&member.id()).unwrap_or_default();
            match member {
                PageMember::Shown(shown) => shown.groups = theirs,
                PageMember::Whole(_, in_groups) => *in_groups = theirs,
            }
        }
        Ok(Some((page, total)))
    }

    /// Up to `limit` members, across accounts, whose `scim_json` has no `scim_view` (rows
    /// stored before the view existed, and texts the server would not vouch for), after
    /// `after` in id order: their id, `scim_json` and version.
    pub fn scim_users_without_view(
        &self,
        after: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<(UserId, String, i64)>, StoreError> {
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        self.read(|conn| {
            let rows: Vec<(String, Option<String>, i64)> = users::table
                .filter(users::kind.eq(HUMAN))
                .filter(users::scim_json.is_not_null())
                .filter(users::scim_view.is_null())
                .filter(users::id.gt(&after))
                .order(users::id.asc())
                .limit(limit.max(0))
                .select((users::id, users::scim_json, users::version))
                .load(conn)?;
            rows.into_iter()
                .filter_map(|(id, json, version)| json.map(|json| (id, json, version)))
                .map(|(id, json, version)| Ok((parse(&id, "user id")?, json, version)))
                .collect()
        })
    }

    /// Writes each `(member, version, view)`'s view as the member's `scim_view` if their
    /// version still is `version` (a write since then has written a view of its own), in
    /// one transaction; returns how many were written. The members do not change: their
    /// versions and `updated_at` stay.
    pub fn fill_scim_views(&self, views: &[(UserId, i64, String)]) -> Result<usize, StoreError> {
        self.write(|conn| {
            let mut written = 0;
            for (id, version, view) in views {
                written += diesel::update(
                    users::table
                        .filter(users::id.eq(id.to_string()))
                        .filter(users::version.eq(version))
                        .filter(users::scim_view.is_null()),
                )
                .set(users::scim_view.eq(view))
                .execute(conn)?;
            }
            Ok(written)
        })
    }

    /// The answer to a lookup ([`ScimQuery`] of the first page, unsorted, filtered by
    /// `userName`, `id`, `externalId` or the work email `eq` a text) as [`ScimUserShown`]
    /// (with their groups),
    /// read only while the account's authentication epoch is `epoch` (as for
    /// [`Store::scim_user_shown`]), when it finds members, every one with a stored view,
    /// and the page holds every match (so its length is the total). `None` otherwise —
    /// also when it finds no member, which may mean a moved epoch — and then
    /// [`Store::list_scim_users`] answers it.
    pub fn lookup_scim_users_shown(
        &self,
        account: AccountId,
        q: &ScimQuery<UserField>,
        epoch: i64,
    ) -> Result<Option<Vec<ScimUserShown>>, StoreError> {
        let account = account.to_string();
        self.read(|conn| {
            let Some(rows) = lookup_shown(conn, &account, q, epoch)? else {
                return Ok(None);
            };
            // No row may mean a moved epoch as well as no match: only the caller's full
            // check can tell, so it is the caller's to answer. A full page (of rows, a
            // member in several groups taking several) may be missing some.
            if rows.is_empty() || rows.len() >= to_usize(q.limit) {
                return Ok(None);
            }
            members_with_groups(&account, rows)
        })
    }
}
