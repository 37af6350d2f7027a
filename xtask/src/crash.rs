//! `cargo xtask crash [--kills N] [--release]`: SCIM creates and PATCHes against the
//! binary, which is killed with SIGKILL at random moments and restarted. After each
//! restart every request that was answered with success must be there exactly as
//! answered, and nothing may be half-written. Runs on SQLite, and on PostgreSQL when
//! `PORTCULLIS_TEST_POSTGRES_URL` is set.
//!
//! Each PATCH sets `displayName = "v{n}"` and `active = (n is even)` together, so a row
//! whose name and flag disagree would show a half-applied change. A request that got no
//! answer (the kill came first) may or may not have happened: its user must then show
//! either the last answered state or exactly the unanswered one.
//!
//! The account has a webhook subscribed to every event, at a receiver the harness runs:
//! after every restart, each change answered with success before the kill must have
//! reached it (at least once), so an acknowledged change never loses its event.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use serde_json::json;

use crate::http::request;
use crate::receiver::{Receiver, Seen};
use crate::scim_server::{self, Server};

/// How long a restarted server may take to deliver the events of acknowledged changes
/// (a delivery claimed when the kill came waits for its lease to end).
const DELIVERY_WAIT: Duration = Duration::from_secs(60);

const WORKERS: usize = 4;

/// What the harness knows of one user.
#[derive(Debug, Clone)]
struct Known {
    id: String,
    user_name: String,
    /// The version last answered with success.
    acked: u64,
    /// A version sent but not answered.
    in_doubt: Option<u64>,
}

/// A create that got no answer.
#[derive(Debug, Clone)]
struct PendingCreate {
    user_name: String,
    worker: usize,
}

#[derive(Default)]
struct Ledger {
    users: HashMap<usize, Vec<Known>>,
    pending_creates: Vec<PendingCreate>,
    creates: u64,
    patches: u64,
    /// Every change answered with success: the member and the displayName it set.
    acknowledged: Vec<(String, String)>,
}

/// A small xorshift generator: the harness needs variety, not cryptography.
struct Rng(u64);

impl Rng {
    fn seeded(extra: u64) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Self((nanos ^ extra.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn display(version: u64) -> String {
    format!("v{version}")
}

/// Runs the harness on every available backend.
pub fn run(args: &[String]) -> Result<()> {
    let mut kills = 20usize;
    let mut profile = "debug";
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--kills" => kills = iter.next().context("--kills needs a number")?.parse()?,
            "--release" => profile = "release",
            other => bail!("unknown argument {other:?} (use --kills N [--release])"),
        }
    }
    let (binary, seeder) = scim_server::build(profile)?;
    let dir = scim_server::target_dir().join("crash");
    std::fs::create_dir_all(&dir)?;
    let tag = Rng::seeded(0).next();
    let sqlite = dir.join(format!("crash-{tag:x}.db"));
    let mut backends = vec![("SQLite", sqlite.display().to_string(), Vec::new())];
    if let Ok(pg) = std::env::var("PORTCULLIS_TEST_POSTGRES_URL") {
        if !pg.is_empty() {
            backends.push((
                "PostgreSQL",
                pg,
                vec!["--pg-schema".to_owned(), format!("crash_{tag:x}")],
            ));
        }
    }
    for (name, url, extra) in backends {
        let receiver = Receiver::start()?;
        let mut extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let drop_schema = extra.get(1).map(|s| s.to_string());
        extra.extend(["--webhook", receiver.url.as_str()]);
        let seeded = scim_server::seed(&seeder, &url, 0, "crash", &extra)?;
        let outcome = run_backend(&binary, &seeded, kills, &receiver.seen);
        if let Some(schema) = drop_schema {
            let _ = scim_server::seed(&seeder, &url, 0, "crash", &["--drop-pg-schema", &schema]);
        }
        let (survived, ledger) = outcome.with_context(|| format!("crash harness on {name}"))?;
        println!(
            "crash harness on {name}: {survived} SIGKILLs survived; {} creates and {} PATCHes answered with success, all present exactly as answered, each with its webhook event delivered",
            ledger.creates, ledger.patches
        );
    }
    Ok(())
}

fn start(binary: &std::path::Path, seeded: &scim_server::Seeded) -> Result<Server> {
    Server::start(
        binary,
        &seeded.database_url,
        &[
            ("PORTCULLIS_SCIM_RATE_LIMIT", "0"),
            // The receiver listens on loopback.
            ("PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES", "true"),
        ],
    )
}

fn run_backend(
    binary: &std::path::Path,
    seeded: &scim_server::Seeded,
    kills: usize,
    seen: &Seen,
) -> Result<(usize, Ledger)> {
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut rng = Rng::seeded(7);
    let baseline = {
        let server = start(binary, seeded)?;
        total(server.port, &seeded.token)?
    };
    for round in 0..kills {
        let mut server = start(binary, seeded)?;
        verify(server.port, &seeded.token, &ledger, baseline)
            .with_context(|| format!("after kill {round}"))?;
        delivered(&ledger, seen).with_context(|| format!("after kill {round}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (ledger, stop, token, port) = (
                    ledger.clone(),
                    stop.clone(),
                    seeded.token.clone(),
                    server.port,
                );
                std::thread::spawn(move || work(w, port, &token, &ledger, &stop, round as u64))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100 + rng.below(600)));
        server.child.kill().context("SIGKILL")?;
        let _ = server.child.wait();
        stop.store(true, Ordering::SeqCst);
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("a worker panicked"))??;
        }
    }
    let server = start(binary, seeded)?;
    verify(server.port, &seeded.token, &ledger, baseline).context("after the last kill")?;
    delivered(&ledger, seen).context("after the last kill")?;
    let ledger = Arc::try_unwrap(ledger)
        .map_err(|_| anyhow::anyhow!("workers still hold the ledger"))?
        .into_inner()
        .map_err(|_| anyhow::anyhow!("poisoned ledger"))?;
    Ok((kills, ledger))
}

