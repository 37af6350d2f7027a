//! A recursive-descent parser for the RFC 7644 §3.4.2.2 filter grammar.
//!
//! Precedence, loosest first: `or`, `and`, then `not (…)`, `(…)`, value paths and attribute
//! expressions. Keywords and operators are case-insensitive. Recursion only happens on
//! parentheses, `not` and value paths, each of which counts towards the depth limit, so no
//! input can exhaust the stack.

use serde_json::Number;

use super::{CompValue, CompareOp, Filter, FilterLimits};
use crate::error::ScimError;
use crate::path::AttrPath;

pub(super) fn parse(input: &str, limits: &FilterLimits) -> Result<Filter, ScimError> {
    if input.len() > limits.max_length {
        return Err(ScimError::invalid_filter(format!(
            "the filter is {} bytes long; the limit is {}",
            input.len(),
            limits.max_length
        )));
    }
    let mut p = Parser {
        src: input,
        pos: 0,
        depth: 0,
        clauses: 0,
        limits,
        in_value_path: false,
    };
    p.skip_ws();
    if p.at_end() {
        return Err(p.error("the filter is empty"));
    }
    let f = p.parse_or()?;
    p.skip_ws();
    if !p.at_end() {
        return Err(p.error("expected `and`, `or` or the end of the filter"));
    }
    Ok(f)
}

/// A JSON number literal. serde_json checks the grammar; floats are then parsed by the
/// standard library, which rounds correctly, so printing (shortest round-trip form) and
/// parsing again gives the same number.
fn number(w: &str) -> Option<Number> {
    if !w.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return None;
    }
    let n = serde_json::from_str::<Number>(w).ok()?;
    if n.is_i64() || n.is_u64() {
        return Some(n);
    }
    Number::from_f64(w.parse::<f64>().ok()?)
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    clauses: usize,
    limits: &'a FilterLimits,
    in_value_path: bool,
}

