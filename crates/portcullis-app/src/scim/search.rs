//! Listing and searching (`GET /Users`, `GET /Groups`, `POST …/.search`, `POST /.search`):
//! filtering, sorting and paging in the database, with the bounded in-memory fallback
//! described in [`super::filter`].

use std::collections::HashMap;

use portcullis_domain::{GroupId, UserId};
use portcullis_scim::filter::Filter as ScimFilter;
use portcullis_scim::list::{self, ListResponse};
use portcullis_scim::projection;
use portcullis_scim::query::{ListQuery, SortOrder};
use portcullis_scim::schema::ResourceSchema;
use portcullis_scim::{sort, ScimError};
use portcullis_store::{
    CompareOp, EmailField, Filter as StoreFilter, FilterValue, KnownKey, PageMember, ScimQuery,
    ScimUserRow, Store, UserField,
};
use serde_json::Value;

use super::filter::{self, FALLBACK_LIMIT};
use super::mapping::{self, group_resource, user_resource, user_text};
use super::{store_error, Ctx};
use crate::AppError;

/// One page of resources (unprojected) and the exact total.
pub struct Page {
    /// The resources of the page.
    pub resources: Vec<Value>,
    /// How many match in all.
    pub total: usize,
}

fn too_broad() -> AppError {
    AppError::Scim(ScimError::too_many(format!(
        "this filter or sort cannot run in the database and matches more than \
         {FALLBACK_LIMIT} resources; narrow it with userName, externalId, id, displayName, \
         active or emails (emails[type eq \"work\"].value)"
    )))
}

