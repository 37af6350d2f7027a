//! Printing a filter in the RFC syntax, with just the parentheses needed for the printed
//! text to parse back to the same AST.

use std::fmt;

use super::{CompValue, Filter};

const OR: u8 = 1;
const AND: u8 = 2;
const ATOM: u8 = 3;

fn write(f: &mut fmt::Formatter<'_>, filter: &Filter, min: u8) -> fmt::Result {
    let (own, parts): (u8, Option<(&Filter, &Filter, &str)>) = match filter {
        Filter::Or(l, r) => (OR, Some((l, r, " or "))),
        Filter::And(l, r) => (AND, Some((l, r, " and "))),
        _ => (ATOM, None),
    };
    let parens = own < min;
    if parens {
        f.write_str("(")?;
    }
    match (filter, parts) {
        (_, Some((l, r, word))) => {
            // Both operators are left-associative: the right operand needs one level more.
            write(f, l, own)?;
            f.write_str(word)?;
            write(f, r, own + 1)?;
        }
        (Filter::Compare(path, op, value), _) => write!(f, "{path} {} {value}", op.as_str())?,
        (Filter::Present(path), _) => write!(f, "{path} pr")?,
        (Filter::Not(inner), _) => {
            f.write_str("not (")?;
            write(f, inner, OR)?;
            f.write_str(")")?;
        }
        (Filter::ValuePath(path, inner), _) => {
            write!(f, "{path}[")?;
            write(f, inner, OR)?;
            f.write_str("]")?;
        }
        (Filter::Or(..) | Filter::And(..), None) => {}
    }
    if parens {
        f.write_str(")")?;
    }
    Ok(())
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write(f, self, OR)
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => {
                // Serialising a string to JSON cannot fail.
                let quoted = serde_json::to_string(s).map_err(|_| fmt::Error)?;
                f.write_str(&quoted)
            }
        }
    }
}
