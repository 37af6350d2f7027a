//! SCIM persistence: users with their SCIM attributes and a version for ETags, groups and
//! their members, typed filters translated into SQL, and stable paging with exact totals.

pub(crate) mod bookmarks;
pub(crate) mod emails;
pub(crate) mod etags;
pub(crate) mod filter;
pub(crate) mod groups;
#[cfg(test)]
mod plans;
pub(crate) mod shown;
pub(crate) mod users;

pub use filter::{
    CompareOp, EmailField, Filter, FilterValue, GroupField, GroupFilter, UserField, UserFilter,
};
pub use groups::{MemberChange, ScimGroupRow};
pub use shown::{PageMember, ScimUserShown};
pub use users::{ScimUserRow, ScimUserWithGroups};

/// One page of a SCIM listing: an optional filter, an optional sort, and the page.
///
/// Rows always come in a stable order — the sort field when given, then creation time,
/// then id — so consecutive pages neither overlap nor skip, and the total is an exact
/// `COUNT` over the same filter.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimQuery<F> {
    /// Only rows matching this filter.
    pub filter: Option<Filter<F>>,
    /// Sort by this field; `true` for ascending. Unassigned values (`NULL`, or empty)
    /// sort last when ascending and first when descending (RFC 7644 §3.4.2.3), on both
    /// backends.
    pub sort: Option<(F, bool)>,
    /// Rows to skip (SCIM `startIndex` minus one).
    pub offset: i64,
    /// Most rows to return (SCIM `count`).
    pub limit: i64,
}

impl<F> ScimQuery<F> {
    /// Every row, first page of `limit`.
    pub fn page(offset: i64, limit: i64) -> Self {
        Self {
            filter: None,
            sort: None,
            offset,
            limit,
        }
    }

    /// The same query with a filter.
    pub fn filtered(mut self, filter: Filter<F>) -> Self {
        self.filter = Some(filter);
        self
    }
}