/// One worker: creates users and PATCHes its own, recording what was answered. It stops
/// at the first failed request (the server is gone) or when told to.
fn work(
    w: usize,
    port: u16,
    token: &str,
    ledger: &Mutex<Ledger>,
    stop: &AtomicBool,
    round: u64,
) -> Result<()> {
    let mut rng = Rng::seeded(w as u64 * 31 + round);
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let candidate = {
            let ledger = ledger.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            let mine: Vec<Known> = ledger
                .users
                .get(&w)
                .map(|u| u.iter().filter(|k| k.in_doubt.is_none()).cloned().collect())
                .unwrap_or_default();
            (!mine.is_empty() && rng.below(10) < 7)
                .then(|| mine[rng.below(mine.len() as u64) as usize].clone())
        };
        match candidate {
            Some(user) => {
                let version = user.acked + 1;
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "value": {"displayName": display(version), "active": version.is_multiple_of(2)}}]
                })
                .to_string();
                set_doubt(ledger, w, &user.id, Some(version))?;
                let Ok(resp) = request(
                    port,
                    "PATCH",
                    &format!("/scim/v2/Users/{}", user.id),
                    token,
                    Some(&body),
                ) else {
                    return Ok(());
                };
                ensure!(
                    resp.status == 200,
                    "PATCH answered {}: {}",
                    resp.status,
                    resp.body
                );
                let value = resp.json()?;
                ensure!(
                    value["displayName"] == display(version),
                    "PATCH answered another state: {value}"
                );
                let mut l = ledger.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                l.patches += 1;
                if let Some(k) = l
                    .users
                    .get_mut(&w)
                    .and_then(|u| u.iter_mut().find(|k| k.id == user.id))
                {
                    k.acked = version;
                    k.in_doubt = None;
                }
                l.acknowledged.push((user.id.clone(), display(version)));
            }
            None => {
                let user_name = format!(
                    "crash-{w}-{round}-{n}-{}@crash.test",
                    rng.next() % 1_000_000
                );
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": user_name, "displayName": display(0), "active": true,
                    "name": {"givenName": "Crash", "familyName": format!("{w}-{n}")},
                    "emails": [{"value": user_name, "type": "work", "primary": true}]
                })
                .to_string();
                ledger
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .pending_creates
                    .push(PendingCreate {
                        user_name: user_name.clone(),
                        worker: w,
                    });
                let Ok(resp) = request(port, "POST", "/scim/v2/Users", token, Some(&body)) else {
                    return Ok(());
                };
                ensure!(
                    resp.status == 201,
                    "POST answered {}: {}",
                    resp.status,
                    resp.body
                );
                let id = resp.json()?["id"].as_str().context("no id")?.to_owned();
                let mut l = ledger.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                l.creates += 1;
                l.pending_creates.retain(|p| p.user_name != user_name);
                l.acknowledged.push((id.clone(), display(0)));
                l.users.entry(w).or_default().push(Known {
                    id,
                    user_name,
                    acked: 0,
                    in_doubt: None,
                });
            }
        }
    }
    Ok(())
}

