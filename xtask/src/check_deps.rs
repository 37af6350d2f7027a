//! The layering check: some crates must never depend on others.
//!
//! Dependencies point one way: server → app, store, sso, scim, domain; app → store, sso,
//! scim, domain; store → domain; sso → domain; scim and domain → nothing of ours, and
//! neither ever touches a database or a web framework. The app never touches the web
//! framework or HTML either.

use std::collections::BTreeSet;

use anyhow::{bail, Result};

use crate::util;

/// Crates that no pure library may pull in.
const INFRASTRUCTURE: &[&str] = &[
    "diesel",
    "actix-web",
    "actix-http",
    "actix-rt",
    "tokio",
    "hyper",
    "reqwest",
    "libsqlite3-sys",
    "pq-sys",
];

struct Rule {
    krate: &'static str,
    forbidden: &'static [&'static str],
    forbid_infrastructure: bool,
}

const RULES: &[Rule] = &[
    Rule {
        krate: "portcullis-domain",
        forbidden: &[
            "portcullis-scim",
            "portcullis-sso",
            "portcullis-store",
            "portcullis-server",
        ],
        forbid_infrastructure: true,
    },
    Rule {
        krate: "portcullis-scim",
        forbidden: &[
            "portcullis-domain",
            "portcullis-sso",
            "portcullis-store",
            "portcullis-server",
        ],
        forbid_infrastructure: true,
    },
    Rule {
        krate: "portcullis-sso",
        forbidden: &[
            "portcullis-scim",
            "portcullis-store",
            "portcullis-server",
            "diesel",
            "actix-web",
        ],
        forbid_infrastructure: false,
    },
    Rule {
        // The use cases: no web framework, no HTTP server types, no HTML, no OpenAPI;
        // statuses and rendering are the server's.
        krate: "portcullis-app",
        forbidden: &[
            "portcullis-server",
            "actix-web",
            "actix-http",
            "actix-rt",
            "actix-router",
            "maud",
            "utoipa",
            "tracing-actix-web",
        ],
        forbid_infrastructure: false,
    },
    Rule {
        krate: "portcullis-store",
        forbidden: &[
            "portcullis-scim",
            "portcullis-sso",
            "portcullis-server",
            "actix-web",
        ],
        forbid_infrastructure: false,
    },
];

/// The names of every normal and build dependency of `krate`, transitively.
fn dependencies(krate: &str) -> Result<BTreeSet<String>> {
    let tree = util::output(
        "cargo",
        &[
            "tree",
            "--package",
            krate,
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ],
    )?;
    Ok(tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != krate)
        .map(str::to_owned)
        .collect())
}

/// Fails when any crate breaks its layering rule.
pub fn run() -> Result<()> {
    let mut broken = Vec::new();
    for rule in RULES {
        let deps = dependencies(rule.krate)?;
        let infra: &[&str] = if rule.forbid_infrastructure {
            INFRASTRUCTURE
        } else {
            &[]
        };
        for bad in rule.forbidden.iter().chain(infra) {
            if deps.contains(*bad) {
                broken.push(format!("{} depends on {bad}", rule.krate));
            }
        }
    }
    if broken.is_empty() {
        eprintln!("check-deps: layering holds");
        Ok(())
    } else {
        bail!("layering broken:\n  {}", broken.join("\n  "))
    }
}
