//! `cargo xtask test`: everything CI checks, in the order that fails fastest.

use anyhow::Result;

use crate::{check_deps, crash, fuzz, setup, util};

/// Runs the whole suite.
pub fn run(_args: &[String]) -> Result<()> {
    setup::ensure_system_packages(&[setup::BUILD, setup::TEST])?;
    util::run("cargo", &["fmt", "--all", "--", "--check"])?;
    check_deps::run()?;
    util::run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    match std::env::var("PORTCULLIS_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => eprintln!("xtask: PostgreSQL tests enabled ({url})"),
        _ => eprintln!("xtask: PORTCULLIS_TEST_POSTGRES_URL not set; PostgreSQL tests are skipped"),
    }
    util::run("cargo", &["test", "--workspace", "--all-targets"])?;
    util::run("cargo", &["test", "--workspace", "--doc"])?;
    // A bounded fuzz run of every target: no crash, hang or runaway memory.
    fuzz::run(&["--seconds".to_owned(), "10".to_owned()])?;
    // SIGKILL under SCIM load loses nothing that was answered with success.
    crash::run(&["--kills".to_owned(), "10".to_owned()])?;
    if crate::scim_conformance::checkers().is_some() {
        crate::scim_conformance::run()?;
    } else {
        eprintln!("xtask: the SCIM checkers are not installed; scim-conformance is skipped");
    }
    Ok(())
}
