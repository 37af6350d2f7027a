//! A fold over a filter, for storage layers that translate filters into their own query
//! language, and a recogniser for the equality lookups IdPs send.

use super::{CompValue, CompareOp, Filter};
use crate::path::AttrPath;

/// A bottom-up fold over a [`Filter`]: each method receives the already-folded children.
///
/// A translator that may refuse some constructs uses a `Result` as its output:
///
/// ```
/// use portcullis_scim::filter::{CompValue, CompareOp, Filter, FilterFold};
/// use portcullis_scim::path::AttrPath;
///
/// /// Translates `userName eq` and `externalId eq` and their conjunctions to SQL.
/// struct Sql;
/// impl FilterFold for Sql {
///     type Out = Option<String>;
///     fn compare(&mut self, path: &AttrPath, op: CompareOp, value: &CompValue) -> Self::Out {
///         let column = if path.is("userName") { "lower(user_name) = lower(?)" }
///             else if path.is("externalId") { "external_id = ?" } else { return None };
///         (op == CompareOp::Eq && value.as_str().is_some()).then(|| column.to_owned())
///     }
///     fn present(&mut self, _: &AttrPath) -> Self::Out { None }
///     fn and(&mut self, l: Self::Out, r: Self::Out) -> Self::Out { Some(format!("({} AND {})", l?, r?)) }
///     fn or(&mut self, l: Self::Out, r: Self::Out) -> Self::Out { Some(format!("({} OR {})", l?, r?)) }
///     fn not(&mut self, inner: Self::Out) -> Self::Out { Some(format!("NOT ({})", inner?)) }
///     fn value_path(&mut self, _: &AttrPath, _: &Filter) -> Self::Out { None }
/// }
///
/// let f = Filter::parse(r#"userName eq "a@b.c" and externalId eq "42""#)?;
/// assert_eq!(f.fold(&mut Sql).as_deref(), Some("(lower(user_name) = lower(?) AND external_id = ?)"));
/// # Ok::<(), portcullis_scim::ScimError>(())
/// ```
pub trait FilterFold {
    /// What a filter folds to.
    type Out;
    /// `path op value`.
    fn compare(&mut self, path: &AttrPath, op: CompareOp, value: &CompValue) -> Self::Out;
    /// `path pr`.
    fn present(&mut self, path: &AttrPath) -> Self::Out;
    /// `left and right`.
    fn and(&mut self, left: Self::Out, right: Self::Out) -> Self::Out;
    /// `left or right`.
    fn or(&mut self, left: Self::Out, right: Self::Out) -> Self::Out;
    /// `not (inner)`.
    fn not(&mut self, inner: Self::Out) -> Self::Out;
    /// `attr[filter]`; the inner filter's paths are sub-attributes of `attr`. Fold it with
    /// another folder (or this one) as the translation needs.
    fn value_path(&mut self, attr: &AttrPath, filter: &Filter) -> Self::Out;
}

/// One equality a storage layer can answer from an index.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<'a> {
    /// `path eq value`, e.g. `userName eq "x"`, `id eq "…"`, `displayName eq "…"`.
    Attr {
        /// The attribute.
        path: &'a AttrPath,
        /// The literal.
        value: &'a CompValue,
    },
    /// `attr[sub eq v and …]` (which is also what `emails[type eq "work"].value eq "x"`
    /// parses to): some element of `attr` has all these sub-attribute values.
    Element {
        /// The multi-valued attribute, e.g. `emails`.
        attr: &'a AttrPath,
        /// The sub-attribute equalities, e.g. `[(type, "work"), (value, "x")]`.
        conditions: Vec<(&'a AttrPath, &'a CompValue)>,
    },
}

impl Filter {
    /// Folds the filter bottom-up with `folder`.
    pub fn fold<F: FilterFold>(&self, folder: &mut F) -> F::Out {
        match self {
            Filter::Compare(path, op, value) => folder.compare(path, *op, value),
            Filter::Present(path) => folder.present(path),
            Filter::And(l, r) => {
                let l = l.fold(folder);
                let r = r.fold(folder);
                folder.and(l, r)
            }
            Filter::Or(l, r) => {
                let l = l.fold(folder);
                let r = r.fold(folder);
                folder.or(l, r)
            }
            Filter::Not(inner) => {
                let inner = inner.fold(folder);
                folder.not(inner)
            }
            Filter::ValuePath(attr, inner) => folder.value_path(attr, inner),
        }
    }

    /// If the filter is a conjunction of equalities (`a eq x and b[c eq y] …`), those
    /// equalities; otherwise `None`. This is the shape of every filter Okta and Entra ID
    /// send, so a storage layer can answer them from indexes and fall back to a general
    /// translation for the rest.
    ///
    /// ```
    /// use portcullis_scim::filter::{CompValue, Filter, Lookup};
    ///
    /// let f = Filter::parse(r#"emails[type eq "work"].value eq "a@b.c""#)?;
    /// let lookups = f.equalities().unwrap();
    /// let Lookup::Element { attr, conditions } = &lookups[0] else { panic!() };
    /// assert!(attr.is("emails"));
    /// assert_eq!(conditions[1].1, &CompValue::String("a@b.c".into()));
    /// # Ok::<(), portcullis_scim::ScimError>(())
    /// ```
    pub fn equalities(&self) -> Option<Vec<Lookup<'_>>> {
        let mut out = Vec::new();
        collect(self, &mut out)?;
        Some(out)
    }

    /// Every attribute path the filter mentions (value-path inner paths are relative to
    /// their attribute).
    pub fn paths(&self) -> Vec<&AttrPath> {
        let mut out = Vec::new();
        walk_paths(self, &mut out);
        out
    }
}

fn collect<'a>(f: &'a Filter, out: &mut Vec<Lookup<'a>>) -> Option<()> {
    match f {
        Filter::Compare(path, CompareOp::Eq, value) => {
            out.push(Lookup::Attr { path, value });
            Some(())
        }
        Filter::And(l, r) => {
            collect(l, out)?;
            collect(r, out)
        }
        Filter::ValuePath(attr, inner) => {
            let mut conditions = Vec::new();
            for l in inner.equalities()? {
                match l {
                    Lookup::Attr { path, value } => conditions.push((path, value)),
                    Lookup::Element { .. } => return None,
                }
            }
            out.push(Lookup::Element { attr, conditions });
            Some(())
        }
        _ => None,
    }
}

fn walk_paths<'a>(f: &'a Filter, out: &mut Vec<&'a AttrPath>) {
    match f {
        Filter::Compare(path, _, _) | Filter::Present(path) => out.push(path),
        Filter::And(l, r) | Filter::Or(l, r) => {
            walk_paths(l, out);
            walk_paths(r, out);
        }
        Filter::Not(inner) => walk_paths(inner, out),
        Filter::ValuePath(path, inner) => {
            out.push(path);
            walk_paths(inner, out);
        }
    }
}
