//! `cargo xtask bench scim`: the SCIM benchmark (not a test; never run by `cargo xtask
//! test`).
//!
//! Builds the release binary, seeds an account with 100,000 members straight through the
//! store, starts the server on SQLite (and on PostgreSQL when
//! `PORTCULLIS_TEST_POSTGRES_URL` is set) and drives it with `wrk` over 64 connections:
//! GET by id, `userName eq` filter, a 100-member page, a page deep into the account
//! (`startIndex=90001` of 100,000), PATCH active, POST create. A bare
//! actix-web handler returning a fixed ListResponse (`examples/scim_ceiling.rs`) is the
//! ceiling every figure is compared with; the same handler answering a fixed page of 100
//! members shows what sending a page alone costs (`bench/ceiling.rs`). The filtered GET is also measured on an account
//! of 1,000 members, in rounds alternating with the big account (before the writes
//! change its size). The table, and each target of issue 27 with pass or fail
//! ([`verdicts`]), is printed and written to the SCIM section of `docs/benchmarks.md`.
//! (`cargo xtask bench sso` is in `bench_sso.rs`.)
//!
//! `BENCH_SECONDS` (default 10) sets the length of each run, `BENCH_MEMBERS` (default
//! 100000) the account size.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::scim_server::{build_with, seed, Seeded, Server};
use crate::util;

mod ceiling;
mod targets;
use targets::verdicts;

const CONNECTIONS: &str = "64";

/// Seconds of reads, not measured, after a server starts: the figures are of a running
/// server, with its page caches and key cache filled, not of its first seconds. Each
/// scenario on the big account also runs this long unmeasured before it is measured.
const WARM_UP_SECONDS: u64 = 2;

/// Tries of [`warm_up`] before it gives up.
const WARM_UP_TRIES: usize = 10;

/// Unmeasured requests before a run, for [`WARM_UP_SECONDS`], again while none was
/// answered: what the run before left queued can hold every connection that long (64
/// deep pages take PostgreSQL seconds to finish on a slow machine after wrk has gone).
fn warm_up(url: &str, script: &Path) -> Result<()> {
    for _ in 1..WARM_UP_TRIES {
        if wrk(url, Some(script), WARM_UP_SECONDS).is_ok() {
            return Ok(());
        }
    }
    wrk(url, Some(script), WARM_UP_SECONDS).map(|_| ())
}

/// What one wrk run measured.
#[derive(Debug, Clone, Default)]
struct Run {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

fn parse_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

fn parse_wrk(out: &str) -> Result<Run> {
    let mut run = Run::default();
    for line in out.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            run.rps = v.trim().parse()?;
        } else if let Some(v) = t.strip_prefix("50%") {
            run.p50_ms = parse_ms(v).context("p50")?;
        } else if let Some(v) = t.strip_prefix("99%") {
            run.p99_ms = parse_ms(v).context("p99")?;
        } else if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            run.errors += v.trim().parse::<u64>()?;
        } else if let Some(v) = t.strip_prefix("Socket errors:") {
            run.errors += v
                .split(',')
                .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    if run.rps == 0.0 {
        bail!("wrk printed no throughput:\n{out}");
    }
    Ok(run)
}

