//! `cargo xtask bench sso`: how fast single sign-on answers are checked (a benchmark, not
//! a test; never run by `cargo xtask test`).
//!
//! With the release build of `examples/sso_bench` (see its doc comment):
//!
//! 1. **SAML verification alone**: `portcullis-sso` verifying pre-signed responses with
//!    distinct ids in one process, on 1 and on 2 threads;
//! 2. **SAML ACS end to end**: the release server on SQLite, an IdP that allows
//!    IdP-initiated login, pre-signed responses with unique assertion ids POSTed over
//!    several connections (replay table, session and audit row for each), then replays,
//!    which must be refused;
//! 3. **OpenID Connect callbacks**: a mock OP on loopback (the server is started with
//!    `PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES=true`) and browsers doing start → authorize
//!    → callback.
//!
//! The target is 1,000 SAML validations per second on 2 cores. Figures go to the SSO
//! section of `docs/benchmarks.md` with the machine and its load average.
//!
//! Options: `--count N` pre-signed responses for the ACS run (default 6000), `--seconds S`
//! of OIDC logins (default 20), `--concurrency C` connections for both (default 16).

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::machine;
use crate::scim_server::{build_with, free_port, Server, ENCRYPTION_KEY};

/// Runs one `sso_bench` subcommand and returns the JSON it printed.
fn sso_bench(program: &Path, args: &[&str]) -> Result<Value> {
    eprintln!("bench sso: sso_bench {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .env("PORTCULLIS_ENCRYPTION_KEY", ENCRYPTION_KEY)
        .stderr(Stdio::inherit())
        .output()
        .context("running sso_bench")?;
    if !out.status.success() {
        bail!("sso_bench {} failed with {}", args[0], out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).with_context(|| format!("sso_bench printed {text:?}"))
}

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(0.0)
}

/// `| label | per second | p50 | p99 | errors |` for one kind of a tally.
fn row(label: &str, kind: &Value) -> String {
    format!(
        "| {label} | {:.0} | {:.2} | {:.2} | {} |",
        f(kind, "per_second"),
        f(kind, "p50_ms"),
        f(kind, "p99_ms"),
        kind["errors"].as_u64().unwrap_or(0)
    )
}

fn option(args: &[String], name: &str, default: usize) -> Result<usize> {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .with_context(|| format!("{name} needs a number"))?
            .parse()
            .with_context(|| format!("{name} needs a number")),
        None => Ok(default),
    }
}