/// Waits until every acknowledged change has reached the receiver: a member event
/// (`member.created`, `.updated`, `.deactivated`, `.reactivated`) naming the member with
/// the displayName the change set.
fn delivered(ledger: &Mutex<Ledger>, seen: &Seen) -> Result<()> {
    let needed: Vec<(String, String)> = ledger
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .acknowledged
        .clone();
    let started = std::time::Instant::now();
    loop {
        let missing = {
            let seen = seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            let got: std::collections::HashSet<(&str, &str)> = seen
                .iter()
                .filter(|(kind, _, _)| kind.starts_with("member."))
                .map(|(_, id, name)| (id.as_str(), name.as_str()))
                .collect();
            needed
                .iter()
                .filter(|(id, name)| !got.contains(&(id.as_str(), name.as_str())))
                .count()
        };
        if missing == 0 {
            return Ok(());
        }
        ensure!(
            started.elapsed() < DELIVERY_WAIT,
            "{missing} of {} acknowledged changes never reached the webhook",
            needed.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn set_doubt(ledger: &Mutex<Ledger>, w: usize, id: &str, version: Option<u64>) -> Result<()> {
    let mut l = ledger.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    if let Some(k) = l
        .users
        .get_mut(&w)
        .and_then(|u| u.iter_mut().find(|k| k.id == id))
    {
        k.in_doubt = version;
    }
    Ok(())
}

fn total(port: u16, token: &str) -> Result<u64> {
    let resp = request(port, "GET", "/scim/v2/Users?count=0", token, None)?;
    ensure!(resp.status == 200, "list answered {}", resp.status);
    resp.json()?["totalResults"]
        .as_u64()
        .context("no totalResults")
}

/// Checks the restarted server against the ledger, and resolves what was in doubt.
fn verify(port: u16, token: &str, ledger: &Mutex<Ledger>, baseline: u64) -> Result<()> {
    let mut l = ledger.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    // Creates that got no answer: either absent, or present exactly as sent.
    let pending = std::mem::take(&mut l.pending_creates);
    for p in pending {
        let filter = format!(
            "/scim/v2/Users?filter=userName%20eq%20%22{}%22",
            p.user_name.replace('@', "%40")
        );
        let resp = request(port, "GET", &filter, token, None)?;
        let value = resp.json()?;
        match value["totalResults"].as_u64() {
            Some(0) => {}
            Some(1) => {
                let user = &value["Resources"][0];
                ensure!(
                    user["displayName"] == display(0) && user["active"] == true,
                    "half-written create: {user}"
                );
                let id = user["id"].as_str().context("no id")?.to_owned();
                l.users.entry(p.worker).or_default().push(Known {
                    id,
                    user_name: p.user_name,
                    acked: 0,
                    in_doubt: None,
                });
            }
            other => bail!("unanswered create of {} left {other:?} users", p.user_name),
        }
    }
    let mut known = 0u64;
    for users in l.users.values_mut() {
        for k in users.iter_mut() {
            known += 1;
            let resp = request(
                port,
                "GET",
                &format!("/scim/v2/Users/{}", k.id),
                token,
                None,
            )?;
            ensure!(
                resp.status == 200,
                "user {} answered with success is gone: {}",
                k.user_name,
                resp.status
            );
            let user = resp.json()?;
            ensure!(
                user["userName"] == k.user_name.as_str(),
                "userName changed: {user}"
            );
            let name = user["displayName"].as_str().context("no displayName")?;
            let version: u64 = name
                .trim_start_matches('v')
                .parse()
                .context("odd displayName")?;
            ensure!(
                user["active"] == (version.is_multiple_of(2)),
                "half-written PATCH: displayName {name} with active {}",
                user["active"]
            );
            let allowed = version == k.acked || Some(version) == k.in_doubt;
            ensure!(
                allowed,
                "user {} shows v{version}; answered v{} (in doubt: {:?})",
                k.user_name,
                k.acked,
                k.in_doubt
            );
            k.acked = version;
            k.in_doubt = None;
        }
    }
    let now = total(port, token)?;
    ensure!(
        now == baseline + known,
        "the server lists {now} users; expected {}",
        baseline + known
    );
    Ok(())
}
