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

/// The ListResponse text of an index-paged page whose resources already are JSON texts
/// (as [`crate::render`] writes them), each copied as it is: without the parse a
/// [`serde_json::value::RawValue`] of each would cost. Each text must be one JSON value.
pub fn page_text(
    resources: &[String],
    total_results: usize,
    start_index: usize,
) -> Result<String, serde_json::Error> {
    let mut head = ListResponse::<Value>::new(Vec::new(), total_results, start_index);
    head.items_per_page = resources.len();
    let text = serde_json::to_string(&head)?;
    // Without cursors, `Resources` is the last member: the text ends `[]}`.
    let Some(open) = text.strip_suffix("]}") else {
        return Ok(text);
    };
    let mut out =
        String::with_capacity(text.len() + resources.iter().map(|r| r.len() + 1).sum::<usize>());
    out.push_str(open);
    for (i, resource) in resources.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(resource);
    }
    out.push_str("]}");
    Ok(out)
}

impl<T: Serialize> ListResponse<T> {
    /// The message as JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn page_text_is_the_list_response_of_its_resources() {
        let resources = [
            json!({"id": "1", "userName": "a@x", "name": {"givenName": "\"A\""}}),
            json!({"id": "2", "emails": [{"value": "b@x"}]}),
        ];
        for n in 0..=resources.len() {
            let texts: Vec<String> = resources[..n].iter().map(Value::to_string).collect();
            let text = page_text(&texts, 7, 3).unwrap();
            let expected = ListResponse::new(resources[..n].to_vec(), 7, 3);
            assert_eq!(
                serde_json::from_str::<Value>(&text).unwrap(),
                expected.to_json()
            );
            assert_eq!(text, serde_json::to_string(&expected).unwrap());
        }
    }
}
