//! ETags (RFC 7644 §3.14, RFC 9110 §8.8.3, §13.1): weak tags from a version string and the
//! `If-Match` / `If-None-Match` decisions.
//!
//! Comparison is weak (the `W/` prefix is ignored) for both headers: SCIM versions are
//! semantic, and IdPs echo back the weak tags they were given.

/// The weak ETag of a version: `W/"<version>"`.
pub fn weak_etag(version: &str) -> String {
    format!("W/\"{}\"", version.replace('"', ""))
}

/// The opaque part of an entity tag: `W/"abc"` and `"abc"` both give `abc`.
fn opaque(tag: &str) -> &str {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.trim_matches('"')
}

/// Whether a header value (`*` or a comma-separated list of tags) names `current_version`.
fn list_matches(header: &str, current_version: &str) -> bool {
    header.split(',').any(|t| {
        let t = t.trim();
        t == "*" || (!t.is_empty() && opaque(t) == opaque(current_version))
    })
}

/// What to do with a request given its preconditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Go ahead.
    Proceed,
    /// `412 Precondition Failed`.
    Failed,
    /// `304 Not Modified` (a read whose `If-None-Match` matched).
    NotModified,
}

/// Evaluates `If-Match` and `If-None-Match` (RFC 9110 §13.2.2) for a resource at
/// `current_version` (`None` if it does not exist). `is_read` is true for GET and HEAD.
pub fn evaluate(
    if_match: Option<&str>,
    if_none_match: Option<&str>,
    current_version: Option<&str>,
    is_read: bool,
) -> Precondition {
    if let Some(h) = if_match {
        match current_version {
            Some(v) if list_matches(h, v) => {}
            _ => return Precondition::Failed,
        }
    }
    if let Some(h) = if_none_match {
        let matched = match current_version {
            Some(v) => list_matches(h, v),
            None => false,
        };
        if matched {
            return if is_read {
                Precondition::NotModified
            } else {
                Precondition::Failed
            };
        }
    }
    Precondition::Proceed
}

#[cfg(test)]
mod tests {
    use super::*;
    use Precondition::*;

    fn check(
        m: Option<&str>,
        n: Option<&str>,
        v: Option<&str>,
        read: bool,
        expected: Precondition,
    ) {
        assert_eq!(
            evaluate(m, n, v, read),
            expected,
            "{m:?} {n:?} {v:?} {read}"
        );
    }

    #[test]
    fn preconditions() {
        assert_eq!(weak_etag("3"), "W/\"3\"");
        check(None, None, Some("3"), false, Proceed);
        check(Some("W/\"3\""), None, Some("3"), false, Proceed);
        check(Some("\"3\""), None, Some("3"), false, Proceed);
        check(Some("W/\"2\", W/\"3\""), None, Some("3"), false, Proceed);
        check(Some("W/\"2\""), None, Some("3"), false, Failed);
        check(Some("*"), None, Some("3"), false, Proceed);
        check(Some("*"), None, None, false, Failed);
        check(None, Some("W/\"3\""), Some("3"), true, NotModified);
        check(None, Some("W/\"3\""), Some("3"), false, Failed);
        check(None, Some("W/\"2\""), Some("3"), true, Proceed);
        check(None, Some("*"), None, false, Proceed);
        check(None, Some("*"), Some("3"), false, Failed);
        check(Some(""), None, Some("3"), false, Failed);
    }
}