/// [`list::page_text`], failures as internal errors.
fn page_text(resources: &[String], total: usize, start_index: usize) -> Result<String, AppError> {
    list::page_text(resources, total, start_index).map_err(|e| AppError::Internal(e.to_string()))
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Evaluates `filter`, sorts and pages in memory (the fallback).
fn in_memory(
    mut all: Vec<Value>,
    filter: Option<&ScimFilter>,
    q: &ListQuery,
    schema: &ResourceSchema,
) -> Page {
    if let Some(f) = filter {
        all.retain(|r| f.matches(r, schema));
    }
    if let Some(by) = &q.sort_by {
        sort::sort(&mut all, by, q.sort_order, schema);
    }
    let total = all.len();
    let resources = all.into_iter().skip(q.offset()).take(q.count).collect();
    Page { resources, total }
}

/// Whether a user query is a lookup of a few members through a selective index: unsorted,
/// and its filter, as [`filter::users`] translates it, a conjunction one of whose
/// terms is an equality on `id`, `userName`, `externalId` or an email's value (what IdPs
/// send before every create and update). Such a query costs the same at any account
/// size, so it may run as a short read.
pub fn user_lookup(q: &ListQuery) -> bool {
    fn narrows(f: &StoreFilter<UserField>) -> bool {
        match f {
            StoreFilter::And(a, b) => narrows(a) || narrows(b),
            StoreFilter::Compare(
                UserField::Id | UserField::UserName | UserField::ExternalId,
                CompareOp::Eq,
                FilterValue::Str(_),
            ) => true,
            StoreFilter::AnyEmail(e) => email_narrows(e),
            _ => false,
        }
    }
    fn email_narrows(f: &StoreFilter<EmailField>) -> bool {
        match f {
            StoreFilter::And(a, b) => email_narrows(a) || email_narrows(b),
            StoreFilter::Compare(EmailField::Value, CompareOp::Eq, FilterValue::Str(_)) => true,
            _ => false,
        }
    }
    q.sort_by.is_none()
        && q.filter
            .as_ref()
            .and_then(|f| filter::users(f).filter)
            .is_some_and(|f| narrows(&f))
}

/// The members of a page the database filters, sorts and pages by itself, with their
/// groups, and how many match in all.
struct MemberPage {
    rows: Vec<ScimUserRow>,
    groups: HashMap<UserId, Vec<(GroupId, String)>>,
    total: usize,
}

impl MemberPage {
    fn groups_of(&self, row: &ScimUserRow) -> &[(GroupId, String)] {
        self.groups
            .get(&row.user.id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// The page of `q` when the database can answer it whole (its filter and sort translate
/// exactly); `Ok(None)` when the in-memory fallback must finish it, with the translated
/// pre-filter it starts from.
fn members_in_database(
    store: &Store,
    ctx: &Ctx,
    q: &ListQuery,
) -> Result<Result<MemberPage, Option<StoreFilter<UserField>>>, AppError> {
    if let Some(f) = &q.filter {
        f.validate(ResourceSchema::user()).map_err(AppError::Scim)?;
    }
    let translated = q.filter.as_ref().map(filter::users);
    let (pre, exact) = match translated {
        Some(t) => (t.filter, t.exact),
        None => (None, true),
    };
    let sort = match &q.sort_by {
        None => Some(None),
        Some(p) => filter::user_field(p).map(|f| Some((f, q.sort_order == SortOrder::Ascending))),
    };
    let (true, Some(sort)) = (exact, sort) else {
        return Ok(Err(pre));
    };
    let query = ScimQuery {
        filter: pre,
        sort,
        offset: to_i64(q.offset()),
        limit: to_i64(q.count),
    };
    let (rows, total) = store
        .list_scim_users(ctx.account, &query)
        .map_err(store_error)?;
    let ids: Vec<_> = rows.iter().map(|r| r.user.id).collect();
    let groups = store
        .groups_of_users(ctx.account, &ids)
        .map_err(store_error)?;
    Ok(Ok(MemberPage {
        rows,
        groups,
        total: usize::try_from(total).unwrap_or(0),
    }))
}

/// The ListResponse of `q` over the account's members as JSON text, each member written
/// by [`super::mapping::user_text`] (or projected, where it declines), when `q` selects
/// no attributes and the database answers it whole; `None` otherwise, for [`users`] and
/// [`list_response`].
pub fn users_text(store: &Store, ctx: &Ctx, q: &ListQuery) -> Result<Option<String>, AppError> {
    if !q.attributes.is_empty() || !q.excluded_attributes.is_empty() {
        return Ok(None);
    }
    if let Some(text) = shown_page(store, ctx, q)? {
        return Ok(Some(text));
    }
    let Ok(page) = members_in_database(store, ctx, q)? else {
        return Ok(None);
    };
    let resources: Vec<String> = page
        .rows
        .iter()
        .map(|row| member_text(row, page.groups_of(row), &ctx.base))
        .collect();
    page_text(&resources, page.total, q.start_index).map(Some)
}

/// A member of a list as JSON text: written by [`super::mapping::user_text`], or projected
/// where it declines.
fn member_text(row: &ScimUserRow, groups: &[(GroupId, String)], base: &str) -> String {
    user_text(row, groups, base).unwrap_or_else(|| {
        projection::project_owned(
            user_resource(row, groups, base),
            ResourceSchema::user(),
            &[],
            &[],
        )
        .to_string()
    })
}

/// [`users_text`] of a page of the account's whole list (no filter, no sort), written
/// from the members' columns and stored views ([`Store::scim_users_page_shown`],
/// [`mapping::shown_text`]) and, for members without a view, from their whole rows
/// ([`member_text`]); `None` for every other query and for pages with a view that is not
/// an object's text, which [`users_text`] then reads whole.
fn shown_page(store: &Store, ctx: &Ctx, q: &ListQuery) -> Result<Option<String>, AppError> {
    if q.filter.is_some() || q.sort_by.is_some() {
        return Ok(None);
    }
    let query = ScimQuery::page(to_i64(q.offset()), to_i64(q.count));
    let Some((members, total)) = store
        .scim_users_page_shown(ctx.account, &query)
        .map_err(store_error)?
    else {
        return Ok(None);
    };
    let texts: Option<Vec<String>> = members
        .iter()
        .map(|member| match member {
            PageMember::Shown(shown) => mapping::shown_text(shown, &ctx.base),
            PageMember::Whole(row, groups) => Some(member_text(row, groups, &ctx.base)),
        })
        .collect();
    let Some(texts) = texts else {
        return Ok(None);
    };
    page_text(&texts, usize::try_from(total).unwrap_or(0), q.start_index).map(Some)
}

/// A lookup of a few members by a key kept in memory ([`KnownKey::lookup_scim_users_shown`]:
/// the first page of an unsorted `userName`, `id`, `externalId` or work email `eq`)
/// written from the members' columns and stored views ([`mapping::shown_text`]) as a
/// list, when `q` selects no attributes. `None` for every other query and for lookups the
/// store leaves to [`users_text`].
pub fn shown_lookup(
    known: &KnownKey<'_>,
    ctx: &Ctx,
    q: &ListQuery,
) -> Result<Option<String>, AppError> {
    if !q.attributes.is_empty() || !q.excluded_attributes.is_empty() {
        return Ok(None);
    }
    let Some(filter) = &q.filter else {
        return Ok(None);
    };
    if q.sort_by.is_some() {
        return Ok(None);
    }
    // A bad filter is refused by `users_text`, after the full check of the key: the key
    // in memory is not known good until the lookup's statement has checked the epoch.
    if filter.validate(ResourceSchema::user()).is_err() {
        return Ok(None);
    }
    let translated = filter::users(filter);
    let (true, Some(pre)) = (translated.exact, translated.filter) else {
        return Ok(None);
    };
    let query = ScimQuery {
        filter: Some(pre),
        sort: None,
        offset: to_i64(q.offset()),
        limit: to_i64(q.count),
    };
    let Some(members) = known
        .lookup_scim_users_shown(ctx.account, &query)
        .map_err(store_error)?
    else {
        return Ok(None);
    };
    let mut resources = Vec::with_capacity(members.len());
    for member in &members {
        let Some(text) = mapping::shown_text(member, &ctx.base) else {
            return Ok(None);
        };
        resources.push(text);
    }
    page_text(&resources, members.len(), q.start_index).map(Some)
}

/// A page of the account's members.
pub fn users(store: &Store, ctx: &Ctx, q: &ListQuery) -> Result<Page, AppError> {
    let schema = ResourceSchema::user();
    let pre = match members_in_database(store, ctx, q)? {
        Ok(page) => {
            let resources = page
                .rows
                .iter()
                .map(|r| user_resource(r, page.groups_of(r), &ctx.base))
                .collect();
            return Ok(Page {
                resources,
                total: page.total,
            });
        }
        Err(pre) => pre,
    };
    let query = ScimQuery {
        filter: pre,
        sort: None,
        offset: 0,
        limit: FALLBACK_LIMIT + 1,
    };
    let (rows, _) = store
        .list_scim_users(ctx.account, &query)
        .map_err(store_error)?;
    if to_i64(rows.len()) > FALLBACK_LIMIT {
        return Err(too_broad());
    }
    let ids: Vec<_> = rows.iter().map(|r| r.user.id).collect();
    let groups = store
        .groups_of_users(ctx.account, &ids)
        .map_err(store_error)?;
    let all = rows
        .iter()
        .map(|r| {
            let g = groups.get(&r.user.id).map(Vec::as_slice).unwrap_or(&[]);
            user_resource(r, g, &ctx.base)
        })
        .collect();
    Ok(in_memory(all, q.filter.as_ref(), q, schema))
}

/// Whether the response will show `members` (so they need loading).
pub fn shows_members(q: &ListQuery) -> bool {
    let named = |list: &[portcullis_scim::path::AttrPath]| {
        list.iter().any(|p| p.name.eq_ignore_ascii_case("members"))
    };
    if named(&q.excluded_attributes) {
        return false;
    }
    q.attributes.is_empty() || named(&q.attributes)
}

/// A page of the account's groups.
pub fn groups(store: &Store, ctx: &Ctx, q: &ListQuery) -> Result<Page, AppError> {
    let schema = ResourceSchema::group();
    if let Some(f) = &q.filter {
        f.validate(schema).map_err(AppError::Scim)?;
    }
    let translated = q.filter.as_ref().map(filter::groups);
    let (pre, exact) = match translated {
        Some(t) => (t.filter, t.exact),
        None => (None, true),
    };
    let sort = match &q.sort_by {
        None => Some(None),
        Some(p) => filter::group_field(p).map(|f| Some((f, q.sort_order == SortOrder::Ascending))),
    };
    let (query, fallback) = match (exact, sort) {
        (true, Some(sort)) => (
            ScimQuery {
                filter: pre,
                sort,
                offset: to_i64(q.offset()),
                limit: to_i64(q.count),
            },
            false,
        ),
        _ => (
            ScimQuery {
                filter: pre,
                sort: None,
                offset: 0,
                limit: FALLBACK_LIMIT + 1,
            },
            true,
        ),
    };
    let (rows, total) = store
        .list_scim_groups(ctx.account, &query)
        .map_err(store_error)?;
    if fallback && to_i64(rows.len()) > FALLBACK_LIMIT {
        return Err(too_broad());
    }
    let with_members = fallback || shows_members(q);
    let members = if with_members {
        let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
        store
            .members_of_groups(ctx.account, &ids)
            .map_err(store_error)?
    } else {
        Default::default()
    };
    let resources: Vec<Value> = rows
        .iter()
        .map(|r| {
            let m = with_members.then(|| members.get(&r.id).map(Vec::as_slice).unwrap_or(&[]));
            group_resource(r, m, &ctx.base)
        })
        .collect();
    if fallback {
        return Ok(in_memory(resources, q.filter.as_ref(), q, schema));
    }
    Ok(Page {
        resources,
        total: usize::try_from(total).unwrap_or(0),
    })
}

/// The ListResponse of a page, each resource projected as the query asks.
pub fn list_response(page: Page, q: &ListQuery, schema: &ResourceSchema) -> Value {
    let resources = page
        .resources
        .into_iter()
        .map(|r| projection::project_owned(r, schema, &q.attributes, &q.excluded_attributes))
        .collect();
    ListResponse::new(resources, page.total, q.start_index).to_json()
}

/// `POST /.search` over users then groups: one result list, paged across both. Each
/// type's filter must make sense for it: attributes a type does not have match nothing.
pub fn root(store: &Store, ctx: &Ctx, q: &ListQuery) -> Result<Value, AppError> {
    let user_schema = ResourceSchema::user();
    let group_schema = ResourceSchema::group();
    let count_only = |q: &ListQuery| ListQuery {
        start_index: 1,
        count: 0,
        ..q.clone()
    };
    let valid =
        |schema: &ResourceSchema| q.filter.as_ref().is_none_or(|f| f.validate(schema).is_ok());
    let user_total = if valid(user_schema) {
        users(store, ctx, &count_only(q))?.total
    } else {
        0
    };
    let mut out: Vec<Value> = Vec::new();
    if valid(user_schema) && q.offset() < user_total {
        for r in users(store, ctx, q)?.resources {
            out.push(projection::project_owned(
                r,
                user_schema,
                &q.attributes,
                &q.excluded_attributes,
            ));
        }
    }
    let mut group_total = 0;
    if valid(group_schema) {
        let group_q = ListQuery {
            start_index: q.offset().saturating_sub(user_total) + 1,
            count: q.count - out.len(),
            ..q.clone()
        };
        let page = groups(store, ctx, &group_q)?;
        group_total = page.total;
        for r in page.resources {
            out.push(projection::project_owned(
                r,
                group_schema,
                &q.attributes,
                &q.excluded_attributes,
            ));
        }
    }
    if !valid(user_schema) && !valid(group_schema) {
        if let Some(f) = &q.filter {
            f.validate(user_schema).map_err(AppError::Scim)?;
        }
    }
    Ok(ListResponse::new(out, user_total + group_total, q.start_index).to_json())
}

#[cfg(test)]
mod tests {
    use portcullis_scim::query::{ListQuery, QueryLimits};

    use super::user_lookup;

    fn query(filter: &str, extra: &str) -> ListQuery {
        let qs = format!(
            "filter={}{extra}",
            url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
        );
        ListQuery::from_query_string(&qs, &QueryLimits::default())
            .unwrap_or_else(|e| panic!("{filter}: {e:?}"))
    }

    #[test]
    fn lookups_are_equalities_on_selective_indexes() {
        for filter in [
            r#"userName eq "a@example.com""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a@example.com""#,
            r#"externalId eq "00u1""#,
            r#"id eq "0a1b""#,
            r#"emails[type eq "work"].value eq "a@example.com""#,
            r#"emails[type eq "WORK" and value eq "a@example.com"]"#,
            r#"emails[type eq "home"].value eq "a@example.com""#,
            r#"emails.value eq "a@example.com""#,
            r#"userName eq "a@example.com" and active eq true"#,
            r#"active eq true and externalId eq "00u1""#,
        ] {
            assert!(user_lookup(&query(filter, "")), "{filter}");
        }
        for (filter, extra) in [
            (r#"userName sw "a""#, ""),
            (r#"userName eq "a@example.com" or externalId eq "x""#, ""),
            (r#"displayName eq "Ann""#, ""),
            (r#"active eq true"#, ""),
            (r#"title eq "CEO""#, ""),
            (r#"not (userName eq "a@example.com")"#, ""),
            (r#"userName eq "a@example.com""#, "&sortBy=displayName"),
            (r#"userName eq 5"#, ""),
            (r#"emails[type eq "work"].value eq true"#, ""),
        ] {
            assert!(!user_lookup(&query(filter, extra)), "{filter}{extra}");
        }
        let unfiltered = ListQuery::from_query_string("count=5", &QueryLimits::default())
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!user_lookup(&unfiltered));
    }
}
