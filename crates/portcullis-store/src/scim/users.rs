//! SCIM users: account members (never bots) with their SCIM attributes.

use std::collections::HashMap;

use diesel::prelude::*;
use portcullis_domain::email::identity_key;
use portcullis_domain::{AccountId, AuditEvent, GroupId, User, UserId};

use super::bookmarks;
use super::emails;
use super::etags::touch_groups_of;
use super::filter::{user_pred, CompareOp, EmailField, Filter, FilterValue, UserField};
use super::ScimQuery;
use crate::audit::insert_audit;
use crate::connection::{concrete, depth, AnyConnection};
use crate::convert::parse;
use crate::json_in::{one_of, Unindexed};
use crate::schema::{group_members, groups, user_emails, users};
use crate::user::{revoke_sessions_of, UserRow};
use crate::{Store, StoreError};

/// SCIM sees people, never bots. A user is one or the other, so the store asks for
/// `kind = 'human'`: an equality the `users_account_kind_created_idx` index answers (it
/// also gives the list order and the exact count without reading the table).
pub(crate) const HUMAN: &str = "human";

/// A member as SCIM sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserRow {
    /// The member (userName is `user.email`, `active`, `displayName`, `externalId`).
    pub user: User,
    /// Every other SCIM attribute as the client sent it, as the server chose to keep
    /// it; `None` for members SCIM never described. Its `emails` are what email filters
    /// match (kept beside the member when it is written, see `emails.rs`).
    pub scim_json: Option<String>,
    /// `scim_json` as SCIM shows it, without the attributes the server answers from the
    /// member's columns (`id`, `meta`, `groups`, `userName`, `displayName`, `active`,
    /// `externalId`): a JSON object the server writes with `scim_json` and copies into
    /// its answers. `None` when it was not written (members SCIM never described, rows
    /// stored before it existed, texts the server would not vouch for).
    pub scim_view: Option<String>,
    /// Bumped by every change to the member (the ETag); 1 after creation.
    pub version: i64,
}

impl ScimUserRow {
    pub(super) fn from_row(mut row: UserRow) -> Result<Self, StoreError> {
        let (scim_json, scim_view, version) =
            (row.scim_json.take(), row.scim_view.take(), row.version);
        Ok(Self {
            user: row.into_domain()?,
            scim_json,
            scim_view,
            version,
        })
    }

    fn to_row(&self) -> UserRow {
        let mut row = UserRow::from_domain(&self.user);
        row.scim_json = self.scim_json.clone();
        row.scim_view = self.scim_view.clone();
        row.version = self.version;
        row
    }
}

pub(super) fn to_usize(n: i64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Members (not bots) of one account.
pub(super) fn members_of(
    account: &str,
) -> users::BoxedQuery<'static, crate::connection::MultiBackend> {
    users::table
        .filter(users::account_id.eq(account.to_owned()))
        .filter(users::kind.eq(HUMAN))
        .into_boxed()
}

