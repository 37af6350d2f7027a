//! `cargo xtask scim-conformance`: runs the Python SCIM checkers — scim2-tester (through
//! scim2-cli's `scim2 test`) and scim-sanity's `probe` — against a freshly started
//! binary on a temporary SQLite database seeded with a SCIM account.
//!
//! The checkers live in a virtualenv named by `PORTCULLIS_SCIM_CHECKERS` (`.ci/run`
//! installs them). Each failure they report must be one of [`EXPECTED`], the deliberate
//! exceptions documented in `docs/scim.md`; anything else fails the task.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::scim_server::{build, seed, Server};
use crate::util;

/// The variable naming the checkers' virtualenv.
pub const CHECKERS_ENV: &str = "PORTCULLIS_SCIM_CHECKERS";

/// Failures that are deliberate (checker, check title, text in its reason), with why.
const EXPECTED: &[(&str, &str, &str, &str)] = &[
    (
        "scim2-tester",
        "check_remove_attribute",
        "did not remove attribute 'active'",
        "`active` is the member's state, always returned; removing it leaves the member active",
    ),
    (
        "scim2-tester",
        "check_add_attribute",
        "unexpected value for 'members'",
        "members[].display is the member's current displayName, not what the client sent",
    ),
    (
        "scim2-tester",
        "check_replace_attribute",
        "unexpected value for 'members'",
        "members[].display is the member's current displayName, not what the client sent",
    ),
    (
        "scim-sanity",
        "PATCH /Groups/{id} add member",
        "",
        "group members must be users of the account: unknown ids are 400 invalidValue",
    ),
];

/// The checkers' virtualenv, if installed.
pub fn checkers() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os(CHECKERS_ENV)?);
    dir.join("bin").join("scim-sanity").exists().then_some(dir)
}

fn expected(checker: &str, title: &str, reason: &str) -> Option<&'static str> {
    EXPECTED
        .iter()
        .find(|(c, t, r, _)| *c == checker && title.contains(t) && reason.contains(r))
        .map(|(_, _, _, why)| *why)
}

/// Runs a checker, echoing its output with a prefix, and returns the output.
fn run_checker(name: &str, cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("starting {name}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for line in text.lines() {
        println!("{name}| {line}");
    }
    Ok(text)
}

/// `scim2 test` failures: `ERROR|CRITICAL <title>` followed by an indented reason.
fn scim2_failures(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let title = l
                .strip_prefix("ERROR ")
                .or_else(|| l.strip_prefix("CRITICAL "))?;
            let reason = lines.get(i + 1).map_or("", |r| r.trim());
            Some((title.trim().to_owned(), reason.to_owned()))
        })
        .collect()
}

/// scim-sanity failures: `[FAIL] <title>` followed by a detail line.
fn sanity_failures(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let title = l.trim().strip_prefix("[FAIL]")?;
            let reason = lines.get(i + 1).map_or("", |r| r.trim());
            Some((title.trim().to_owned(), reason.to_owned()))
        })
        .collect()
}

/// Runs both checkers against a fresh server.
pub fn run() -> Result<()> {
    let Some(venv) = checkers() else {
        bail!("the SCIM checkers are not installed: set {CHECKERS_ENV} to a virtualenv with scim2-cli, scim2-tester and scim-sanity (.ci/run installs them)");
    };
    let (binary, seeder) = build("debug")?;
    let dir = std::env::temp_dir().join(format!(
        "portcullis-scim-conformance-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("scim.db");
    let db = db.to_str().context("temporary path is not UTF-8")?;
    let seeded = seed(&seeder, db, 3, "conformance", &[])?;
    let server = Server::start(&binary, db, &[("PORTCULLIS_SCIM_RATE_LIMIT", "0")])?;
    let result = check(&venv, &server.base, &seeded.token);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn check(venv: &Path, base: &str, token: &str) -> Result<()> {
    let python = venv.join("bin").join("python");
    let driver = util::root()
        .join("xtask")
        .join("scim")
        .join("scim2_test.py");
    let scim2 = run_checker(
        "scim2-tester",
        Command::new(&python).arg(&driver).args([base, token]),
    )?;
    let sanity = run_checker(
        "scim-sanity",
        Command::new(venv.join("bin").join("scim-sanity")).args([
            "probe",
            base,
            "--token",
            token,
            "--i-accept-side-effects",
        ]),
    )?;
    let scim2_ok = scim2.lines().filter(|l| l.starts_with("SUCCESS")).count();
    if scim2_ok == 0 || !sanity.contains("[PASS]") {
        bail!("the checkers ran no check (see their output above)");
    }
    let mut unexpected = Vec::new();
    for (checker, failures) in [
        ("scim2-tester", scim2_failures(&scim2)),
        ("scim-sanity", sanity_failures(&sanity)),
    ] {
        for (title, reason) in failures {
            match expected(checker, &title, &reason) {
                Some(why) => {
                    println!("scim-conformance: expected failure in {checker} {title}: {why}")
                }
                None => unexpected.push(format!("{checker}: {title}: {reason}")),
            }
        }
    }
    let sanity_ok = sanity
        .lines()
        .filter(|l| l.trim().starts_with("[PASS]"))
        .count();
    println!("scim-conformance: scim2-tester {scim2_ok} checks succeeded, scim-sanity {sanity_ok} passed");
    if !unexpected.is_empty() {
        bail!(
            "unexpected SCIM conformance failures:\n  {}",
            unexpected.join("\n  ")
        );
    }
    Ok(())
}
