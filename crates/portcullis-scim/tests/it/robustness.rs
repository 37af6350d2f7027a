//! Property and robustness tests without extra dependencies: a small deterministic PRNG
//! generates filters (printing then re-parsing must give the same AST) and mutates real IdP
//! inputs (every outcome must be a value or a well-formed 4xx SCIM error, never a panic).

use portcullis_scim::filter::{CompValue, CompareOp, Filter};
use portcullis_scim::patch::{apply, PatchLimits, PatchRequest};
use portcullis_scim::path::AttrPath;
use portcullis_scim::resource::prepare;
use portcullis_scim::schema::ResourceSchema;
use portcullis_scim::ScimError;
use serde_json::{json, Value};

/// xorshift64*: deterministic, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &[
    "userName", "name", "emails", "active", "x-y_z", "$ref", "a1", "not", "and", "or",
];
const URNS: &[&str] = &[
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
];
const OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Co,
    CompareOp::Sw,
    CompareOp::Ew,
    CompareOp::Gt,
    CompareOp::Ge,
    CompareOp::Lt,
    CompareOp::Le,
];

fn gen_path(rng: &mut Rng, allow_urn: bool) -> AttrPath {
    AttrPath {
        urn: (allow_urn && rng.below(4) == 0).then(|| (*rng.pick(URNS)).to_owned()),
        name: (*rng.pick(NAMES)).to_owned(),
        sub: (rng.below(3) == 0).then(|| (*rng.pick(NAMES)).to_owned()),
    }
}

fn gen_value(rng: &mut Rng) -> CompValue {
    match rng.below(6) {
        0 => CompValue::Null,
        1 => CompValue::Bool(rng.below(2) == 0),
        2 => CompValue::Number((rng.next() as i64 >> 20).into()),
        3 => CompValue::Number(
            serde_json::Number::from_f64((rng.next() % 10_000) as f64 / 8.0).unwrap(),
        ),
        _ => {
            let alphabet: Vec<char> = "ab \"\\/\u{e9}\u{1F600}\n\t]) ".chars().collect();
            let len = rng.below(8);
            CompValue::String((0..len).map(|_| *rng.pick(&alphabet)).collect())
        }
    }
}

fn gen_filter(rng: &mut Rng, depth: usize, in_value_path: bool) -> Filter {
    let leaf = depth == 0 || rng.below(3) == 0;
    if leaf {
        let path = gen_path(rng, !in_value_path);
        return if rng.below(5) == 0 {
            Filter::Present(path)
        } else {
            Filter::Compare(path, *rng.pick(OPS), gen_value(rng))
        };
    }
    match rng.below(if in_value_path { 3 } else { 4 }) {
        0 => Filter::and(
            gen_filter(rng, depth - 1, in_value_path),
            gen_filter(rng, depth - 1, in_value_path),
        ),
        1 => Filter::or(
            gen_filter(rng, depth - 1, in_value_path),
            gen_filter(rng, depth - 1, in_value_path),
        ),
        2 => Filter::Not(Box::new(gen_filter(rng, depth - 1, in_value_path))),
        _ => Filter::ValuePath(
            AttrPath::new(NAMES[rng.below(NAMES.len())]),
            Box::new(gen_filter(rng, depth - 1, true)),
        ),
    }
}

#[test]
fn printing_then_parsing_gives_the_same_filter() {
    let mut rng = Rng(0x5EED);
    for _ in 0..5000 {
        let f = gen_filter(&mut rng, 4, false);
        let printed = f.to_string();
        let reparsed = Filter::parse(&printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
        assert_eq!(reparsed, f, "{printed}");
    }
}

fn assert_scim_error(e: &ScimError, input: &str) {
    assert!(matches!(e.status, 400 | 409 | 413), "{input}: {e}");
    assert!(e.status == 413 || e.scim_type.is_some(), "{input}: {e}");
    assert!(!e.detail.is_empty());
}

fn mutate(rng: &mut Rng, seed: &str) -> String {
    const BITS: &[&str] = &[
        "(", ")", "[", "]", "\"", "\\", " ", ".", ":", "not ", " and ", " or ", "eq", "pr",
        "\u{0}", "\u{e9}", "urn:",
    ];
    let mut s: Vec<char> = seed.chars().collect();
    for _ in 0..=rng.below(4) {
        let at = rng.below(s.len() + 1);
        match rng.below(3) {
            0 if at < s.len() => {
                s.remove(at);
            }
            1 if at < s.len() => s[at] = rng.pick(BITS).chars().next().unwrap_or(' '),
            _ => {
                for (i, c) in rng.pick(BITS).chars().enumerate() {
                    s.insert(at + i, c);
                }
            }
        }
    }
    s.into_iter().collect()
}

const FILTER_SEEDS: &[&str] = &[
    r#"userName eq "Runscope123Abcdefgh456@atko.com""#,
    r#"externalId eq jyoung"#,
    r#"emails[type eq "work"].value eq "a@b.c""#,
    r#"id eq "1" and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "2""#,
    r#"displayName eq "Group \"One\"""#,
    r#"not (meta.lastModified gt "2011-05-13T04:42:34Z") or emails[value co "@x" and primary eq true]"#,
];

#[test]
fn mutated_filters_parse_or_fail_cleanly() {
    let mut rng = Rng(42);
    let user = json!({"userName": "a", "emails": [{"value": "a@b.c", "type": "work"}],
                      "meta": {"lastModified": "2011-05-13T04:42:34Z"}});
    for _ in 0..5000 {
        let seed = rng_seed(&mut rng, FILTER_SEEDS);
        let input = mutate(&mut rng, seed);
        match Filter::parse(&input) {
            Ok(f) => {
                // Whatever parses prints to something that parses back to itself.
                assert_eq!(Filter::parse(&f.to_string()).as_ref(), Ok(&f), "{input}");
                let _ = f.matches(&user, ResourceSchema::user());
                let _ = f.validate(ResourceSchema::user());
            }
            Err(e) => assert_scim_error(&e, &input),
        }
    }
}

fn rng_seed<'a>(rng: &mut Rng, seeds: &[&'a str]) -> &'a str {
    seeds[rng.below(seeds.len())]
}