/// Runs the SSO benchmark.
pub fn run(args: &[String]) -> Result<()> {
    let count = option(args, "--count", 6000)?;
    let seconds = option(args, "--seconds", 20)?;
    let concurrency = option(args, "--concurrency", 16)?;
    let release = build_with("release", &["sso_bench"])?;
    let binary = release.join("portcullis");
    let bench = release.join("examples").join("sso_bench");
    let dir = std::env::temp_dir().join(format!("portcullis-bench-sso-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let load_before = machine::load_average();

    let verify_1 = sso_bench(&bench, &["verify", "--threads", "1", "--count", "3000"])?;
    let verify_2 = sso_bench(&bench, &["verify", "--threads", "2", "--count", "6000"])?;

    let (server_port, op_port) = (free_port()?, free_port()?);
    let public_url = format!("http://127.0.0.1:{server_port}");
    let op_url = format!("http://127.0.0.1:{op_port}");
    let database = dir.join("sso.db").display().to_string();
    let dir_s = dir.display().to_string();
    let seeded = sso_bench(
        &bench,
        &[
            "seed",
            "--database-url",
            &database,
            "--dir",
            &dir_s,
            "--op-url",
            &op_url,
        ],
    )?;
    let saml_idp = seeded["saml_idp"].as_str().context("no saml_idp")?;
    let oidc_idp = seeded["oidc_idp"].as_str().context("no oidc_idp")?;
    let server = Server::start_on(
        &binary,
        &database,
        server_port,
        &[
            ("PORTCULLIS_PUBLIC_URL", public_url.as_str()),
            ("PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES", "true"),
        ],
    )?;
    let addr = format!("127.0.0.1:{server_port}");
    let (count_s, seconds_s, concurrency_s, op_port_s) = (
        count.to_string(),
        seconds.to_string(),
        concurrency.to_string(),
        op_port.to_string(),
    );
    let acs = sso_bench(
        &bench,
        &[
            "acs",
            "--server",
            &addr,
            "--public-url",
            &public_url,
            "--dir",
            &dir_s,
            "--idp",
            saml_idp,
            "--count",
            &count_s,
            "--concurrency",
            &concurrency_s,
        ],
    )?;
    let oidc = sso_bench(
        &bench,
        &[
            "oidc",
            "--server",
            &addr,
            "--op-port",
            &op_port_s,
            "--idp",
            oidc_idp,
            "--seconds",
            &seconds_s,
            "--concurrency",
            &concurrency_s,
        ],
    )?;
    let peak_mib = server.peak_rss_kib().unwrap_or(0) as f64 / 1024.0;
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    let load_after = machine::load_average();

    let mut out = String::new();
    let _ = writeln!(
        out,
        "## SSO\n\nMeasured by `cargo xtask bench sso` on {}: {}; load average {load_before} before and {load_after} after (1, 5, 15 min; other work shares the machine). Release build; the load generator and the mock OpenID provider run on the same cores as the server. Regenerate with the same command; see `xtask/src/bench_sso.rs` and `crates/portcullis-server/examples/sso_bench/`.\n",
        machine::today(),
        machine::cpu()
    );
    let _ = writeln!(out, "### SAML\n");
    let _ = writeln!(out, "| what | per second | p50 ms | p99 ms | errors |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for (label, v) in [
        (
            "response verification alone (`portcullis-sso`, 1 thread)",
            &verify_1,
        ),
        (
            "response verification alone (`portcullis-sso`, 2 threads)",
            &verify_2,
        ),
    ] {
        let _ = writeln!(
            out,
            "| {label}, {} pre-signed responses | {:.0} | {:.2} | {:.2} | {} |",
            v["count"].as_u64().unwrap_or(0),
            f(v, "per_second"),
            f(v, "p50_ms"),
            f(v, "p99_ms"),
            v["errors"].as_u64().unwrap_or(0)
        );
    }
    let _ = writeln!(
        out,
        "{}",
        row(
            &format!("ACS POST end to end (server on SQLite, {concurrency} connections, {count} IdP-initiated responses, each a new assertion id and a new session)"),
            &acs["kinds"]["acs"]
        )
    );
    let replays = &acs["kinds"]["replay_refused"];
    let _ = writeln!(
        out,
        "| {} of those responses posted again, one at a time: refused as replays (401) | — | {:.2} | {:.2} | {} |",
        replays["ok"].as_u64().unwrap_or(0) + replays["errors"].as_u64().unwrap_or(0),
        f(replays, "p50_ms"),
        f(replays, "p99_ms"),
        replays["errors"].as_u64().unwrap_or(0)
    );
    let v2 = f(&verify_2, "per_second");
    let end_to_end = f(&acs["kinds"]["acs"], "per_second");
    let verdict = |x: f64| if x >= 1000.0 { "meets" } else { "misses" };
    let _ = writeln!(
        out,
        "\nTarget: at least 1,000 SAML validations per second on 2 cores. Verification alone on 2 threads reaches {v2:.0}/s ({} the target); the whole ACS — verification plus the replay-table insert, the member lookup, the session and the audit row on SQLite, with HTTP and the load generator on the same 2 cores — reaches {end_to_end:.0}/s ({} it).\n",
        verdict(v2),
        verdict(end_to_end)
    );
    let _ = writeln!(out, "### OpenID Connect\n");
    let _ = writeln!(
        out,
        "{concurrency} browsers for {seconds} s, each login: start → the mock OP's authorization endpoint → the server's callback, which redeems the code at the mock token endpoint (client secret, PKCE verifier), verifies the RS256 ID token and its nonce, and opens a session.\n"
    );
    let _ = writeln!(out, "| step | per second | p50 ms | p99 ms | errors |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for (label, kind) in [
        ("`GET …/sso/{idp}/start` (pending login stored)", "start"),
        ("mock OP authorization endpoint", "authorize"),
        ("**`GET /sso/oidc/{idp}/callback`**", "callback"),
    ] {
        let _ = writeln!(out, "{}", row(label, &oidc["kinds"][kind]));
    }
    let flow_errors = oidc["kinds"]["flow"]["errors"].as_u64().unwrap_or(0);
    let _ = writeln!(
        out,
        "\nFlows that failed before the callback: {flow_errors}. Peak server memory (VmHWM) over the SSO runs: {peak_mib:.1} MiB."
    );
    println!("{out}");
    crate::bench_doc::write_section("sso", &out)?;
    let errors = [&verify_1, &verify_2]
        .iter()
        .map(|v| v["errors"].as_u64().unwrap_or(0))
        .sum::<u64>()
        + acs["all"]["errors"].as_u64().unwrap_or(0)
        + oidc["all"]["errors"].as_u64().unwrap_or(0);
    if errors > 0 {
        eprintln!(
            "acs errors: {}\noidc errors: {}",
            acs["error_samples"], oidc["error_samples"]
        );
        bail!("the SSO benchmark saw {errors} errors");
    }
    Ok(())
}
