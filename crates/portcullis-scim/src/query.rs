//! List and search requests (RFC 7644 §3.4.2, §3.4.3; cursors per RFC 9865), parsed from a
//! URL query string or a `POST …/.search` body into one [`ListQuery`].
//!
//! ```
//! use portcullis_scim::query::{ListQuery, QueryLimits};
//!
//! let q = ListQuery::from_query_string(
//!     "filter=userName%20eq%20%22a%40b.c%22&startIndex=0&count=500&excludedAttributes=members",
//!     &QueryLimits::default(),
//! )?;
//! assert_eq!(q.filter.unwrap().to_string(), r#"userName eq "a@b.c""#);
//! assert_eq!((q.start_index, q.count), (1, 200)); // startIndex < 1 means 1; count is capped.
//! assert_eq!(q.excluded_attributes[0].to_string(), "members");
//! # Ok::<(), portcullis_scim::ScimError>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::error::ScimError;
use crate::filter::{Filter, FilterLimits};
use crate::path::AttrPath;

/// The URN of the SearchRequest message.
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// `ascending` (the default).
    #[default]
    Ascending,
    /// `descending`.
    Descending,
}

/// Limits and defaults for list requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// The page size when the client gives no `count`.
    pub default_count: usize,
    /// The largest page (`filter.maxResults` in the ServiceProviderConfig).
    pub max_count: usize,
    /// Limits on the filter.
    pub filter: FilterLimits,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            default_count: 100,
            max_count: 200,
            filter: FilterLimits::default(),
        }
    }
}

/// A parsed list or search request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListQuery {
    /// The filter.
    pub filter: Option<Filter>,
    /// The 1-based index of the first result (index paging).
    pub start_index: usize,
    /// The page size, already capped by [`QueryLimits::max_count`].
    pub count: usize,
    /// RFC 9865 cursor paging: `Some("")` asks for the first page, `Some(c)` for the page
    /// at cursor `c`; `None` means index paging.
    pub cursor: Option<String>,
    /// The sort attribute.
    pub sort_by: Option<AttrPath>,
    /// The sort direction.
    pub sort_order: SortOrder,
    /// `attributes`.
    pub attributes: Vec<AttrPath>,
    /// `excludedAttributes`.
    pub excluded_attributes: Vec<AttrPath>,
}

/// A `POST …/.search` body (RFC 7644 §3.4.3).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    /// `[SEARCH_REQUEST_SCHEMA]`; not checked on input.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// Attributes to return (a JSON array, or leniently a comma-separated string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<StringList>,
    /// Attributes to leave out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_attributes: Option<StringList>,
    /// The filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The sort attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    /// `ascending` or `descending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<String>,
    /// 1-based start index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<i64>,
    /// Page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// RFC 9865 cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A list of attribute names: a JSON array or a comma-separated string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StringList {
    /// `["a", "b"]`.
    List(Vec<String>),
    /// `"a,b"`.
    Joined(String),
}

impl StringList {
    fn items(&self) -> Vec<&str> {
        match self {
            StringList::List(v) => v.iter().map(String::as_str).collect(),
            StringList::Joined(s) => s.split(',').collect(),
        }
    }
}

fn attr_list(items: &[&str]) -> Result<Vec<AttrPath>, ScimError> {
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| AttrPath::parse(s).map_err(ScimError::invalid_value))
        .collect()
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte.
/// Malformed escapes are kept as they are; invalid UTF-8 is `invalidValue`.
pub fn percent_decode(s: &str) -> Result<String, ScimError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ScimError::invalid_value("the query string is not UTF-8"))
}

impl ListQuery {
    /// Parses a URL query string (without the `?`). Parameter names are case-insensitive;
    /// unknown parameters are ignored.
    pub fn from_query_string(qs: &str, limits: &QueryLimits) -> Result<ListQuery, ScimError> {
        let mut req = SearchRequest::default();
        let number = |name: &str, v: &str| {
            v.trim().parse::<i64>().map_err(|_| {
                ScimError::invalid_value(format!("`{name}` must be an integer, not `{v}`"))
            })
        };
        for pair in qs.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = percent_decode(k)?;
            let v = percent_decode(v)?;
            match k.to_ascii_lowercase().as_str() {
                "filter" => req.filter = Some(v),
                "startindex" => req.start_index = Some(number("startIndex", &v)?),
                "count" => req.count = Some(number("count", &v)?),
                "sortby" => req.sort_by = Some(v),
                "sortorder" => req.sort_order = Some(v),
                "attributes" => req.attributes = Some(StringList::Joined(v)),
                "excludedattributes" => req.excluded_attributes = Some(StringList::Joined(v)),
                "cursor" => req.cursor = Some(v),
                _ => {}
            }
        }
        Self::from_search_request(&req, limits)
    }

    /// Checks a SearchRequest body.
    pub fn from_search_request(
        req: &SearchRequest,
        limits: &QueryLimits,
    ) -> Result<ListQuery, ScimError> {
        let filter = match req.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(f) => Some(Filter::parse_with(f, &limits.filter)?),
        };
        if req.cursor.is_some() && req.start_index.is_some() {
            return Err(ScimError::invalid_value(
                "`cursor` and `startIndex` cannot be combined",
            ));
        }
        let count = match req.count {
            None => limits.default_count.min(limits.max_count),
            Some(c) => usize::try_from(c.max(0))
                .unwrap_or(usize::MAX)
                .min(limits.max_count),
        };
        let sort_order = match req.sort_order.as_deref().map(str::trim) {
            None | Some("") => SortOrder::Ascending,
            Some(s) if s.eq_ignore_ascii_case("ascending") => SortOrder::Ascending,
            Some(s) if s.eq_ignore_ascii_case("descending") => SortOrder::Descending,
            Some(s) => {
                return Err(ScimError::invalid_value(format!(
                    "`sortOrder` must be ascending or descending, not `{s}`"
                )))
            }
        };
        let sort_by = match req.sort_by.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(AttrPath::parse(s).map_err(ScimError::invalid_value)?),
        };
        let list = |l: &Option<StringList>| match l {
            None => Ok(Vec::new()),
            Some(l) => attr_list(&l.items()),
        };
        Ok(ListQuery {
            filter,
            start_index: usize::try_from(req.start_index.unwrap_or(1).max(1)).unwrap_or(1),
            count,
            cursor: req.cursor.clone(),
            sort_by,
            sort_order,
            attributes: list(&req.attributes)?,
            excluded_attributes: list(&req.excluded_attributes)?,
        })
    }

    /// The zero-based offset of the first result (index paging).
    pub fn offset(&self) -> usize {
        self.start_index - 1
    }
}
