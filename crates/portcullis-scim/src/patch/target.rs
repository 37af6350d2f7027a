//! PATCH paths (RFC 7644 §3.5.2): `attrPath`, or `valuePath ["." subAttr]`.

use std::fmt;

use crate::error::ScimError;
use crate::filter::{Filter, FilterLimits};
use crate::path::AttrPath;

/// A parsed PATCH path such as `name.givenName`, `members[value eq "2819c223"]` or
/// `emails[type eq "work"].value`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute; it carries a sub-attribute only when there is no filter.
    pub attr: AttrPath,
    /// The value filter, for `attr[filter]`.
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter, for `attr[filter].sub`.
    pub sub: Option<String>,
}

impl PatchPath {
    /// Parses a path; malformed paths are `400 invalidPath`, malformed filters
    /// `400 invalidFilter`.
    pub fn parse(s: &str, limits: &FilterLimits) -> Result<PatchPath, ScimError> {
        let s = s.trim();
        let Some(open) = s.find('[') else {
            let attr = AttrPath::parse(s).map_err(ScimError::invalid_path)?;
            return Ok(PatchPath {
                attr,
                filter: None,
                sub: None,
            });
        };
        let close = s
            .rfind(']')
            .filter(|&c| c > open)
            .ok_or_else(|| ScimError::invalid_path(format!("`{s}` has no closing `]`")))?;
        let attr = AttrPath::parse(&s[..open]).map_err(ScimError::invalid_path)?;
        if attr.sub.is_some() {
            return Err(ScimError::invalid_path(format!(
                "`{s}`: a value filter applies to a top-level attribute"
            )));
        }
        let filter = Filter::parse_with(&s[open + 1..close], limits)?;
        let sub = match &s[close + 1..] {
            "" => None,
            rest => match rest.strip_prefix('.') {
                Some(sub) if crate::path::is_attr_name(sub) => Some(sub.to_owned()),
                _ => {
                    return Err(ScimError::invalid_path(format!(
                        "`{s}`: expected `.subAttribute` after `]`"
                    )))
                }
            },
        };
        Ok(PatchPath {
            attr,
            filter: Some(filter),
            sub,
        })
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}
