//! The ListResponse message (RFC 7644 §3.4.2, RFC 9865 cursors).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The URN of the ListResponse message.
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// A page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T = Value> {
    /// `[LIST_RESPONSE_SCHEMA]`.
    pub schemas: Vec<String>,
    /// All results matching the query, not just this page.
    pub total_results: usize,
    /// The number of resources in this page.
    pub items_per_page: usize,
    /// The 1-based index of the first resource (index paging only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_index: Option<usize>,
    /// The resources.
    #[serde(rename = "Resources")]
    pub resources: Vec<T>,
    /// The cursor of the next page (RFC 9865).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The cursor of the previous page (RFC 9865).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_cursor: Option<String>,
}

impl<T> ListResponse<T> {
    /// A page for index paging.
    pub fn new(resources: Vec<T>, total_results: usize, start_index: usize) -> Self {
        ListResponse {
            schemas: vec![LIST_RESPONSE_SCHEMA.to_owned()],
            total_results,
            items_per_page: resources.len(),
            start_index: Some(start_index),
            resources,
            next_cursor: None,
            previous_cursor: None,
        }
    }

    /// A page for cursor paging.
    pub fn with_cursors(
        resources: Vec<T>,
        total_results: usize,
        next_cursor: Option<String>,
        previous_cursor: Option<String>,
    ) -> Self {
        ListResponse {
            start_index: None,
            next_cursor,
            previous_cursor,
            ..Self::new(resources, total_results, 1)
        }
    }
}

impl<T: Serialize> ListResponse<T> {
    /// The message as JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
