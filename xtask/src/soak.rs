//! `cargo xtask soak [--seconds N]`: the soak test (a benchmark, not a test; never run by
//! `cargo xtask test`).
//!
//! Builds the release binary, seeds an account in SCIM mode (an API key, `--members`
//! SCIM members, two password members per connection), starts the server on SQLite
//! (`--postgres`: on `PORTCULLIS_TEST_POSTGRES_URL`, in a schema of its own) and runs
//! `examples/soak` against it: `--connections` (default 1,000) simulated clients, each on
//! its own keep-alive connection for the whole run, mixing SCIM reads and writes with
//! password logins (see the example's doc comment for the mix).
//!
//! The server trusts 127.0.0.1 as a proxy (`PORTCULLIS_TRUSTED_PROXIES`) so every client
//! has its own address, and each client signs in as its own two members, so honest
//! traffic stays inside the login throttle, which is left as it is. The SCIM per-key rate
//! limit is switched off (`PORTCULLIS_SCIM_RATE_LIMIT=0`): all clients share one key.
//!
//! The server's resident memory (`VmRSS`) is sampled every second. **The run fails** on
//! any error (a transport error, a time-out, an unexpected status, a client that could
//! not connect) or when memory grows: the samples of the warm-up (the first
//! [`warm_up`] seconds) are ignored, the rest are split into three equal parts, and the
//! mean of the last part may exceed the mean of the first by at most
//! [`MAX_GROWTH`]. The figures are printed and written to the soak section of
//! `docs/benchmarks.md`, passed or not.

use std::fmt::Write as _;
use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::machine;
use crate::scim_server::{build_with, seed, Server};

/// Largest allowed growth of the memory after the warm-up (10 %).
const MAX_GROWTH: f64 = 0.10;

/// Seconds of the run whose memory samples are not judged: the first 20 %, at least 10 s.
fn warm_up(seconds: u64) -> u64 {
    (seconds / 5).max(10)
}

struct Options {
    seconds: u64,
    connections: usize,
    think_ms: u64,
    members: usize,
    postgres: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        seconds: 60,
        connections: 1000,
        think_ms: 2000,
        members: 20_000,
        postgres: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || -> Result<u64> {
            it.next()
                .with_context(|| format!("{a} needs a number"))?
                .parse()
                .with_context(|| format!("{a} needs a number"))
        };
        match a.as_str() {
            "--seconds" => o.seconds = value()?,
            "--connections" => o.connections = value()? as usize,
            "--think-ms" => o.think_ms = value()?,
            "--members" => o.members = value()? as usize,
            "--postgres" => o.postgres = true,
            other => bail!(
                "unknown argument {other:?} (use --seconds N --connections C --think-ms T --members M --postgres)"
            ),
        }
    }
    if o.members < o.connections * 10 {
        bail!("--members must be at least ten per connection");
    }
    Ok(o)
}

/// What the memory did.
struct Memory {
    first_mib: f64,
    last_mib: f64,
    peak_mib: f64,
    early_mib: f64,
    late_mib: f64,
    growth: f64,
    samples: usize,
}

fn judge(samples: &[(f64, u64)], warm_up: u64, peak_kib: u64) -> Memory {
    let mib = |k: u64| k as f64 / 1024.0;
    let judged: Vec<u64> = samples
        .iter()
        .filter(|(t, _)| *t >= warm_up as f64)
        .map(|(_, k)| *k)
        .collect();
    let third = judged.len() / 3;
    let mean = |s: &[u64]| {
        if s.is_empty() {
            0.0
        } else {
            s.iter().sum::<u64>() as f64 / s.len() as f64 / 1024.0
        }
    };
    let (early, late) = if third == 0 {
        (0.0, 0.0)
    } else {
        (
            mean(&judged[..third]),
            mean(&judged[judged.len() - third..]),
        )
    };
    Memory {
        first_mib: samples.first().map_or(0.0, |s| mib(s.1)),
        last_mib: samples.last().map_or(0.0, |s| mib(s.1)),
        peak_mib: mib(peak_kib),
        early_mib: early,
        late_mib: late,
        growth: if early > 0.0 { late / early - 1.0 } else { 0.0 },
        samples: judged.len(),
    }
}

