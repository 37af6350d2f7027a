//! `--name value` arguments for the load generators.

use anyhow::{Context, Result};

/// The value after `name`, if given.
pub fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The value after `name`, which must be given.
pub fn required(args: &[String], name: &str) -> Result<String> {
    arg(args, name).with_context(|| format!("missing {name}"))
}

/// The number after `name`, or `default`.
pub fn number<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    arg(args, name).map_or(Ok(default), |n| {
        n.parse().with_context(|| format!("{name} {n}"))
    })
}