#[test]
fn random_patches_apply_or_fail_cleanly() {
    let mut rng = Rng(7);
    let paths = [
        "active",
        "name.givenName",
        "emails",
        "emails[type eq \"work\"].value",
        "members[value eq \"u1\"]",
        "manager",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "id",
        "meta",
        "groups",
        "userName",
        "emails[type eq \"x\" or value pr]",
        "roles",
        "x509Certificates.value",
        "bogus",
    ];
    let values = [
        json!(null),
        json!(""),
        json!("False"),
        json!(true),
        json!(3),
        json!([]),
        json!([{"value": "u1"}]),
        json!({"value": "m"}),
        json!({"name.givenName": "G", "active": "true"}),
        json!([[1]]),
        json!({"a": {"b": 1}}),
    ];
    let start = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1", "userName": "u",
                       "emails": [{"value": "a@b.c", "type": "work"}]});
    for _ in 0..5000 {
        let ops: Vec<Value> = (0..=rng.below(3))
            .map(|_| {
                let mut op = json!({"op": rng.pick(&["add", "Replace", "REMOVE"])});
                if rng.below(4) != 0 {
                    let path = rng.pick(&paths);
                    op["path"] = json!(mutate_maybe(&mut rng, path));
                }
                if rng.below(4) != 0 {
                    op["value"] = rng.pick(&values).clone();
                }
                op
            })
            .collect();
        let request: PatchRequest = serde_json::from_value(json!({"Operations": ops})).unwrap();
        match apply(
            &start,
            &request,
            ResourceSchema::user(),
            &PatchLimits::default(),
        ) {
            Ok(out) => {
                // userName may change but stays a required, assigned string; id never changes.
                assert!(
                    out["userName"].as_str().is_some_and(|u| !u.is_empty()),
                    "{ops:?}"
                );
                assert_eq!(out["id"], "1", "{ops:?}");
                assert!(out["schemas"].is_array());
            }
            Err(e) => assert_scim_error(&e, &format!("{ops:?}")),
        }
    }
}

fn mutate_maybe(rng: &mut Rng, s: &str) -> String {
    if rng.below(3) == 0 {
        mutate(rng, s)
    } else {
        s.to_owned()
    }
}

#[test]
fn random_bodies_prepare_or_fail_cleanly() {
    let mut rng = Rng(99);
    let keys = [
        "userName",
        "active",
        "emails",
        "name",
        "manager",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
        "groups",
        "displayName",
        "members",
        "x",
    ];
    let values = [
        json!(null),
        json!("True"),
        json!("u"),
        json!([]),
        json!([{"value": "v", "primary": "nope"}]),
        json!({"givenName": 1}),
        json!({"manager": "m"}),
        json!(1.5),
        json!([[]]),
    ];
    for _ in 0..5000 {
        let mut body = serde_json::Map::new();
        for _ in 0..rng.below(6) {
            body.insert((*rng.pick(&keys)).to_owned(), rng.pick(&values).clone());
        }
        let body = Value::Object(body);
        for schema in [ResourceSchema::user(), ResourceSchema::group()] {
            match prepare(&body, schema) {
                // A prepared body is a fixed point: preparing it again changes nothing.
                Ok(out) => assert_eq!(prepare(&out, schema).as_ref(), Ok(&out), "{body}"),
                Err(e) => assert_scim_error(&e, &body.to_string()),
            }
        }
    }
}