/// The Lua script that makes wrk send one kind of request.
fn script(
    dir: &Path,
    name: &str,
    token: &str,
    ids_file: &Path,
    members: usize,
    scenario: &Scenario,
) -> Result<PathBuf> {
    let path = dir.join(format!("{name}.lua"));
    let lua = format!(
        r#"
local token = "{token}"
local members = {members}
local ids = {{}}
for line in io.lines("{ids}") do ids[#ids + 1] = line end
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local h = {{["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/scim+json"}}
-- The requests of a read scenario, built before the run.
local reqs = {{}}
function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  {prepare}
end
request = function()
  counter = counter + 1
  {body}
end
"#,
        ids = ids_file.display(),
        prepare = scenario.prepare,
        body = scenario.body,
    );
    std::fs::write(&path, lua)?;
    Ok(path)
}

/// How long wrk waits for an answer before it counts a timeout (its default is 2 s): a
/// deep page on PostgreSQL takes longer than that under 64 connections, and wrk records
/// no latency for a request it timed out, so its row would show only errors.
const WRK_TIMEOUT: &str = "10s";

fn wrk(url: &str, script: Option<&Path>, seconds: u64) -> Result<Run> {
    let duration = format!("{seconds}s");
    let mut args = vec![
        "-t2",
        "-c",
        CONNECTIONS,
        "-d",
        duration.as_str(),
        "--timeout",
        WRK_TIMEOUT,
        "--latency",
    ];
    let script_s;
    if let Some(s) = script {
        script_s = s.display().to_string();
        args.extend(["-s", script_s.as_str()]);
    }
    args.push(url);
    let out = Command::new("wrk")
        .args(&args)
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    parse_wrk(&text)
}

fn ensure_wrk() -> Result<()> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    eprintln!("xtask: installing wrk");
    util::run("apt-get", &["install", "-y", "-qq", "wrk"]).map(|_| ())
}

struct Scenario {
    name: &'static str,
    /// Lua run once per wrk thread before the run: fills `reqs` for [`PREPARED`].
    prepare: &'static str,
    /// The body of wrk's `request()`, which returns the next request to send.
    body: &'static str,
}

/// The `request()` body of a read scenario: one of the requests `init` prepared. Building
/// each request in Lua as it is sent costs wrk more CPU than the request costs the
/// ceiling's static one, CPU the server then lacks on the shared cores.
const PREPARED: &str = "return reqs[math.random(#reqs)]";

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "GET /Users/{id}",
        prepare: r#"for i = 1, #ids do reqs[i] = wrk.format("GET", "/scim/v2/Users/" .. ids[i], h) end"#,
        body: PREPARED,
    },
    Scenario {
        name: "GET /Users?filter=userName eq",
        prepare: r#"for i = 1, members do reqs[i] = wrk.format("GET", string.format("/scim/v2/Users?filter=userName%%20eq%%20%%22member%06d%%40bench.test%%22", i - 1), h) end"#,
        body: PREPARED,
    },
    Scenario {
        name: "GET /Users?count=100 (a page)",
        prepare: r#"for i = 1, 1000 do reqs[i] = wrk.format("GET", "/scim/v2/Users?startIndex=" .. i .. "&count=100", h) end"#,
        body: PREPARED,
    },
    Scenario {
        name: "GET /Users?startIndex=90001&count=100 (a deep page)",
        prepare: r#"for i = 1, 100 do reqs[i] = wrk.format("GET", "/scim/v2/Users?startIndex=" .. math.max(1, members - 9999 + i - 1) .. "&count=100", h) end"#,
        body: PREPARED,
    },
    Scenario {
        name: "PATCH /Users/{id} active",
        prepare: "",
        body: r#"local v = (counter % 2 == 0) and "true" or "false"
  return wrk.format("PATCH", "/scim/v2/Users/" .. ids[math.random(#ids)], h, '{"Operations":[{"op":"replace","path":"active","value":' .. v .. '}]}')"#,
    },
    Scenario {
        name: "POST /Users (create)",
        prepare: "",
        body: r#"return wrk.format("POST", "/scim/v2/Users", h, string.format('{"userName":"new-%d-%d-%d@bench.test","name":{"givenName":"N","familyName":"B"}}', tid or 0, os.time(), counter))"#,
    },
];

/// How many times the filtered GET is measured on each account size, alternating.
const SIZE_ROUNDS: usize = 3;

/// One backend's measurements.
struct Results {
    backend: String,
    runs: Vec<(&'static str, Run)>,
    /// The filtered GET at 1,000 members and on the big account, one pair per round
    /// ([`compare_sizes`]).
    sizes: Vec<(Run, Run)>,
    /// PostgreSQL: the filtered GET on the freshly seeded, never analyzed database, and
    /// right after `ANALYZE`.
    analyze: Option<(Run, Run)>,
    /// The writes without and with a webhook subscribed to every event
    /// ([`WEBHOOK_SCENARIOS`]).
    with_webhook: Vec<WebhookRuns>,
    peak_rss_mib: f64,
}

/// The indexes in [`SCENARIOS`] of the writes measured again with a webhook.
const WEBHOOK_SCENARIOS: [usize; 2] = [4, 5];

/// A write measured on one server without a webhook, then twice with one subscribed to
/// every event, then without again: the account's growth under the writes and the
/// machine's drift weigh on both sides alike.
#[derive(Debug, Clone)]
struct WebhookRuns {
    name: &'static str,
    /// The first run and the last.
    without: [Run; 2],
    /// The two runs in between.
    with: [Run; 2],
}

impl WebhookRuns {
    /// The mean throughput of the two runs with the webhook.
    fn mean_with(&self) -> f64 {
        mean_rps(&self.with)
    }

    /// The mean throughput of the two runs without it.
    fn mean_without(&self) -> f64 {
        mean_rps(&self.without)
    }

    /// The throughput with the webhook as a share of the throughput without it.
    fn share(&self) -> f64 {
        self.mean_with() / self.mean_without().max(0.5)
    }
}

/// The mean requests per second of two runs.
fn mean_rps(runs: &[Run; 2]) -> f64 {
    (runs[0].rps + runs[1].rps) / 2.0
}

/// How long the receiver must hear nothing before the sender is taken to have sent all
/// it had queued (it looks for due deliveries every second, and keeps sending while it
/// finds some).
const QUIET: Duration = Duration::from_secs(2);

/// The longest wait for the sender to catch up.
const DRAIN_LIMIT: Duration = Duration::from_secs(180);

/// Waits until the server has sent every queued delivery ([`QUIET`]).
fn drain(receiver: &crate::receiver::Receiver, backend: &str) {
    let t = Instant::now();
    let sent = receiver.wait_until_quiet(QUIET, DRAIN_LIMIT);
    eprintln!(
        "bench: {backend}: {sent} deliveries sent in the {:.1} s before the next run",
        t.elapsed().as_secs_f64()
    );
}

/// How to reach one backend: its URL for the big and the 1,000-member account, and the
/// seeder's extra arguments for each.
struct Target<'a> {
    backend: &'a str,
    url: &'a str,
    url_1k: &'a str,
    extra: &'a [&'a str],
    extra_1k: &'a [&'a str],
}

