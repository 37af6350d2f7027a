//! The soak test's load generator (`cargo xtask soak` builds, seeds, starts the server,
//! runs this and watches the server's memory).
//!
//! `--connections` simulated clients each hold one keep-alive connection for the whole
//! run and, after a random think time (uniform in 0..2×`--think-ms`), do one action:
//!
//! | share | action | requests (expected status) |
//! |---:|---|---|
//! | 35 % | SCIM get a member by id | `GET /scim/v2/Users/{id}` (200) |
//! | 30 % | SCIM find by userName | `GET /scim/v2/Users?filter=userName eq "…"` (200, one result) |
//! | 15 % | SCIM (de)activate one of its own members | `PATCH /scim/v2/Users/{id}` active (200) |
//! | 9 % | SCIM create | `POST /scim/v2/Users` (201) |
//! | 9 % | SCIM delete one it created | `DELETE /scim/v2/Users/{id}` (204) |
//! | 2 % | password login and out | login page (200), form POST with the CSRF double-submit cookie (303 + session), the signed-in home page (200), `/api/v1/me` (200), sign-out form (303) |
//!
//! Each client sends its own `X-Forwarded-For` address (the server trusts 127.0.0.1 as a
//! proxy) and signs in as its own members, never one of them more than once a minute, so
//! honest traffic stays inside the login throttle (per address 50 then one per 6 s, per
//! account and email 10 then one a minute). Any other status, a transport error or a
//! time-out is an error. Prints the figures as one JSON object on stdout.
//!
//! `soak --server 127.0.0.1:PORT --slug S --token T --ids-file F --members N --password P
//! --password-members M [--connections 1000] [--seconds 60] [--think-ms 2000]`

#![allow(missing_docs)]

// Shared with the other load generator, which uses other parts of them.
#[path = "../support/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "../support/http1.rs"]
mod http1;
#[allow(dead_code)]
#[path = "../support/latency.rs"]
mod latency;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Result};
use cli::{number, required};
use http1::{form, Conn, Jar, Response};
use latency::Tally;
use serde_json::json;

/// Shortest time between two logins of one member: the throttle allows one a minute.
const LOGIN_SPACING: Duration = Duration::from_secs(61);

/// What every client shares.
struct Plan {
    server: SocketAddr,
    slug: String,
    token: String,
    ids: Vec<String>,
    members: usize,
    password: String,
    password_members: usize,
    connections: usize,
    think: Duration,
    deadline: Instant,
    run_tag: u64,
    requests: AtomicU64,
    errors: AtomicU64,
}

/// A small xorshift generator: variety, not cryptography.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
}

/// One simulated client.
struct Client {
    n: usize,
    conn: Conn,
    rng: Rng,
    ip: String,
    own_ids: Vec<String>,
    created: Vec<String>,
    members: Vec<(String, Option<Instant>)>,
    tally: Tally,
    creates: u64,
    login_flows: u64,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let server: SocketAddr = required(&args, "--server")?.parse()?;
    let ids: Vec<String> = std::fs::read_to_string(required(&args, "--ids-file")?)?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let connections: usize = number(&args, "--connections", 1000)?;
    let seconds: u64 = number(&args, "--seconds", 60)?;
    let think_ms: u64 = number(&args, "--think-ms", 2000)?;
    let password_members: usize = required(&args, "--password-members")?.parse()?;
    if ids.len() < connections {
        bail!(
            "{} member ids for {connections} clients: seed at least ten members per client",
            ids.len()
        );
    }
    if password_members < connections {
        bail!("{password_members} password members for {connections} clients: seed one or more per client");
    }
    let run_tag = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let plan = Arc::new(Plan {
        server,
        slug: required(&args, "--slug")?,
        token: required(&args, "--token")?,
        ids,
        members: required(&args, "--members")?.parse()?,
        password: required(&args, "--password")?,
        password_members,
        connections,
        think: Duration::from_millis(think_ms),
        deadline: Instant::now() + Duration::from_secs(seconds),
        run_tag,
        requests: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(drive(plan))?;
    println!("{result}");
    Ok(())
}

async fn drive(plan: Arc<Plan>) -> Result<serde_json::Value> {
    let started = Instant::now();
    let progress = {
        let plan = plan.clone();
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                let now = plan.requests.load(Ordering::Relaxed);
                eprintln!(
                    "soak: {:>4.0} s, {:>6.0} requests/s, {} errors so far",
                    started.elapsed().as_secs_f64(),
                    (now - last) as f64 / 10.0,
                    plan.errors.load(Ordering::Relaxed)
                );
                last = now;
            }
        })
    };
    let clients: Vec<_> = (0..plan.connections)
        .map(|n| tokio::spawn(run_client(plan.clone(), n)))
        .collect();
    let mut tally = Tally::default();
    let (mut connected, mut reconnects, mut creates, mut login_flows) = (0u64, 0u64, 0u64, 0u64);
    for c in clients {
        match c.await? {
            Ok(client) => {
                connected += 1;
                reconnects += client.conn.reconnects;
                creates += client.creates;
                login_flows += client.login_flows;
                tally.merge(&client.tally);
            }
            Err(message) => tally.error("connect", message),
        }
    }
    progress.abort();
    let elapsed = started.elapsed().as_secs_f64();
    let mut out = tally.to_json(elapsed);
    out["connections"] = json!(plan.connections);
    out["connected"] = json!(connected);
    out["reconnects"] = json!(reconnects);
    out["creates"] = json!(creates);
    out["login_flows"] = json!(login_flows);
    out["think_ms"] = json!(plan.think.as_millis() as u64);
    Ok(out)
}

