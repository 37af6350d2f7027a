//! Filter parsing, printing and evaluation, table-driven.

use portcullis_scim::filter::{CompValue, CompareOp, Filter, FilterLimits, Lookup};
use portcullis_scim::schema::ResourceSchema;
use portcullis_scim::ScimType;
use serde_json::{json, Value};

/// Parses `input` and checks its canonical printing.
fn check_print(input: &str, expected: &str) {
    let f = Filter::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    assert_eq!(f.to_string(), expected, "{input}");
    assert_eq!(
        Filter::parse(&f.to_string()).ok(),
        Some(f),
        "{input} reparse"
    );
}

/// Checks that `input` is refused with `invalidFilter` and a detail containing `why`.
fn check_err(input: &str, why: &str) {
    let e = Filter::parse(input).expect_err(input);
    assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{input}");
    assert_eq!(e.status, 400);
    assert!(e.detail.contains(why), "{input}: {}", e.detail);
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "Bjensen-Ext",
        "userName": "Bjensen@Example.com",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\""
        },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        },
        "x-score": 7
    })
}

fn check(filter: &str, expected: bool) {
    let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    assert_eq!(
        f.matches(&user(), ResourceSchema::user()),
        expected,
        "{filter}"
    );
}

#[test]
fn operators() {
    check(r#"userName eq "bjensen@example.com""#, true);
    check(r#"userName eq "nobody""#, false);
    check(r#"userName ne "nobody""#, true);
    check(r#"userName ne "bjensen@example.com""#, false);
    check(r#"userName co "JENSEN""#, true);
    check(r#"userName co "smith""#, false);
    check(r#"userName sw "bj""#, true);
    check(r#"userName sw "je""#, false);
    check(r#"userName ew "example.com""#, true);
    check(r#"userName ew "example""#, false);
    check(r#"userName gt "a""#, true);
    check(r#"userName gt "c""#, false);
    check(r#"userName ge "bjensen@example.com""#, true);
    check(r#"userName lt "c""#, true);
    check(r#"userName lt "b""#, false);
    check(r#"userName le "bjensen@example.com""#, true);
    check("title pr", true);
    check("nickName pr", false);
    check("name pr", true);
    check("emails pr", true);
    check("addresses pr", false);
}

#[test]
fn case_exactness_follows_the_schema() {
    // userName is caseExact=false (Okta's upper-case lookup must match).
    check(r#"userName eq "BJENSEN@EXAMPLE.COM""#, true);
    // externalId and id are caseExact=true.
    check(r#"externalId eq "Bjensen-Ext""#, true);
    check(r#"externalId eq "bjensen-ext""#, false);
    check(r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false);
    check(r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true);
}

#[test]
fn names_and_operators_are_case_insensitive() {
    check(r#"USERNAME EQ "bjensen@example.com""#, true);
    check(r#"name.GIVENNAME Eq "barbara""#, true);
    check(r#"title Pr AND active EQ TRUE"#, true);
    check(
        r#"NOT (title pr) OR userName eq "bjensen@example.com""#,
        true,
    );
}

#[test]
fn literals_and_types() {
    check("active eq true", true);
    check("active eq false", false);
    check("active ne false", true);
    check(r#"active eq "True""#, true);
    check("nickName eq null", true);
    check("title eq null", false);
    check("title ne null", true);
    check("x-score gt 5", true);
    check("x-score eq 7.0", true);
    check("x-score le 6", false);
    check(r#"x-score ge "7""#, true);
    check(r#"title eq "Tour \"Guide\"""#, false);
    check(r#"title eq "Tour\u0020Guide""#, true);
}

#[test]
fn date_times_compare_as_instants() {
    check(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false);
    check(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true);
    check(r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#, true);
    check(r#"meta.lastModified lt "2011-05-13T06:42:35+02:00""#, true);
    check(r#"meta.created lt "2011-01-01T00:00:00.000Z""#, true);
    check(r#"meta.created sw "2010-01""#, true);
}

#[test]
fn logic_and_precedence() {
    // and binds tighter than or.
    check(r#"title eq "x" and title eq "y" or userName pr"#, true);
    check(r#"title eq "x" and (title eq "y" or userName pr)"#, false);
    check(r#"userName pr or title eq "x" and title eq "y""#, true);
    check(r#"not (userName pr)"#, false);
    check(r#"not(userName pr)"#, false);
    check(r#"not (not (userName pr))"#, true);
    check(r#"((userName pr))"#, true);
    check_print("a pr or b pr and c pr", "a pr or b pr and c pr");
    check_print("(a pr or b pr) and c pr", "(a pr or b pr) and c pr");
    check_print("a pr and (b pr and c pr)", "a pr and (b pr and c pr)");
    check_print("a pr or (b pr or c pr)", "a pr or (b pr or c pr)");
    check_print("(a pr or b pr) or c pr", "a pr or b pr or c pr");
    check_print("not(a pr)", "not (a pr)");
    check_print("a  EQ   \"x\"", "a eq \"x\"");
}

#[test]
fn paths() {
    check(r#"name.familyName eq "jensen""#, true);
    check(r#"emails.type eq "home""#, true);
    check(r#"emails co "@jensen.org""#, true);
    check(r#"emails.value ew ".org""#, true);
    check(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "B""#,
        true,
    );
    check(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "Barbara""#,
        true,
    );
    check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
        true,
    );
    check(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        true,
    );
    check(r#"employeeNumber eq "701984""#, true);
    check(r#"unknownThing eq "x""#, false);
    check(r#"unknownThing ne "x""#, true);
}

#[test]
fn value_paths() {
    check(r#"emails[type eq "work"]"#, true);
    check(r#"emails[type eq "other"]"#, false);
    check(
        r#"emails[type eq "work" and value co "@example.com"]"#,
        true,
    );
    check(
        r#"emails[type eq "home" and value co "@example.com"]"#,
        false,
    );
    check(r#"emails[type eq "home" or primary eq true]"#, true);
    check(r#"emails[not (type eq "work")]"#, true);
    check(r#"emails[primary eq "True"]"#, true);
    // Entra ID's matching filter.
    check(
        r#"emails[type eq "work"].value eq "BJENSEN@example.com""#,
        true,
    );
    check(
        r#"emails[type eq "home"].value eq "bjensen@example.com""#,
        false,
    );
    check(r#"emails[type eq "work"] and userName pr"#, true);
    check(r#"phoneNumbers[type eq "work" and value sw "555"]"#, true);
    check_print(
        r#"emails[type eq "work"].value eq "x""#,
        r#"emails[type eq "work" and value eq "x"]"#,
    );
}

#[test]
fn idp_filters() {
    // Okta's existence checks and Entra ID's, including Entra's unquoted value (a leniency).
    check(r#"userName eq "bjensen@example.com""#, true);
    check(r#"externalId eq Bjensen-Ext"#, true);
    check_print("externalId eq jyoung", r#"externalId eq "jyoung""#);
    check_print("externalId eq 12345", "externalId eq 12345");
    // Found by fuzzing: long floats must survive printing and parsing again.
    check_print(
        &format!("t ne 4{}1", "4".repeat(76)),
        "t ne 4.4444444444444443e+77",
    );
    check_print("t eq 1e400", r#"t eq "1e400""#);
    check(
        r#"id eq "2819c223-7f76-453a-919d-413861904646" and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        true,
    );
}

#[test]
fn parse_errors_say_where_and_why() {
    check_err("", "empty");
    check_err("userName", "at position 8");
    check_err("userName eq", "at position 11");
    check_err(r#"userName zz "x""#, "expected an operator");
    check_err(r#"userName eq "x" and"#, "attribute path");
    check_err(r#"userName eq "x" garbage"#, "at position 16");
    check_err(r#"(userName eq "x""#, "expected `)`");
    check_err(r#"emails[type eq "work""#, "expected `]`");
    check_err(r#"emails[type[value pr]]"#, "cannot be nested");
    check_err(r#"userName eq "unterminated"#, "unterminated string");
    check_err(r#"userName eq "bad \x escape""#, "invalid string literal");
    check_err(r#"1abc eq "x""#, "not an attribute path");
    check_err(r#"a.b.c eq "x""#, "sub-attribute");
    check_err("userName eq\"x\"", "space");
}

#[test]
fn limits() {
    let limits = FilterLimits {
        max_length: 40,
        max_depth: 3,
        max_clauses: 3,
    };
    let err = |s: &str| Filter::parse_with(s, &limits).expect_err(s).detail;
    assert!(err(&format!("userName eq \"{}\"", "x".repeat(40))).contains("limit is 40"));
    assert!(err("((((a pr))))").contains("deeper than 3"));
    assert!(err("a pr or b pr or c pr or d pr").contains("more than 3"));
    assert!(Filter::parse_with("(((a pr)))", &limits).is_ok());
    let deep = format!("{}a pr{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(Filter::parse_with(
        &deep,
        &FilterLimits {
            max_length: usize::MAX,
            ..limits
        }
    )
    .is_err());
    let nots = "not (".repeat(1000);
    assert!(Filter::parse(&nots).is_err());
}

#[test]
fn validate_refuses_ordering_on_booleans() {
    let schema = ResourceSchema::user();
    let f = Filter::parse("active gt true").unwrap();
    assert_eq!(
        f.validate(schema).unwrap_err().scim_type,
        Some(ScimType::InvalidFilter)
    );
    let f = Filter::parse(r#"emails[primary lt true]"#).unwrap();
    assert!(f.validate(schema).is_err());
    let f = Filter::parse(r#"userName gt "a" and meta.created lt "2020-01-01T00:00:00Z""#).unwrap();
    assert!(f.validate(schema).is_ok());
}

#[test]
fn equalities_recognise_idp_lookups() {
    let s = |v: &str| CompValue::String(v.to_owned());
    let f = Filter::parse(r#"userName eq "a@b.c""#).unwrap();
    let l = f.equalities().unwrap();
    assert!(
        matches!(&l[..], [Lookup::Attr { path, value }] if path.is("userName") && **value == s("a@b.c"))
    );

    let f = Filter::parse(r#"id eq "1" and manager eq "2""#).unwrap();
    assert_eq!(f.equalities().unwrap().len(), 2);

    let f = Filter::parse(r#"emails[type eq "work"].value eq "a@b.c""#).unwrap();
    let l = f.equalities().unwrap();
    let [Lookup::Element { attr, conditions }] = &l[..] else {
        panic!("{l:?}")
    };
    assert!(attr.is("emails"));
    assert!(conditions[0].0.is("type") && *conditions[0].1 == s("work"));
    assert!(conditions[1].0.is("value") && *conditions[1].1 == s("a@b.c"));

    for other in [
        r#"userName co "a""#,
        r#"a eq "1" or b eq "2""#,
        "a pr",
        r#"not (a eq "1")"#,
    ] {
        assert_eq!(Filter::parse(other).unwrap().equalities(), None, "{other}");
    }
}

#[test]
fn paths_lists_every_attribute() {
    let f = Filter::parse(r#"userName eq "x" or emails[type eq "work"]"#).unwrap();
    let names: Vec<String> = f.paths().iter().map(|p| p.to_string()).collect();
    assert_eq!(names, ["userName", "emails", "type"]);
    assert_eq!(CompareOp::from_name("GE"), Some(CompareOp::Ge));
}