/// The built programs and the run's settings.
struct Setup<'a> {
    binary: &'a Path,
    seeder: &'a Path,
    dir: &'a Path,
    members: usize,
    seconds: u64,
}

/// A seeded account: the seeder's answer and the file of member ids.
struct Account {
    seeded: Seeded,
    ids: PathBuf,
    members: usize,
}

fn seed_account(
    setup: &Setup<'_>,
    name: &str,
    url: &str,
    members: usize,
    extra: &[&str],
) -> Result<Account> {
    let ids = setup.dir.join(format!("{name}-ids.txt"));
    let ids_s = ids.display().to_string();
    let mut args: Vec<&str> = vec!["--ids-file", &ids_s];
    args.extend_from_slice(extra);
    let t = Instant::now();
    let seeded = seed(setup.seeder, url, members, "bench", &args)?;
    eprintln!(
        "bench: seeded {members} members ({name}) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(Account {
        seeded,
        ids,
        members,
    })
}

/// A started server on a seeded account, and the wrk script of each scenario.
struct Driven {
    server: Server,
    base: String,
    scripts: Vec<PathBuf>,
}

fn start(setup: &Setup<'_>, name: &str, account: &Account) -> Result<Driven> {
    start_with(setup, name, account, &[])
}

/// [`start`] with more environment for the server.
fn start_with(
    setup: &Setup<'_>,
    name: &str,
    account: &Account,
    env: &[(&str, &str)],
) -> Result<Driven> {
    let mut vars = vec![("PORTCULLIS_SCIM_RATE_LIMIT", "0")];
    vars.extend_from_slice(env);
    let server = Server::start(setup.binary, &account.seeded.database_url, &vars)?;
    let base = format!("http://127.0.0.1:{}", server.port);
    let scripts = SCENARIOS
        .iter()
        .enumerate()
        .map(|(i, s)| {
            script(
                setup.dir,
                &format!("{name}-{i}"),
                &account.seeded.token,
                &account.ids,
                account.members,
                s,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Driven {
        server,
        base,
        scripts,
    })
}

/// The index of the `userName eq` filter in [`SCENARIOS`].
const FILTER: usize = 1;

/// The filtered GET on the small and the big account, [`SIZE_ROUNDS`] times, the order
/// swapped every round: the machine's speed drifts by more than the difference measured
/// (seen here: the same binary on the same database 20 % slower four minutes later), so
/// single runs minutes apart compare the machine, not the account sizes.
fn compare_sizes(small: &Driven, big: &Driven, seconds: u64) -> Result<Vec<(Run, Run)>> {
    let measure = |d: &Driven| wrk(&d.base, Some(&d.scripts[FILTER]), seconds);
    (0..SIZE_ROUNDS)
        .map(|round| {
            let (small_run, big_run) = if round % 2 == 0 {
                let s = measure(small)?;
                (s, measure(big)?)
            } else {
                let b = measure(big)?;
                (measure(small)?, b)
            };
            eprintln!("bench: sizes round {round}: {small_run:?} / {big_run:?}");
            Ok((small_run, big_run))
        })
        .collect()
}

fn measure_backend(target: &Target<'_>, setup: &Setup<'_>) -> Result<Results> {
    let backend = target.backend;
    let postgres = target.url.starts_with("postgres");
    let mut extra = target.extra.to_vec();
    if postgres {
        // Measured first as an account right after an IdP's import: never analyzed.
        extra.push("--no-analyze");
    }
    let big = seed_account(setup, backend, target.url, setup.members, &extra)?;
    let small = seed_account(
        setup,
        &format!("{backend}-1k"),
        target.url_1k,
        1000,
        target.extra_1k,
    )?;
    let seeded = big;
    let mut big = start(setup, backend, &seeded)?;
    warm_up(&big.base, &big.scripts[0])?;
    let analyze = if postgres {
        let before = wrk(&big.base, Some(&big.scripts[FILTER]), setup.seconds)?;
        seed_tool(setup, &seeded.seeded.database_url, &["--analyze-only"])?;
        let after = wrk(&big.base, Some(&big.scripts[FILTER]), setup.seconds)?;
        eprintln!("bench: {backend} filter before ANALYZE {before:?}, after {after:?}");
        Some((before, after))
    } else {
        None
    };
    let mut runs = Vec::new();
    let mut sizes = Vec::new();
    for (i, s) in SCENARIOS.iter().enumerate() {
        // Unmeasured first: requests the run before left in the server's queues (64 deep
        // pages take PostgreSQL one to several seconds to finish after wrk has gone) are
        // not this scenario's latency.
        warm_up(&big.base, &big.scripts[i])?;
        let run = wrk(&big.base, Some(&big.scripts[i]), setup.seconds)?;
        eprintln!("bench: {backend} {}: {run:?}", s.name);
        runs.push((s.name, run));
        if i == FILTER {
            // Before the writes, while the big account has its seeded size.
            let small = start(setup, &format!("{backend}-1k"), &small)?;
            warm_up(&small.base, &small.scripts[FILTER])?;
            sizes = compare_sizes(&small, &big, setup.seconds)?;
        }
    }
    let mut peak_rss_mib = big.server.peak_rss_kib().unwrap_or(0) as f64 / 1024.0;

    // The writes without and with a webhook subscribed to every event at a receiver on
    // this machine, on one server restarted to let it call the receiver's loopback
    // address (its peak memory counts too).
    drop(big);
    let receiver = crate::receiver::Receiver::start()?;
    big = start_with(
        setup,
        &format!("{backend}-hook"),
        &seeded,
        &[("PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES", "true")],
    )?;
    warm_up(&big.base, &big.scripts[0])?;
    let webhook = |add: bool| {
        let args: &[&str] = if add {
            &["--slug", "bench", "--add-webhook", &receiver.url]
        } else {
            &["--slug", "bench", "--remove-webhooks"]
        };
        seed_tool(setup, &seeded.seeded.database_url, args)
    };
    let mut with_webhook = Vec::new();
    for i in WEBHOOK_SCENARIOS {
        let measure = |hooked: bool| -> Result<Run> {
            // As everywhere: unmeasured first. Then, with the webhook, until the sender
            // has sent what the warm-up queued: each run starts with nothing to deliver.
            warm_up(&big.base, &big.scripts[i])?;
            if hooked {
                drain(&receiver, backend);
            }
            let run = wrk(&big.base, Some(&big.scripts[i]), setup.seconds)?;
            let with = if hooked { "with" } else { "without" };
            eprintln!(
                "bench: {backend} {} {with} a webhook: {run:?}",
                SCENARIOS[i].name
            );
            Ok(run)
        };
        let before = measure(false)?;
        webhook(true)?;
        let hooked = [measure(true)?, measure(true)?];
        drain(&receiver, backend);
        webhook(false)?;
        let after = measure(false)?;
        with_webhook.push(WebhookRuns {
            name: SCENARIOS[i].name,
            without: [before, after],
            with: hooked,
        });
    }
    let delivered = receiver.seen.lock().map(|s| s.len()).unwrap_or(0);
    eprintln!("bench: {backend}: the receiver got {delivered} events");
    peak_rss_mib = peak_rss_mib.max(big.server.peak_rss_kib().unwrap_or(0) as f64 / 1024.0);
    Ok(Results {
        backend: backend.to_owned(),
        runs,
        sizes,
        analyze,
        with_webhook,
        peak_rss_mib,
    })
}

/// Runs the seeder on an existing database (`--analyze-only`, `--add-webhook`).
fn seed_tool(setup: &Setup<'_>, database_url: &str, args: &[&str]) -> Result<()> {
    let status = Command::new(setup.seeder)
        .args(["--database-url", database_url])
        .args(args)
        .env(
            "PORTCULLIS_ENCRYPTION_KEY",
            crate::scim_server::ENCRYPTION_KEY,
        )
        .stdout(Stdio::null())
        .status()
        .context("running scim_seed")?;
    if !status.success() {
        bail!("scim_seed {args:?} failed with {status}");
    }
    Ok(())
}

/// The middle value (the upper of the two middle ones for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn table(ceiling: &Run, page: &Run, results: &[Results], members: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Ceiling (bare actix-web, fixed ListResponse): {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms.\n", ceiling.rps, ceiling.p50_ms, ceiling.p99_ms);
    let _ = writeln!(out, "{}\n", ceiling::page_line(ceiling, page));
    for r in results {
        let _ = writeln!(
            out,
            "### {} ({members} members, {CONNECTIONS} connections)\n",
            r.backend
        );
        let _ = writeln!(
            out,
            "| request | requests/s | share of ceiling | p50 ms | p99 ms | errors |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        for (name, run) in &r.runs {
            let _ = writeln!(
                out,
                "| {name} | {:.0} | {:.1} % | {:.2} | {:.2} | {} |",
                run.rps,
                100.0 * run.rps / ceiling.rps,
                run.p50_ms,
                run.p99_ms,
                run.errors
            );
        }
        let _ = writeln!(
            out,
            "\nFiltered GET on 1000 and on {members} members, {SIZE_ROUNDS} rounds of each, alternating:\n"
        );
        let _ = writeln!(
            out,
            "| round | requests/s at 1000 | p50 ms at 1000 | requests/s at {members} | p50 ms at {members} | p50 ratio |"
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
        let ratio = |(small, big): &(Run, Run)| big.p50_ms / small.p50_ms.max(0.001);
        for (i, pair) in r.sizes.iter().enumerate() {
            let (small, big) = pair;
            let _ = writeln!(
                out,
                "| {} | {:.0} | {:.2} | {:.0} | {:.2} | {:.2} |",
                i + 1,
                small.rps,
                small.p50_ms,
                big.rps,
                big.p50_ms,
                ratio(pair)
            );
        }
        let _ = writeln!(
            out,
            "\nMedian p50 ratio, {members} to 1000 members: {:.2}.",
            median(r.sizes.iter().map(ratio).collect())
        );
        if let Some((before, after)) = &r.analyze {
            let _ = writeln!(
                out,
                "Filtered GET on the freshly seeded database, never analyzed: {:.0} requests/s (p99 {:.2} ms); right after `ANALYZE`: {:.0} requests/s (p99 {:.2} ms).",
                before.rps, before.p99_ms, after.rps, after.p99_ms
            );
        }
        if !r.with_webhook.is_empty() {
            let _ = writeln!(
                out,
                "\nThe writes without and with a webhook subscribed to every event (receiver on this machine), on one server, in this order: without, with, with, without; each run after its own {WARM_UP_SECONDS} s unmeasured and, with the webhook, once the server has sent what those queued:\n"
            );
            let _ = writeln!(
                out,
                "| request | without | with | with | without | with ÷ without |"
            );
            let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
            let cell = |run: &Run| {
                let errors = if run.errors == 0 {
                    String::new()
                } else {
                    format!(", {} errors", run.errors)
                };
                format!("{:.0}/s, p99 {:.2} ms{errors}", run.rps, run.p99_ms)
            };
            for w in &r.with_webhook {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {:.1} % |",
                    w.name,
                    cell(&w.without[0]),
                    cell(&w.with[0]),
                    cell(&w.with[1]),
                    cell(&w.without[1]),
                    100.0 * w.share()
                );
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(
            out,
            "Peak server memory (VmHWM) over the {members}-member runs: {:.1} MiB.\n",
            r.peak_rss_mib
        );
    }
    let _ = writeln!(out, "### Targets (issue 27)\n");
    for (target, met) in verdicts(ceiling, results) {
        let _ = writeln!(
            out,
            "- {}: {target}",
            if met { "**pass**" } else { "**fail**" }
        );
    }
    out
}

/// Runs the SCIM benchmark.
pub fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("scim") => {}
        Some("sso") => return crate::bench_sso::run(&args[1..]),
        _ => bail!("usage: cargo xtask bench scim|sso"),
    }
    ensure_wrk()?;
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let members: usize = std::env::var("BENCH_MEMBERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let release = build_with("release", &["scim_seed", "scim_ceiling"])?;
    let binary = release.join("portcullis");
    let seeder = release.join("examples").join("scim_seed");
    let dir = std::env::temp_dir().join(format!("portcullis-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let ceiling = ceiling::measure(seconds, 1)?;
    eprintln!("bench: ceiling {ceiling:?}");
    let page_ceiling = ceiling::measure(seconds, ceiling::PAGE)?;
    eprintln!("bench: page ceiling {page_ceiling:?}");
    let mut results = Vec::new();
    let sqlite = dir.join("bench.db").display().to_string();
    let sqlite_1k = dir.join("bench-1k.db").display().to_string();
    let setup = Setup {
        binary: &binary,
        seeder: &seeder,
        dir: &dir,
        members,
        seconds,
    };
    results.push(measure_backend(
        &Target {
            backend: "SQLite",
            url: &sqlite,
            url_1k: &sqlite_1k,
            extra: &[],
            extra_1k: &[],
        },
        &setup,
    )?);
    match std::env::var("PORTCULLIS_TEST_POSTGRES_URL") {
        Ok(pg) if !pg.is_empty() => {
            let schema = format!("bench_{}", std::process::id());
            let schema_1k = format!("{schema}_1k");
            let r = measure_backend(
                &Target {
                    backend: "PostgreSQL",
                    url: &pg,
                    url_1k: &pg,
                    extra: &["--pg-schema", &schema],
                    extra_1k: &["--pg-schema", &schema_1k],
                },
                &setup,
            );
            for s in [&schema, &schema_1k] {
                let _ = Command::new(&seeder)
                    .args(["--database-url", &pg, "--drop-pg-schema", s])
                    .status();
            }
            results.push(r?);
        }
        _ => eprintln!("bench: PORTCULLIS_TEST_POSTGRES_URL not set; SQLite only"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let table = table(&ceiling, &page_ceiling, &results, members);
    println!("{table}");
    let section = format!(
        "## SCIM\n\nMeasured by `cargo xtask bench scim` (release build, `wrk -t2 -c{CONNECTIONS} --timeout {WRK_TIMEOUT}`, {seconds} s per run after {WARM_UP_SECONDS} s of unmeasured reads on each freshly started server, and {WARM_UP_SECONDS} s of the run's own requests, unmeasured, before each run on the big account) on a {cores}-core machine; the load generator shares the cores with the server. Regenerate with the same command; see `xtask/src/bench.rs`.\n\n{table}"
    );
    crate::bench_doc::write_section("scim", &section)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_is_the_middle_value_of_the_sorted_rounds() {
        assert_eq!(median(vec![1.36, 1.05, 1.12]), 1.12);
        assert_eq!(median(vec![0.9, 1.3]), 1.3);
        assert_eq!(median(Vec::new()), 0.0);
    }

    #[test]
    fn wrk_output_is_read_with_its_units() {
        let out = "  Latency Distribution\n     50%  849.00us\n     75%    1.20ms\n     99%    2.45ms\n  196239 requests in 3.07s\nRequests/sec:  63970.59\n";
        let run = parse_wrk(out).unwrap();
        assert_eq!(run.rps, 63970.59);
        assert!((run.p50_ms - 0.849).abs() < 1e-9);
        assert!((run.p99_ms - 2.45).abs() < 1e-9);
        assert_eq!(run.errors, 0);
        assert!(parse_wrk("no figures").is_err());
    }
}