async fn run_client(plan: Arc<Plan>, n: usize) -> Result<Client, String> {
    let mut rng = Rng::new(n as u64 + 1);
    // Spread the first requests over one think time.
    let first = plan.think.mul_f64(rng.below(1000) as f64 / 1000.0);
    tokio::time::sleep(first).await;
    let conn = Conn::connect(plan.server)
        .await
        .map_err(|e| format!("client {n}: {e}"))?;
    let own_ids = plan
        .ids
        .iter()
        .skip(n)
        .step_by(plan.connections)
        .cloned()
        .collect();
    let members = (n..plan.password_members)
        .step_by(plan.connections)
        .map(|i| (format!("person{i:05}@{}.test", plan.slug), None))
        .collect();
    let mut client = Client {
        n,
        conn,
        rng,
        ip: format!("10.{}.{}.{}", 64 + n / 65536, (n / 256) % 256, n % 256),
        own_ids,
        created: Vec::new(),
        members,
        tally: Tally::default(),
        creates: 0,
        login_flows: 0,
    };
    while Instant::now() < plan.deadline {
        let think = plan
            .think
            .mul_f64(2.0 * client.rng.below(1000) as f64 / 1000.0);
        let wake = Instant::now() + think;
        if wake >= plan.deadline {
            break;
        }
        tokio::time::sleep(think).await;
        let roll = client.rng.below(100);
        match roll {
            0..=34 => scim_get(&plan, &mut client).await,
            35..=64 => scim_filter(&plan, &mut client).await,
            65..=79 => scim_patch(&plan, &mut client).await,
            80..=88 => scim_create(&plan, &mut client).await,
            89..=97 => match client.created.pop() {
                Some(id) => scim_delete(&plan, &mut client, id).await,
                None => scim_create(&plan, &mut client).await,
            },
            _ => login_flow(&plan, &mut client).await,
        }
    }
    Ok(client)
}

/// Records an error of `kind` (in the client's tally and the live counter).
fn fail(plan: &Plan, client: &mut Client, kind: &'static str, message: String) {
    plan.errors.fetch_add(1, Ordering::Relaxed);
    client.tally.error(kind, message);
}

/// Sends one request, records it under `kind` when its status is `expected`, and returns
/// the answer (or `None` after recording an error).
async fn send(
    plan: &Plan,
    client: &mut Client,
    kind: &'static str,
    (method, path): (&str, &str),
    headers: &[(&str, &str)],
    body: &[u8],
    expected: u16,
) -> Option<Response> {
    let started = Instant::now();
    let result = client.conn.request(method, path, headers, body).await;
    let took = started.elapsed();
    plan.requests.fetch_add(1, Ordering::Relaxed);
    match result {
        Ok(r) if r.status == expected => {
            client.tally.ok(kind, took);
            Some(r)
        }
        Ok(r) => {
            let body: String = r.text().chars().take(200).collect();
            fail(
                plan,
                client,
                kind,
                format!(
                    "{method} {path}: {} (expected {expected}): {body}",
                    r.status
                ),
            );
            None
        }
        Err(e) => {
            fail(plan, client, kind, e);
            None
        }
    }
}

fn scim_headers(plan: &Plan) -> [(&'static str, String); 2] {
    [
        ("Authorization", format!("Bearer {}", plan.token)),
        ("Content-Type", "application/scim+json".to_owned()),
    ]
}

async fn scim(
    plan: &Plan,
    client: &mut Client,
    kind: &'static str,
    request: (&str, &str),
    body: &str,
    expected: u16,
) -> Option<Response> {
    let owned = scim_headers(plan);
    let headers: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    send(
        plan,
        client,
        kind,
        request,
        &headers,
        body.as_bytes(),
        expected,
    )
    .await
}

async fn scim_get(plan: &Plan, client: &mut Client) {
    let id = &plan.ids[client.rng.below(plan.ids.len())];
    let path = format!("/scim/v2/Users/{id}");
    scim(plan, client, "scim_get", ("GET", &path), "", 200).await;
}

async fn scim_filter(plan: &Plan, client: &mut Client) {
    let i = client.rng.below(plan.members);
    let path = format!(
        "/scim/v2/Users?filter=userName%20eq%20%22member{i:06}%40{}.test%22",
        plan.slug
    );
    if let Some(r) = scim(plan, client, "scim_filter", ("GET", &path), "", 200).await {
        if !r.text().contains("\"totalResults\":1") {
            fail(
                plan,
                client,
                "scim_filter_result",
                format!("{path}: not exactly one result"),
            );
        }
    }
}

async fn scim_patch(plan: &Plan, client: &mut Client) {
    let id = client.own_ids[client.rng.below(client.own_ids.len())].clone();
    let active = client.rng.below(2) == 0;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": active}]
    })
    .to_string();
    let path = format!("/scim/v2/Users/{id}");
    scim(plan, client, "scim_patch", ("PATCH", &path), &body, 200).await;
}