/// Runs the soak test.
pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    // Both ends of every connection live on this machine, plus the server's own files.
    machine::ensure_open_files(2 * o.connections as u64 + 1024)?;
    let release = build_with("release", &["scim_seed", "soak"])?;
    let (binary, seeder, driver) = (
        release.join("portcullis"),
        release.join("examples").join("scim_seed"),
        release.join("examples").join("soak"),
    );
    let dir = std::env::temp_dir().join(format!("portcullis-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let ids = dir.join("ids.txt").display().to_string();
    let password_members = 2 * o.connections;
    let (url, schema, backend) = if o.postgres {
        let url = std::env::var("PORTCULLIS_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .context("--postgres needs PORTCULLIS_TEST_POSTGRES_URL")?;
        (
            url,
            Some(format!("soak_{}", std::process::id())),
            "PostgreSQL",
        )
    } else {
        (dir.join("soak.db").display().to_string(), None, "SQLite")
    };
    let mut extra = vec![
        "--ids-file".to_owned(),
        ids.clone(),
        "--password-members".to_owned(),
        password_members.to_string(),
    ];
    if let Some(s) = &schema {
        extra.extend(["--pg-schema".to_owned(), s.clone()]);
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let t = Instant::now();
    let seeded = seed(&seeder, &url, o.members, "soak", &extra)?;
    eprintln!(
        "soak: seeded {} SCIM and {password_members} password members on {backend} in {:.1} s",
        o.members,
        t.elapsed().as_secs_f64()
    );
    let password = seeded
        .password
        .clone()
        .context("scim_seed printed no password")?;
    let outcome = soak(
        &o,
        &binary,
        &driver,
        &seeded.database_url,
        &seeded.token,
        &password,
        &ids,
        backend,
    );
    if let Some(s) = &schema {
        let _ = Command::new(&seeder)
            .args(["--database-url", &url, "--drop-pg-schema", s])
            .status();
    }
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

#[allow(clippy::too_many_arguments)]
fn soak(
    o: &Options,
    binary: &std::path::Path,
    driver: &std::path::Path,
    database_url: &str,
    token: &str,
    password: &str,
    ids: &str,
    backend: &str,
) -> Result<()> {
    let server = Server::start(
        binary,
        database_url,
        &[
            ("PORTCULLIS_SCIM_RATE_LIMIT", "0"),
            ("PORTCULLIS_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )?;
    let pid = server.child.id();
    let load_before = machine::load_average();
    let mut child = Command::new(driver)
        .args([
            "--server",
            &format!("127.0.0.1:{}", server.port),
            "--slug",
            "soak",
            "--token",
            token,
            "--ids-file",
            ids,
            "--members",
            &o.members.to_string(),
            "--password",
            password,
            "--password-members",
            &(2 * o.connections).to_string(),
            "--connections",
            &o.connections.to_string(),
            "--seconds",
            &o.seconds.to_string(),
            "--think-ms",
            &o.think_ms.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the soak driver")?;
    let started = Instant::now();
    let mut samples = Vec::new();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        match machine::status_kib(pid, "VmRSS") {
            Some(kib) => samples.push((started.elapsed().as_secs_f64(), kib)),
            None => {
                let _ = child.kill();
                bail!("the server (pid {pid}) is gone");
            }
        }
        if started.elapsed() > Duration::from_secs(o.seconds + 120) {
            let _ = child.kill();
            bail!("the soak driver did not finish");
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout)?;
    }
    if !status.success() {
        bail!("the soak driver failed with {status}");
    }
    let load_after = machine::load_average();
    let peak = server.peak_rss_kib().unwrap_or(0);
    drop(server);
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .with_context(|| format!("the soak driver printed {stdout:?}"))?;
    let memory = judge(&samples, warm_up(o.seconds), peak);

    let errors = result["all"]["errors"].as_u64().unwrap_or(u64::MAX);
    let connected = result["connected"].as_u64().unwrap_or(0);
    let mut failures = Vec::new();
    if errors > 0 {
        failures.push(format!("{errors} errors"));
    }
    if connected != o.connections as u64 {
        failures.push(format!(
            "{connected} of {} clients connected",
            o.connections
        ));
    }
    if memory.samples < 3 {
        failures.push("too short to judge the memory (run longer than the warm-up)".into());
    } else if memory.growth > MAX_GROWTH {
        failures.push(format!(
            "memory grew {:.1} % after the warm-up",
            100.0 * memory.growth
        ));
    }
    let verdict = if failures.is_empty() {
        "**passed**".to_owned()
    } else {
        format!("**FAILED**: {}", failures.join("; "))
    };

    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Soak\n\n`cargo xtask soak --seconds {}` on {}: {}; load average {load_before} before and {load_after} after (1, 5, 15 min; other work shares the machine). Release build on {backend}; {} connections held open for the whole run by a load generator on the same cores; each client thinks for a uniform 0–{} ms between actions; {} SCIM members and {} password members. See `xtask/src/soak.rs` and `crates/portcullis-server/examples/soak/main.rs`.\n",
        o.seconds,
        machine::today(),
        machine::cpu(),
        o.connections,
        2 * o.think_ms,
        o.members,
        2 * o.connections
    );
    let _ = writeln!(
        out,
        "Result: {verdict} — {errors} errors, {} reconnects after the server closed an idle connection, {} login flows.\n",
        result["reconnects"], result["login_flows"]
    );
    let _ = writeln!(
        out,
        "| request | count | per second | p50 ms | p99 ms | max ms | errors |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    let labels = [
        ("scim_get", "SCIM GET /Users/{id}"),
        ("scim_filter", "SCIM GET /Users?filter=userName eq"),
        ("scim_patch", "SCIM PATCH /Users/{id} active"),
        ("scim_create", "SCIM POST /Users"),
        ("scim_delete", "SCIM DELETE /Users/{id}"),
        ("login_page", "GET /a/{slug}/login"),
        ("login_post", "POST /a/{slug}/login (Argon2id)"),
        ("home", "GET /a/{slug}/ (signed in)"),
        ("me", "GET /api/v1/me (signed in)"),
        ("logout", "POST /a/{slug}/logout"),
    ];
    let kinds = &result["kinds"];
    let line = |label: &str, k: &Value| {
        format!(
            "| {label} | {} | {:.1} | {:.2} | {:.2} | {:.1} | {} |",
            k["ok"].as_u64().unwrap_or(0),
            k["per_second"].as_f64().unwrap_or(0.0),
            k["p50_ms"].as_f64().unwrap_or(0.0),
            k["p99_ms"].as_f64().unwrap_or(0.0),
            k["max_ms"].as_f64().unwrap_or(0.0),
            k["errors"].as_u64().unwrap_or(0)
        )
    };
    for (kind, label) in labels {
        let _ = writeln!(out, "{}", line(label, &kinds[kind]));
    }
    if let Some(map) = kinds.as_object() {
        for (kind, k) in map {
            if !labels.iter().any(|(l, _)| l == kind) {
                let _ = writeln!(out, "{}", line(kind, k));
            }
        }
    }
    let _ = writeln!(out, "{}", line("**all**", &result["all"]));
    let _ = writeln!(
        out,
        "\nServer memory (VmRSS, sampled every second): {:.1} MiB at the start, {:.1} MiB at the end, peak (VmHWM) {:.1} MiB. After the {} s warm-up, the last third of the samples averaged {:.1} MiB against {:.1} MiB for the first third: {:+.1} % (the run fails above {:.0} %).",
        memory.first_mib,
        memory.last_mib,
        memory.peak_mib,
        warm_up(o.seconds),
        memory.late_mib,
        memory.early_mib,
        100.0 * memory.growth,
        100.0 * MAX_GROWTH
    );
    let every = (o.seconds / 12).max(5) as f64;
    let mut timeline = Vec::new();
    let mut next = 0.0;
    for (t, kib) in &samples {
        if *t >= next {
            timeline.push(format!("{:.0} s: {:.0}", t, *kib as f64 / 1024.0));
            next += every;
        }
    }
    let _ = writeln!(out, "\nVmRSS over the run (MiB): {}.", timeline.join(", "));
    if let Some(samples) = result["error_samples"].as_array().filter(|s| !s.is_empty()) {
        let _ = writeln!(out, "\nFirst errors:\n");
        for s in samples.iter().take(10) {
            let _ = writeln!(
                out,
                "- `{}`",
                s.as_str().unwrap_or_default().replace('`', "'")
            );
        }
    }
    println!("{out}");
    crate::bench_doc::write_section("soak", &out)?;
    if !failures.is_empty() {
        bail!("the soak test failed: {}", failures.join("; "));
    }
    Ok(())
}
