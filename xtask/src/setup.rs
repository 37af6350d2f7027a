//! Installs the Debian packages the build and the tests need when they are missing.
//!
//! Building and running: samael's xmlsec binding needs pkg-config, libxml2 and libxmlsec1
//! headers and libclang (for bindgen); diesel's PostgreSQL backend needs libpq. Testing
//! also: the `xmlsec1` program (used by the SAML test IdP, pysaml2), and `chromium` with
//! `chromium-driver`, which run the SSO logins and the dashboard through a real browser.

use std::process::Command;

use anyhow::{bail, Result};

use crate::util;

/// What building and running the server needs (`cargo xtask serve`).
pub const BUILD: &[&str] = &[
    "pkg-config",
    "libssl-dev",
    "libxml2-dev",
    "libxmlsec1-dev",
    "libclang-dev",
    "libpq-dev",
];

/// What the tests need besides (`cargo xtask test`).
pub const TEST: &[&str] = &[
    "xmlsec1",
    // The SSO and dashboard browser tests drive headless Chromium through chromedriver.
    "chromium",
    "chromium-driver",
];

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// Installs whatever of `packages` is missing (as root, or through sudo).
pub fn ensure_system_packages(packages: &[&[&str]]) -> Result<()> {
    let packages: Vec<&str> = packages.iter().flat_map(|p| p.iter().copied()).collect();
    if Command::new("dpkg-query")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("xtask: not a Debian system; make sure these are installed: {packages:?}");
        return Ok(());
    }
    let missing: Vec<&str> = packages.into_iter().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!(
        "xtask: installing missing system packages: {}",
        missing.join(" ")
    );
    let is_root = util::output("id", &["-u"])
        .map(|s| s.trim() == "0")
        .unwrap_or(false);
    let prefix: &[&str] = if is_root { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| -> Result<()> {
        let mut all: Vec<&str> = prefix.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        let (program, rest) = all
            .split_first()
            .map_or(("apt-get", &[][..]), |(p, r)| (*p, r));
        let status = Command::new(program)
            .args(rest)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()?;
        if !status.success() {
            bail!("`{}` failed", all.join(" "));
        }
        Ok(())
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(missing.iter().copied());
    apt(&install)
}
