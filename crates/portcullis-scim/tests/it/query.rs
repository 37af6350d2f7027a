//! List queries, SearchRequest bodies, sorting and ListResponse.

use portcullis_scim::list::ListResponse;
use portcullis_scim::path::AttrPath;
use portcullis_scim::query::{percent_decode, ListQuery, QueryLimits, SearchRequest, SortOrder};
use portcullis_scim::schema::ResourceSchema;
use portcullis_scim::sort::sort;
use portcullis_scim::ScimType;
use serde_json::{json, Value};

fn q(qs: &str) -> ListQuery {
    ListQuery::from_query_string(qs, &QueryLimits::default())
        .unwrap_or_else(|e| panic!("{qs}: {e}"))
}

fn check(qs: &str, start_index: usize, count: usize) {
    let got = q(qs);
    assert_eq!((got.start_index, got.count), (start_index, count), "{qs}");
}

#[test]
fn paging() {
    check("", 1, 100);
    check("startIndex=1&count=1", 1, 1);
    check("startIndex=0", 1, 100);
    check("startIndex=-5&count=-1", 1, 0);
    check("startIndex=11&count=5", 11, 5);
    check("count=100000", 1, 200);
    check("COUNT=3&StartIndex=2", 2, 3);
    check("count=0", 1, 0);
    assert_eq!(q("startIndex=11&count=5").offset(), 10);
    let e = ListQuery::from_query_string("count=ten", &QueryLimits::default()).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
}

#[test]
fn filters_from_query_strings() {
    // Okta's production existence check, encoded.
    let f = q("filter=userName%20eq%20%22x%40y%22&startIndex=1&count=100")
        .filter
        .unwrap();
    assert_eq!(f.to_string(), r#"userName eq "x@y""#);
    // `+` for spaces, as form encoding does.
    let f = q("filter=userName+eq+%22a%2Bb%40c%22").filter.unwrap();
    assert_eq!(f.to_string(), r#"userName eq "a+b@c""#);
    assert_eq!(q("filter=").filter, None);
    let e = ListQuery::from_query_string("filter=userName%20zz%20x", &QueryLimits::default())
        .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
    assert_eq!(percent_decode("a%2").unwrap(), "a%2");
    assert_eq!(percent_decode("%zz%41").unwrap(), "%zzA");
    assert!(percent_decode("%ff").is_err());
}

#[test]
fn sorting_and_attributes() {
    let got = q("sortBy=name.familyName&sortOrder=Descending&attributes=userName,%20emails.value&excludedAttributes=members");
    assert_eq!(
        got.sort_by,
        Some(AttrPath::parse("name.familyName").unwrap())
    );
    assert_eq!(got.sort_order, SortOrder::Descending);
    assert_eq!(got.attributes.len(), 2);
    assert_eq!(got.excluded_attributes[0].name, "members");
    assert!(ListQuery::from_query_string("sortOrder=up", &QueryLimits::default()).is_err());
    assert!(ListQuery::from_query_string("attributes=a..b", &QueryLimits::default()).is_err());
}

#[test]
fn cursors() {
    assert_eq!(q("cursor=&count=10").cursor.as_deref(), Some(""));
    assert_eq!(q("cursor=abc").cursor.as_deref(), Some("abc"));
    assert!(
        ListQuery::from_query_string("cursor=a&startIndex=1", &QueryLimits::default()).is_err()
    );
}

#[test]
fn search_requests() {
    let body: SearchRequest = serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "attributes": ["displayName", "userName"],
        "excludedAttributes": "emails,meta",
        "filter": "displayName sw \"smith\"",
        "startIndex": 0, "count": 10, "sortOrder": "ascending"
    }))
    .unwrap();
    let got = ListQuery::from_search_request(&body, &QueryLimits::default()).unwrap();
    assert_eq!((got.start_index, got.count), (1, 10));
    assert_eq!(got.attributes.len(), 2);
    assert_eq!(got.excluded_attributes.len(), 2);
    assert!(got.filter.is_some());
}

#[test]
fn sort_by_schema() {
    let users = ResourceSchema::user();
    let mut rs: Vec<Value> = vec![
        json!({"userName": "b", "meta": {"created": "2020-01-01T10:00:00+02:00"}, "emails": [{"value": "z"}, {"value": "a", "primary": true}]}),
        json!({"userName": "C", "meta": {"created": "2020-01-01T09:00:00Z"}}),
        json!({"userName": "a", "meta": {"created": "2020-01-01T08:30:00Z"}, "emails": [{"value": "m"}]}),
    ];
    let names = |rs: &[Value]| {
        rs.iter()
            .map(|r| r["userName"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    sort(
        &mut rs,
        &AttrPath::parse("userName").unwrap(),
        SortOrder::Ascending,
        users,
    );
    assert_eq!(names(&rs), ["a", "b", "C"]);
    sort(
        &mut rs,
        &AttrPath::parse("userName").unwrap(),
        SortOrder::Descending,
        users,
    );
    assert_eq!(names(&rs), ["C", "b", "a"]);
    // 10:00+02:00 is 08:00Z: earliest.
    sort(
        &mut rs,
        &AttrPath::parse("meta.created").unwrap(),
        SortOrder::Ascending,
        users,
    );
    assert_eq!(names(&rs), ["b", "a", "C"]);
    // The primary email sorts; missing values last.
    sort(
        &mut rs,
        &AttrPath::parse("emails").unwrap(),
        SortOrder::Ascending,
        users,
    );
    assert_eq!(names(&rs), ["b", "a", "C"]);
}

#[test]
fn list_response() {
    let page = ListResponse::new(vec![json!({"id": "1"})], 11, 6);
    assert_eq!(
        page.to_json(),
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 11, "itemsPerPage": 1, "startIndex": 6, "Resources": [{"id": "1"}]
        })
    );
    let empty: ListResponse = ListResponse::new(vec![], 0, 1);
    assert_eq!(empty.to_json()["Resources"], json!([]));
    let cursor = ListResponse::with_cursors(vec![json!({})], 5, Some("n".into()), None);
    let j = cursor.to_json();
    assert_eq!((j.get("startIndex"), &j["nextCursor"]), (None, &json!("n")));
}