/// The lookup IdPs make all day — the first page, unsorted, of `userName`, `id` or
/// `externalId` `eq` a text, or of an email (`emails[value eq …]`, with or without
/// `type eq "work"`) — as the column and value it compares; `None` for every other query.
#[derive(Debug, Clone, Copy)]
pub(super) enum Lookup<'a> {
    UserName(&'a str),
    Id(&'a str),
    ExternalId(&'a str),
    Email(&'a str),
    WorkEmail(&'a str),
}

pub(super) fn lookup_of(q: &ScimQuery<UserField>) -> Option<Lookup<'_>> {
    if q.sort.is_some() || q.offset > 0 {
        return None;
    }
    fn value_eq(f: &Filter<EmailField>) -> Option<&str> {
        match f {
            Filter::Compare(EmailField::Value, CompareOp::Eq, FilterValue::Str(v)) => Some(v),
            _ => None,
        }
    }
    fn is_work(f: &Filter<EmailField>) -> bool {
        matches!(f, Filter::Compare(EmailField::Type, CompareOp::Eq, FilterValue::Str(t))
            if t.eq_ignore_ascii_case("work"))
    }
    Some(match q.filter.as_ref()? {
        Filter::Compare(field, CompareOp::Eq, FilterValue::Str(value)) => match field {
            UserField::UserName => Lookup::UserName(value),
            UserField::Id => Lookup::Id(value),
            UserField::ExternalId => Lookup::ExternalId(value),
            _ => return None,
        },
        Filter::AnyEmail(inner) => match inner.as_ref() {
            Filter::And(a, b) if is_work(a) => Lookup::WorkEmail(value_eq(b)?),
            Filter::And(a, b) if is_work(b) => Lookup::WorkEmail(value_eq(a)?),
            one => Lookup::Email(value_eq(one)?),
        },
        _ => return None,
    })
}

/// Runs `$query` (a closure of the table filtered to the account's rows) for the column a
/// lookup compares: `userName` and emails by their identity keys ([`identity_key`]), as
/// stored. Emails are looked up in their own rows first, and the account's term then
/// stays off SQLite's index ([`Unindexed`]) so that the matching members' ids drive the
/// statement rather than a walk of all the account's members. `$query`'s own terms and
/// order stay off the index too: SQLite, without statistics, would otherwise walk the
/// account's members by kind, or in list order, rather than look up `externalId`.
macro_rules! by_lookup {
    ($conn:expr, $lookup:expr, $account:expr, |$table:ident| $query:expr) => {
        match $lookup {
            Lookup::UserName(value) => {
                let $table = users::table
                    .filter(users::account_id.eq($account))
                    .filter(users::email_lower.eq(identity_key(value)));
                concrete!($conn, |c| $query.load(c))
            }
            Lookup::Id(value) => {
                let $table = users::table
                    .filter(users::account_id.eq($account))
                    .filter(users::id.eq(value));
                concrete!($conn, |c| $query.load(c))
            }
            Lookup::ExternalId(value) => {
                let $table = users::table
                    .filter(users::account_id.eq($account))
                    .filter(users::external_id.eq(value));
                concrete!($conn, |c| $query.load(c))
            }
            Lookup::Email(value) => {
                let $table = users::table
                    .filter($crate::json_in::Unindexed(users::account_id).eq($account))
                    .filter(
                        users::id.eq_any(
                            user_emails::table
                                .filter(user_emails::account_id.eq($account))
                                .filter(user_emails::value_key.eq(identity_key(value)))
                                .select(user_emails::user_id),
                        ),
                    );
                concrete!($conn, |c| $query.load(c))
            }
            Lookup::WorkEmail(value) => {
                let $table = users::table
                    .filter($crate::json_in::Unindexed(users::account_id).eq($account))
                    .filter(
                        users::id.eq_any(
                            user_emails::table
                                .filter(user_emails::account_id.eq($account))
                                .filter(user_emails::value_key.eq(identity_key(value)))
                                .filter(user_emails::type_lower.eq("work"))
                                .select(user_emails::user_id),
                        ),
                    );
                concrete!($conn, |c| $query.load(c))
            }
        }
    };
}
pub(super) use by_lookup;

/// A lookup ([`lookup_of`]) as a typed query on the concrete connection (found prepared
/// by type, see `concrete!`) rather than a boxed one whose SQL is written out on every
/// call. The same rows, in the same order, as the general path (`user_pred`: an equality
/// on an optional column never matches `NULL`). `None` for every other query.
pub(super) fn lookup(
    conn: &mut AnyConnection,
    account: &str,
    q: &ScimQuery<UserField>,
) -> Result<Option<Vec<UserRow>>, StoreError> {
    let Some(found) = lookup_of(q) else {
        return Ok(None);
    };
    let limit = q.limit.max(0);
    let rows: Vec<UserRow> = by_lookup!(conn, found, account, |table| table
        .filter(Unindexed(users::kind).eq(HUMAN))
        .order((
            Unindexed(users::created_at).asc(),
            Unindexed(users::id).asc(),
        ))
        .limit(limit)
        .select(UserRow::as_select()))?;
    Ok(Some(rows))
}

/// A member with their groups (id and display name, ordered by display name).
pub type ScimUserWithGroups = (ScimUserRow, Vec<(GroupId, String)>);

/// A group a member belongs to, as read beside them: account, lower-cased display name,
/// id, display name.
pub(super) type GroupOfRow = (String, String, String, String);

fn load(
    conn: &mut AnyConnection,
    account: &str,
    id: &str,
) -> Result<Option<ScimUserRow>, StoreError> {
    // Typed rather than built on `members_of`: the same conditions, a prepared statement
    // found by type (see `concrete!`).
    let row: Option<UserRow> = concrete!(conn, |c| {
        users::table
            .filter(users::account_id.eq(account))
            .filter(users::kind.eq(HUMAN))
            .filter(users::id.eq(id))
            .select(UserRow::as_select())
            .first(c)
            .optional()
    })?;
    row.map(ScimUserRow::from_row).transpose()
}

impl Store {
    /// The member with this id as SCIM sees it; bots and other accounts' users are
    /// `None`.
    pub fn scim_user(
        &self,
        account: AccountId,
        id: UserId,
    ) -> Result<Option<ScimUserRow>, StoreError> {
        self.read(|conn| load(conn, &account.to_string(), &id.to_string()))
    }

    /// [`Store::scim_user`] with the member's groups ([`Store::groups_of_user`]'s), in one
    /// statement: a row per group the member belongs to, or one with no group.
    pub fn scim_user_with_groups(
        &self,
        account: AccountId,
        id: UserId,
    ) -> Result<Option<ScimUserWithGroups>, StoreError> {
        let (account, id) = (account.to_string(), id.to_string());
        self.read(|conn| {
            let mut rows: Vec<(UserRow, Option<GroupOfRow>)> = concrete!(conn, |c| {
                users::table
                    .left_join(group_members::table)
                    .left_join(groups::table.on(groups::id.eq(group_members::group_id)))
                    .filter(users::account_id.eq(&account))
                    .filter(users::kind.eq(HUMAN))
                    .filter(users::id.eq(&id))
                    .select((
                        UserRow::as_select(),
                        (
                            groups::account_id,
                            groups::display_name_lower,
                            groups::id,
                            groups::display_name,
                        )
                            .nullable(),
                    ))
                    .load(c)
            })?;
            // The order of `groups_of_user`: display name, then id.
            rows.sort_by(|(_, a), (_, b)| {
                let (a, b) = (a.as_ref(), b.as_ref());
                a.map(|g| (&g.1, &g.2)).cmp(&b.map(|g| (&g.1, &g.2)))
            });
            let mut groups = Vec::new();
            let mut member = None;
            for (row, group) in rows {
                if member.is_none() {
                    member = Some(row);
                }
                if let Some((group_account, _, group, name)) = group {
                    if group_account == account {
                        groups.push((parse(&group, "group id")?, name));
                    }
                }
            }
            member
                .map(|row| Ok((ScimUserRow::from_row(row)?, groups)))
                .transpose()
        })
    }

    /// Creates a member from SCIM. A userName already used in the account (compared
    /// case-insensitively) is `Conflict { what: "email" }` — also when two creates race:
    /// the unique index lets exactly one through. The user should be a human with origin
    /// SCIM: a bot would be stored but never be visible to SCIM.
    ///
    /// `audit`, when given, is written in the same transaction, so the change and its
    /// audit event are stored together or not at all.
    ///
    /// Returns the member as stored (their times to the store's precision), as a read
    /// would give them back.
    pub fn insert_scim_user(
        &self,
        row: &ScimUserRow,
        audit: Option<&AuditEvent>,
    ) -> Result<User, StoreError> {
        let stored = UserRow::from_domain(&row.user).into_domain()?;
        let row = row.to_row();
        self.write_part(|conn| {
            row.insert(conn)?;
            insert_audit(conn, audit)
        })?;
        Ok(stored)
    }

    /// Replaces a member's SCIM-managed attributes — userName, displayName, active,
    /// externalId, `scim_json` and the emails in it — and `updated_at`; role, password,
    /// kind and origin are kept. Returns the new version.
    ///
    /// `previous` is the member as the caller read them: the write happens only if the
    /// stored version still is theirs, else `PreconditionFailed` (`If-Match`; also how a
    /// read-modify-write PATCH stays atomic). So what changed is known without reading
    /// it again: a new display name changes the member's groups too (their `members`
    /// show it), new emails are written, and deactivation ends the member's sessions, in
    /// the same transaction. `NotFound` for unknown ids, bots and other accounts' users.
    ///
    /// `audit`, when given, is written in the same transaction, so the change and its
    /// audit event are stored together or not at all.
    pub fn replace_scim_user(
        &self,
        row: &ScimUserRow,
        previous: &ScimUserRow,
        audit: Option<&AuditEvent>,
    ) -> Result<i64, StoreError> {
        let new = row.to_row();
        let old = &previous.user;
        // A change that keeps the member's userName, display name and externalId (a
        // PATCH of `active`, say) sets only the other columns: SQLite rewrites the entry
        // of every index on a column an `UPDATE` sets, changed or not, and each page it
        // touches is written to the log at the commit.
        let keys_kept = old.email == row.user.email
            && old.display_name == row.user.display_name
            && old.external_id == row.user.external_id;
        self.write_part(|conn| {
            let filter = || {
                users::account_id
                    .eq(&new.account_id)
                    .and(users::id.eq(&new.id))
                    .and(users::kind.eq(HUMAN))
                    .and(users::version.eq(previous.version))
            };
            let rest = (
                users::active.eq(new.active),
                users::scim_json.eq(&new.scim_json),
                users::scim_view.eq(&new.scim_view),
                users::updated_at.eq(new.updated_at),
                users::version.eq(users::version + 1),
            );
            // Two statements of their own types, each prepared once.
            macro_rules! set {
                ($changes:expr) => {{
                    let update = crate::cached::update(users::table, $changes, filter());
                    concrete!(conn, |c| diesel::query_dsl::methods::ExecuteDsl::execute(
                        update, c
                    ))?
                }};
            }
            let n = if keys_kept {
                set!(rest)
            } else {
                let keys = (
                    users::email.eq(&new.email),
                    users::email_lower.eq(&new.email_lower),
                    users::display_name.eq(&new.display_name),
                    users::display_name_lower.eq(&new.display_name_lower),
                    users::external_id.eq(&new.external_id),
                );
                set!((keys, rest))
            };
            if n == 0 {
                return Err(match load(conn, &new.account_id, &new.id)? {
                    Some(_) => StoreError::PreconditionFailed,
                    None => StoreError::NotFound,
                });
            }
            if old.display_name != new.display_name {
                touch_groups_of(conn, &new.id, new.updated_at.0)?;
            }
            emails::update(
                conn,
                &new.id,
                &new.account_id,
                (old.email.as_str(), previous.scim_json.as_deref()),
                (&new.email, new.scim_json.as_deref()),
            )?;
            if old.active && !new.active {
                revoke_sessions_of(conn, &new.account_id, &new.id, new.updated_at.0)?;
            }
            insert_audit(conn, audit)?;
            Ok(previous.version + 1)
        })
    }

    /// One page of the account's members (never bots) matching the query, and the
    /// exact number matching. Filtering, sorting and paging run in the database.
    pub fn list_scim_users(
        &self,
        account: AccountId,
        q: &ScimQuery<UserField>,
    ) -> Result<(Vec<ScimUserRow>, i64), StoreError> {
        let account = account.to_string();
        self.read(|conn| {
            let (rows, total) = match whole_list_page(self, conn, &account, q, load_rows)? {
                Some(found) => found,
                None => offset_page(conn, &account, q)?,
            };
            let rows = rows
                .into_iter()
                .map(ScimUserRow::from_row)
                .collect::<Result<Vec<_>, _>>()?;
            Ok((rows, total))
        })
    }

    /// The groups a member belongs to, by display name.
    pub fn groups_of_user(
        &self,
        account: AccountId,
        user: UserId,
    ) -> Result<Vec<(GroupId, String)>, StoreError> {
        // The single-member form compares with `=` rather than `IN (...)`, so the
        // statement is prepared once per connection and reused (GET of one user).
        let (account, user) = (account.to_string(), user.to_string());
        self.read(|conn| {
            let rows: Vec<(String, String)> = concrete!(conn, |c| {
                group_members::table
                    .inner_join(groups::table)
                    .filter(groups::account_id.eq(&account))
                    .filter(group_members::user_id.eq(&user))
                    .order((groups::display_name_lower.asc(), groups::id.asc()))
                    .select((groups::id, groups::display_name))
                    .load(c)
            })?;
            rows.into_iter()
                .map(|(group, name)| Ok((parse(&group, "group id")?, name)))
                .collect()
        })
    }

    /// The groups of several members at once (one query for a page of users). Members
    /// in no group are absent from the map.
    pub fn groups_of_users(
        &self,
        account: AccountId,
        members: &[UserId],
    ) -> Result<HashMap<UserId, Vec<(GroupId, String)>>, StoreError> {
        let account = account.to_string();
        let ids: Vec<String> = members.iter().map(ToString::to_string).collect();
        self.read(|conn| groups_of(conn, &account, &ids))
    }
}

/// [`Store::groups_of_users`] on `conn`, the members by id: each member's groups of
/// `account` by display name, then id; members in no group are absent from the map.
pub(super) fn groups_of(
    conn: &mut AnyConnection,
    account: &str,
    ids: &[String],
) -> Result<HashMap<UserId, Vec<(GroupId, String)>>, StoreError> {
    // One statement for any number of members, prepared once per connection.
    let rows: Vec<(String, String, String)> =
        one_of!(conn, group_members::user_id, ids, |c, theirs| {
            group_members::table
                .inner_join(groups::table)
                .filter(Unindexed(groups::account_id).eq(account))
                .filter(theirs)
                .order((groups::display_name_lower.asc(), groups::id.asc()))
                .select((group_members::user_id, groups::id, groups::display_name))
                .load(c)?
        });
    let mut out: HashMap<UserId, Vec<(GroupId, String)>> = HashMap::new();
    for (user, group, name) in rows {
        out.entry(parse(&user, "user id")?)
            .or_default()
            .push((parse(&group, "group id")?, name));
    }
    Ok(out)
}

/// `query` in SCIM's list order after any sort it has: creation, then id. Stable across
/// pages, and without a sort exactly the order of `users_account_kind_created_idx` (no
/// sorting step); the deep pages' bookmarks are positions in it.
pub(super) fn in_list_order(
    query: users::BoxedQuery<'static, crate::connection::MultiBackend>,
) -> users::BoxedQuery<'static, crate::connection::MultiBackend> {
    query
        .then_order_by(users::created_at.asc())
        .then_order_by(users::id.asc())
}

/// A page of the account's members matching `q`, read with `OFFSET`, and how many match.
fn offset_page(
    conn: &mut AnyConnection,
    account: &str,
    q: &ScimQuery<UserField>,
) -> Result<(Vec<UserRow>, i64), StoreError> {
    let rows = match lookup(conn, account, q)? {
        Some(rows) => rows,
        None => {
            let mut query = members_matching(account, q)?;
            if let Some((field, ascending)) = q.sort {
                query = sort_users(query, field, ascending);
            }
            in_list_order(query)
                .offset(q.offset.max(0))
                .limit(q.limit.max(0))
                .select(UserRow::as_select())
                .load(conn)?
        }
    };
    let total = page_total(conn, account, q, rows.len())?;
    Ok((rows, total))
}

/// How a page of members is selected and loaded: as [`UserRow`]s ([`load_rows`]) or only
/// as much as an answer needs (`shown.rs`).
pub(super) type LoadMembers<R> = fn(
    users::BoxedQuery<'static, crate::connection::MultiBackend>,
    &mut AnyConnection,
) -> QueryResult<Vec<R>>;

/// [`LoadMembers`] of whole rows.
fn load_rows(
    query: users::BoxedQuery<'static, crate::connection::MultiBackend>,
    conn: &mut AnyConnection,
) -> QueryResult<Vec<UserRow>> {
    query.select(UserRow::as_select()).load(conn)
}

/// The page `q` asks for when it is of the account's whole list (no filter, no sort), as
/// `load` selects its members, with the member count: from the bookmark before it when it
/// lies deep in the list ([`bookmarks::page`]), else with `OFFSET`. `None` for every other
/// query, and when the bookmarks could not be used; the caller then reads it with
/// [`offset_page`]. Bookmarks are used only outside a transaction, whose own uncommitted
/// changes they must not outlive.
pub(super) fn whole_list_page<R>(
    store: &Store,
    conn: &mut AnyConnection,
    account: &str,
    q: &ScimQuery<UserField>,
    load: LoadMembers<R>,
) -> Result<Option<(Vec<R>, i64)>, StoreError> {
    if q.filter.is_some() || q.sort.is_some() {
        return Ok(None);
    }
    if q.offset >= bookmarks::EVERY && q.limit > 0 && depth(conn)? == 0 {
        return bookmarks::page(conn, &store.bookmarks, account, q.offset, q.limit, load);
    }
    let rows = load(
        in_list_order(members_of(account))
            .offset(q.offset.max(0))
            .limit(q.limit.max(0)),
        conn,
    )?;
    let total = page_total(conn, account, q, rows.len())?;
    Ok(Some((rows, total)))
}

/// The account's members that match `q`'s filter, in no order.
fn members_matching(
    account: &str,
    q: &ScimQuery<UserField>,
) -> Result<users::BoxedQuery<'static, crate::connection::MultiBackend>, StoreError> {
    let query = members_of(account);
    Ok(match &q.filter {
        Some(filter) => query.filter(user_pred(filter, account)?),
        None => query,
    })
}

/// How many members match `q`, of which a page found `found`.
fn page_total(
    conn: &mut AnyConnection,
    account: &str,
    q: &ScimQuery<UserField>,
    found: usize,
) -> Result<i64, StoreError> {
    Ok(
        if q.offset <= 0 && q.limit > 0 && found < to_usize(q.limit) {
            // A first page that is not full holds every match: the count is its
            // length. This is the answer to every lookup an IdP makes (`userName eq`),
            // which so costs one query.
            i64::try_from(found).unwrap_or(i64::MAX)
        } else if q.filter.is_none() {
            // Without a filter the count is the account's member count, kept by
            // triggers (the index range of a large account is too long to count on
            // every page).
            crate::account::member_count(conn, account)?
        } else {
            members_matching(account, q)?
                .count()
                .get_result::<i64>(conn)?
        },
    )
}

fn sort_users(
    query: users::BoxedQuery<'static, crate::connection::MultiBackend>,
    field: UserField,
    ascending: bool,
) -> users::BoxedQuery<'static, crate::connection::MultiBackend> {
    macro_rules! by {
        ($col:expr) => {
            if ascending {
                query.order_by($col.asc())
            } else {
                query.order_by($col.desc())
            }
        };
    }
    // Unassigned values last when ascending, first when descending, on both backends
    // (RFC 7644 §3.4.2.3): ordered by whether the value is unassigned, then by it.
    macro_rules! by_optional {
        ($unassigned:expr, $col:expr) => {
            if ascending {
                query.order_by($unassigned.asc()).then_order_by($col.asc())
            } else {
                query
                    .order_by($unassigned.desc())
                    .then_order_by($col.desc())
            }
        };
    }
    match field {
        UserField::Id => by!(users::id),
        UserField::UserName => by!(users::email_lower),
        UserField::DisplayName => {
            by_optional!(users::display_name_lower.eq(""), users::display_name_lower)
        }
        UserField::Active => by!(users::active),
        UserField::Created => by!(users::created_at),
        UserField::LastModified => by!(users::updated_at),
        UserField::ExternalId => by_optional!(
            users::external_id.is_null().or(users::external_id.eq("")),
            users::external_id
        ),
    }
}