async fn scim_create(plan: &Plan, client: &mut Client) {
    client.creates += 1;
    let user_name = format!(
        "soak-{}-{}-{}@{}.test",
        plan.run_tag, client.n, client.creates, plan.slug
    );
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name, "active": true,
        "name": {"givenName": "Soak", "familyName": format!("{}", client.n)},
        "emails": [{"value": user_name, "type": "work", "primary": true}]
    })
    .to_string();
    let created = scim(
        plan,
        client,
        "scim_create",
        ("POST", "/scim/v2/Users"),
        &body,
        201,
    )
    .await;
    if let Some(r) = created {
        match serde_json::from_slice::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned))
        {
            Some(id) => client.created.push(id),
            None => fail(plan, client, "scim_create", "201 without an id".to_owned()),
        }
    }
}

async fn scim_delete(plan: &Plan, client: &mut Client, id: String) {
    let path = format!("/scim/v2/Users/{id}");
    scim(plan, client, "scim_delete", ("DELETE", &path), "", 204).await;
}

/// The value of the first `name="csrf" value="…"` field in an HTML page.
fn csrf_field(html: &str) -> Option<String> {
    let start = html.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_owned())
}

async fn login_flow(plan: &Plan, client: &mut Client) {
    // The member of this client who signed in longest ago, if the throttle allows it.
    let now = Instant::now();
    let Some(slot) = client
        .members
        .iter()
        .enumerate()
        .filter(|(_, (_, last))| last.is_none_or(|t| now.duration_since(t) >= LOGIN_SPACING))
        .min_by_key(|(_, (_, last))| *last)
        .map(|(i, _)| i)
    else {
        // Every member signed in within the minute: do a read instead.
        return scim_get(plan, client).await;
    };
    client.members[slot].1 = Some(now);
    client.login_flows += 1;
    let email = client.members[slot].0.clone();
    let ip_owned = client.ip.clone();
    let ip = ip_owned.as_str();
    let mut jar = Jar::default();
    let login = format!("/a/{}/login", plan.slug);

    let Some(page) = send(
        plan,
        client,
        "login_page",
        ("GET", &login),
        &[("X-Forwarded-For", ip)],
        b"",
        200,
    )
    .await
    else {
        return;
    };
    jar.store(&page);
    let Some(csrf) = jar.get("portcullis_csrf").map(str::to_owned) else {
        return fail(plan, client, "login_page", "no CSRF cookie".to_owned());
    };
    if csrf_field(&page.text()).as_deref() != Some(csrf.as_str()) {
        return fail(
            plan,
            client,
            "login_page",
            "the form's CSRF field differs from the cookie".to_owned(),
        );
    }

    let body = form(&[
        ("email", email.as_str()),
        ("password", plan.password.as_str()),
        ("csrf", csrf.as_str()),
    ]);
    let cookie = jar.header().unwrap_or_default();
    let Some(signed_in) = send(
        plan,
        client,
        "login_post",
        ("POST", &login),
        &[
            ("X-Forwarded-For", ip),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", cookie.as_str()),
        ],
        body.as_bytes(),
        303,
    )
    .await
    else {
        return;
    };
    jar.store(&signed_in);
    if jar.get("portcullis_session").is_none() {
        return fail(
            plan,
            client,
            "login_post",
            "303 without a session cookie".to_owned(),
        );
    }

    let cookie = jar.header().unwrap_or_default();
    let home_path = format!("/a/{}/", plan.slug);
    let Some(home) = send(
        plan,
        client,
        "home",
        ("GET", &home_path),
        &[("X-Forwarded-For", ip), ("Cookie", cookie.as_str())],
        b"",
        200,
    )
    .await
    else {
        return;
    };
    let Some(logout_csrf) = csrf_field(&home.text()) else {
        return fail(
            plan,
            client,
            "home",
            "no sign-out form on the home page".to_owned(),
        );
    };

    if let Some(me) = send(
        plan,
        client,
        "me",
        ("GET", "/api/v1/me"),
        &[("X-Forwarded-For", ip), ("Cookie", cookie.as_str())],
        b"",
        200,
    )
    .await
    {
        if !me.text().contains(&email) {
            fail(
                plan,
                client,
                "me",
                format!("/api/v1/me does not name {email}"),
            );
        }
    }

    let body = form(&[("csrf", logout_csrf.as_str())]);
    let logout = format!("/a/{}/logout", plan.slug);
    if let Some(out) = send(
        plan,
        client,
        "logout",
        ("POST", &logout),
        &[
            ("X-Forwarded-For", ip),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", cookie.as_str()),
        ],
        body.as_bytes(),
        303,
    )
    .await
    {
        jar.store(&out);
        if jar.get("portcullis_session").is_some() {
            fail(
                plan,
                client,
                "logout",
                "the session cookie was not cleared".to_owned(),
            );
        }
    }
}
