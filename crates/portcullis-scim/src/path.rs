//! Attribute paths (RFC 7644 §3.10): `[URN ":"] name ["." subAttribute]`.

use std::fmt;

/// An attribute path such as `name.givenName` or
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
///
/// Names keep the case the client wrote; every lookup compares them case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN prefix, without the trailing colon.
    pub urn: Option<String>,
    /// The attribute name.
    pub name: String,
    /// The sub-attribute name.
    pub sub: Option<String>,
}

/// Whether `s` is an `ATTRNAME` (RFC 7644 §3.10), also allowing `$ref`.
pub(crate) fn is_attr_name(s: &str) -> bool {
    if s == "$ref" {
        return true;
    }
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl AttrPath {
    /// A path of one plain name.
    pub fn new(name: &str) -> Self {
        AttrPath {
            urn: None,
            name: name.to_owned(),
            sub: None,
        }
    }

    /// This path with a sub-attribute.
    pub fn with_sub(mut self, sub: &str) -> Self {
        self.sub = Some(sub.to_owned());
        self
    }

    /// Parses a path; the error says why it is not one.
    ///
    /// A path that starts with `urn:` is split at its last colon into the URN and the rest,
    /// so `urn:…:enterprise:2.0:User` alone parses as URN `urn:…:enterprise:2.0` and name
    /// `User`; [`crate::schema::ResourceSchema::whole_extension`] recognises that form.
    pub fn parse(s: &str) -> Result<AttrPath, String> {
        let is_urn = s.len() > 4 && s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
        let (urn, rest) = if is_urn {
            match s.rfind(':') {
                Some(i) => (Some(&s[..i]), &s[i + 1..]),
                None => (None, s),
            }
        } else {
            (None, s)
        };
        let (name, sub) = match rest.split_once('.') {
            Some((n, sub)) => (n, Some(sub)),
            None => (rest, None),
        };
        if !is_attr_name(name) {
            return Err(format!("`{s}` is not an attribute path"));
        }
        if let Some(sub) = sub {
            if !is_attr_name(sub) {
                return Err(format!("`{s}` has an invalid sub-attribute name"));
            }
        }
        Ok(AttrPath {
            urn: urn.map(str::to_owned),
            name: name.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }

    /// Whether this is the unqualified, sub-attribute-free name `name` (case-insensitively).
    pub fn is(&self, name: &str) -> bool {
        self.urn.is_none() && self.sub.is_none() && self.name.eq_ignore_ascii_case(name)
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<(Option<&str>, &str, Option<&str>), ()>) {
        let got = AttrPath::parse(input)
            .map(|p| (p.urn.clone(), p.name.clone(), p.sub.clone()))
            .map_err(|_| ());
        let expected =
            expected.map(|(u, n, s)| (u.map(str::to_owned), n.to_owned(), s.map(str::to_owned)));
        assert_eq!(got, expected, "{input}");
        if let Ok(p) = AttrPath::parse(input) {
            assert_eq!(p.to_string(), input);
        }
    }

    #[test]
    fn parses_paths() {
        check("userName", Ok((None, "userName", None)));
        check("name.givenName", Ok((None, "name", Some("givenName"))));
        check("members.$ref", Ok((None, "members", Some("$ref"))));
        check(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            Ok((
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
                "manager",
                Some("value"),
            )),
        );
        check(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            Ok((
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0"),
                "User",
                None,
            )),
        );
        check("", Err(()));
        check("1abc", Err(()));
        check("a.b.c", Err(()));
        check("name.", Err(()));
        check("a b", Err(()));
        check(")o(\u{e9}", Err(()));
        check("\u{e9}\u{e9}\u{e9}", Err(()));
    }
}
