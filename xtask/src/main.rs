//! `cargo xtask` — the one entry point for the project's automation.
//!
//! Few dependencies on purpose: it runs on a fresh machine before anything else is built.

mod bench;
mod bench_doc;
mod bench_sso;
mod check_deps;
mod crash;
mod fuzz;
mod http;
mod machine;
mod receiver;
mod scim_conformance;
mod scim_server;
mod setup;
mod soak;
mod test;
mod util;

use anyhow::{bail, Result};

const HELP: &str = "\
cargo xtask <task>

Tasks:
  serve              install missing system packages, build and run the server on SQLite
  test               everything CI checks: fmt, clippy, layering, all tests (PostgreSQL too
                     when PORTCULLIS_TEST_POSTGRES_URL is set)
  check-deps         fail if a crate depends on something its layer must not
  crash [--kills N] [--release]
                     SIGKILL the server under SCIM load N times (default 20) and check
                     that everything answered with success survived, whole
  fuzz [--seconds N] [--target NAME]
                     run every fuzz target (SCIM filter, PATCH, JSON bodies; SAML
                     responses) for N seconds each (default 30)
  setup              only install the system packages the build and the tests need
  scim-conformance   run the Python SCIM checkers against a freshly started server
  bench scim         the SCIM benchmark (release build, wrk)
  bench sso [--count N] [--seconds S] [--concurrency C]
                     SAML validations and ACS logins per second, OpenID Connect callbacks
                     per second against a local mock provider, with p50/p99
  soak [--seconds N] [--connections C] [--think-ms T] [--members M] [--postgres]
                     1,000 connections of mixed SCIM and login traffic for N seconds
                     (default 60); fails on any error or growing server memory
                     (benchmarks write their own section of docs/benchmarks.md)
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => {
            print!("{HELP}");
            return Ok(());
        }
    };
    match task {
        "serve" => {
            setup::ensure_system_packages(&[setup::BUILD])?;
            util::run(
                "cargo",
                &[
                    "run",
                    "--package",
                    "portcullis-server",
                    "--bin",
                    "portcullis",
                    "--",
                    "serve",
                ],
            )
            .map(|_| ())
        }
        "test" => test::run(rest),
        "check-deps" => check_deps::run(),
        "fuzz" => fuzz::run(rest),
        "crash" => crash::run(rest),
        "setup" => setup::ensure_system_packages(&[setup::BUILD, setup::TEST]),
        "scim-conformance" => scim_conformance::run(),
        "bench" => bench::run(rest),
        "soak" => soak::run(rest),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => bail!("unknown task {other:?}\n\n{HELP}"),
    }
}