impl<'a> Parser<'a> {
    fn error(&self, why: &str) -> ScimError {
        ScimError::invalid_filter(format!("invalid filter at position {}: {why}", self.pos))
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Consumes `word` (case-insensitively) if it is followed by whitespace, `(` or the end.
    fn keyword(&mut self, word: &str) -> bool {
        let rest = self.rest().as_bytes();
        let n = word.len();
        if rest.len() >= n
            && rest[..n].eq_ignore_ascii_case(word.as_bytes())
            && matches!(
                rest.get(n),
                None | Some(b' ' | b'\t' | b'\n' | b'\r' | b'(')
            )
        {
            self.pos += n;
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(self.error(&format!(
                "the filter nests deeper than {} levels",
                self.limits.max_depth
            )));
        }
        Ok(())
    }

    fn parse_or(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.parse_and()?;
        loop {
            let save = self.pos;
            if self.skip_ws() && self.keyword("or") {
                self.skip_ws();
                let right = self.parse_and()?;
                left = Filter::or(left, right);
            } else {
                self.pos = save;
                return Ok(left);
            }
        }
    }

    fn parse_and(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.parse_unary()?;
        loop {
            let save = self.pos;
            if self.skip_ws() && self.keyword("and") {
                self.skip_ws();
                let right = self.parse_unary()?;
                left = Filter::and(left, right);
            } else {
                self.pos = save;
                return Ok(left);
            }
        }
    }

    fn parse_unary(&mut self) -> Result<Filter, ScimError> {
        let save = self.pos;
        if self.keyword("not") {
            self.skip_ws();
            if self.peek() == Some(b'(') {
                self.enter()?;
                let inner = self.parse_parens()?;
                self.depth -= 1;
                return Ok(Filter::Not(Box::new(inner)));
            }
            // Not the keyword: an attribute that happens to be called `not`.
            self.pos = save;
        }
        if self.peek() == Some(b'(') {
            self.enter()?;
            let inner = self.parse_parens()?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.parse_attr_expr()
    }

    fn parse_parens(&mut self) -> Result<Filter, ScimError> {
        self.pos += 1; // `(`
        self.skip_ws();
        let inner = self.parse_or()?;
        self.skip_ws();
        if self.peek() != Some(b')') {
            return Err(self.error("expected `)`"));
        }
        self.pos += 1;
        Ok(inner)
    }

    fn parse_path(&mut self) -> Result<AttrPath, ScimError> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || b":._-$".contains(&c)) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.error("expected an attribute path"));
        }
        let text = &self.src[start..self.pos];
        AttrPath::parse(text).map_err(|why| {
            ScimError::invalid_filter(format!("invalid filter at position {start}: {why}"))
        })
    }

    fn count_clause(&mut self) -> Result<(), ScimError> {
        self.clauses += 1;
        if self.clauses > self.limits.max_clauses {
            return Err(self.error(&format!(
                "the filter has more than {} expressions",
                self.limits.max_clauses
            )));
        }
        Ok(())
    }

    fn parse_attr_expr(&mut self) -> Result<Filter, ScimError> {
        let path = self.parse_path()?;
        if self.peek() == Some(b'[') {
            return self.parse_value_path(path);
        }
        self.parse_comparison(path)
    }

    /// After a path: ` pr` or ` op value`.
    fn parse_comparison(&mut self, path: AttrPath) -> Result<Filter, ScimError> {
        self.count_clause()?;
        if !self.skip_ws() {
            return Err(self.error("expected a space and an operator after the attribute path"));
        }
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        let word = &self.src[start..self.pos];
        if word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_name(word) else {
            self.pos = start;
            return Err(self.error("expected an operator (eq ne co sw ew gt ge lt le pr)"));
        };
        if !self.skip_ws() {
            return Err(self.error("expected a space and a value after the operator"));
        }
        let value = self.parse_value()?;
        Ok(Filter::Compare(path, op, value))
    }

    fn parse_value_path(&mut self, attr: AttrPath) -> Result<Filter, ScimError> {
        if self.in_value_path {
            return Err(self.error("value paths cannot be nested"));
        }
        if attr.sub.is_some() {
            return Err(self.error("a value path filters a top-level attribute"));
        }
        self.enter()?;
        self.pos += 1; // `[`
        self.in_value_path = true;
        self.skip_ws();
        let inner = self.parse_or()?;
        self.skip_ws();
        if self.peek() != Some(b']') {
            return Err(self.error("expected `]`"));
        }
        self.pos += 1;
        self.in_value_path = false;
        self.depth -= 1;
        // Entra's `emails[type eq "work"].value eq "x"`: fold the trailing comparison in.
        let inner = if self.peek() == Some(b'.') {
            self.pos += 1;
            let start = self.pos;
            let sub = self.parse_path()?;
            if sub.urn.is_some() || sub.sub.is_some() {
                self.pos = start;
                return Err(self.error("expected a sub-attribute name after `].`"));
            }
            Filter::and(inner, self.parse_comparison(sub)?)
        } else {
            inner
        };
        Ok(Filter::ValuePath(attr, Box::new(inner)))
    }

    fn parse_value(&mut self) -> Result<CompValue, ScimError> {
        if self.peek() == Some(b'"') {
            return self.parse_string();
        }
        let start = self.pos;
        while matches!(self.peek(), Some(c) if !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b')' | b']'))
        {
            self.pos += 1;
        }
        let word = &self.src[start..self.pos];
        if word.is_empty() {
            return Err(self.error("expected a value"));
        }
        Ok(match word {
            w if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            w if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            w if w.eq_ignore_ascii_case("null") => CompValue::Null,
            w => match number(w) {
                Some(n) => CompValue::Number(n),
                // Leniency: Entra ID's older samples send `externalId eq jyoung` unquoted.
                None => CompValue::String(w.to_owned()),
            },
        })
    }

    fn parse_string(&mut self) -> Result<CompValue, ScimError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut i = start + 1;
        loop {
            match bytes.get(i) {
                None => return Err(self.error("unterminated string")),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let Some(literal) = self.src.get(start..=i) else {
            return Err(self.error("unterminated string"));
        };
        let s: String = serde_json::from_str(literal).map_err(|e| {
            ScimError::invalid_filter(format!(
                "invalid filter at position {start}: invalid string literal ({e})"
            ))
        })?;
        self.pos = i + 1;
        Ok(CompValue::String(s))
    }
}
