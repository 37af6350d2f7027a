//! The SSO benchmark's programs (`cargo xtask bench sso` runs them in turn; each prints
//! one JSON object on stdout):
//!
//! - `seed --database-url DB --dir D --op-url URL [--members N]`: an account `ssobench`
//!   with a SAML IdP (IdP-initiated login on, trusting a fresh key written to `D`) and an
//!   OpenID Connect IdP at `URL`, and N members for each;
//! - `verify [--threads T] [--count N]`: SAML response verification by `portcullis-sso`
//!   alone, in this process: N responses signed in advance (distinct ids), verified on T
//!   threads, with the latency of each verification;
//! - `acs --server ADDR --public-url U --dir D --idp ID [--count N] [--concurrency C]`:
//!   N signed IdP-initiated responses POSTed to the running server's ACS over C
//!   connections (each a first use of its assertion id, each opening a session), then a
//!   few of them again, which the replay cache must refuse;
//! - `oidc --server ADDR --op-port P --idp ID [--seconds S] [--concurrency C]`: a mock
//!   OpenID provider on port P (see `mock_op.rs`) and C browsers doing start → the OP's
//!   authorization endpoint → the server's callback, again and again for S seconds.

#![allow(missing_docs)]

mod mock_op;
mod saml_docs;
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "../../../portcullis-sso/tests/it/saml_fixture.rs"]
mod saml_fixture;
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
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use chrono::Utc;
use cli::{number, required};
use http1::{form, path_of, Conn, Jar};
use latency::{Histogram, Tally};
use portcullis_app::accounts;
use portcullis_domain::{
    IdentityProvider, IdpId, IdpProtocol, OidcSettings, Role, SamlSettings, User, UserId, UserKind,
    UserOrigin,
};
use portcullis_sso::saml::{verify_response, Expected, SpConfig};
use portcullis_store::Store;
use saml_docs::Wanted;
use serde_json::json;
use uuid::Uuid;

const SLUG: &str = "ssobench";
const CLIENT_ID: &str = "portcullis-bench";
const CLIENT_SECRET: &str = "bench-client-secret";

fn saml_email(j: usize) -> String {
    format!("saml{j:05}@{SLUG}.test")
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args.first().map(String::as_str) {
        Some("seed") => seed(&args)?,
        Some("verify") => verify(&args)?,
        Some("acs") => runtime()?.block_on(acs(&args))?,
        Some("oidc") => runtime()?.block_on(oidc(&args))?,
        _ => bail!("usage: sso_bench seed|verify|acs|oidc …"),
    };
    println!("{out}");
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn seed(args: &[String]) -> Result<serde_json::Value> {
    let url = required(args, "--database-url")?;
    let dir = PathBuf::from(required(args, "--dir")?);
    let op_url = required(args, "--op-url")?;
    let members = number(args, "--members", 500)?;
    let key = portcullis_server::encryption_key::resolve(
        std::env::var("PORTCULLIS_ENCRYPTION_KEY").ok().as_deref(),
        &url,
    )?;
    let store = Store::connect(&url)?.with_encryption_key(&key);
    store.migrate()?;
    let now = Utc::now();
    let account = accounts::create(&store, SLUG, "SSO bench", "admin@ssobench.test", now)?.account;
    let idp_key = saml_fixture::idp_key();
    saml_docs::save_key(&dir, idp_key)?;
    let saml = IdentityProvider {
        id: IdpId::from_uuid(Uuid::new_v4()),
        account: account.id,
        description: "Bench SAML".into(),
        enabled: true,
        protocol: IdpProtocol::Saml(SamlSettings {
            idp_entity_id: saml_fixture::IDP_ENTITY.into(),
            sso_url: "https://idp.example.test/saml/sso".into(),
            signing_certificates: vec![idp_key.cert_b64.clone()],
            idp_initiated: true,
            metadata_url: None,
            metadata_xml: None,
            email_attribute: None,
            name_attribute: None,
            sign_authn_requests: false,
            sp_signing_key: None,
            encrypted_assertions: portcullis_domain::AssertionEncryption::Off,
            sp_encryption_keys: None,
            slo_url: None,
        }),
        created_at: now,
    };
    let oidc = IdentityProvider {
        id: IdpId::from_uuid(Uuid::new_v4()),
        account: account.id,
        description: "Bench OIDC".into(),
        enabled: true,
        protocol: IdpProtocol::Oidc(OidcSettings {
            issuer: op_url,
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            scopes: vec![],
            trust_unverified_email: true,
        }),
        created_at: now,
    };
    store.insert_idp(&saml)?;
    store.insert_idp(&oidc)?;
    for j in 0..members {
        for email in [saml_email(j), format!("oidc{j:05}@{SLUG}.test")] {
            store.insert_user(&User {
                id: UserId::from_uuid(Uuid::new_v4()),
                account: account.id,
                display_name: email.clone(),
                email: portcullis_domain::Email::parse(&email)?,
                kind: UserKind::Human,
                role: Role::Member,
                active: true,
                password_hash: None,
                external_id: None,
                origin: UserOrigin::Invite,
                created_at: now,
                updated_at: now,
            })?;
        }
    }
    Ok(json!({
        "slug": SLUG, "saml_idp": saml.id.to_string(), "oidc_idp": oidc.id.to_string(),
        "members": members,
    }))
}

/// Verification alone: `--threads` threads share `--count` pre-signed responses.
fn verify(args: &[String]) -> Result<serde_json::Value> {
    let threads = number(args, "--threads", 2)?.max(1);
    let count = number(args, "--count", 6000)?;
    let idp = IdpId::from_uuid(Uuid::from_u128(1));
    let sp = SpConfig::for_idp("https://portcullis.bench.test", idp);
    let key = saml_fixture::idp_key();
    let settings = saml_fixture::settings(&[key]);
    let signing = Instant::now();
    let docs = saml_docs::sign_all(count, 2, &|i| Wanted {
        sp: sp.clone(),
        key,
        in_response_to: Some(format!("_req{i}")),
        email: format!("member{i}@bench.test"),
        serial: i,
    })?;
    let sign_seconds = signing.elapsed().as_secs_f64();
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let (next, docs, settings, sp) = (&next, &docs, &settings, &sp);
    let results: Vec<(Histogram, u64)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || {
                    let (mut h, mut errors) = (Histogram::default(), 0u64);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(doc) = docs.get(i) else {
                            return (h, errors);
                        };
                        let pending = [format!("_req{i}")];
                        let t = Instant::now();
                        let verified = verify_response(
                            settings,
                            idp,
                            sp,
                            doc,
                            Expected::SpInitiated {
                                pending_request_ids: &pending,
                            },
                            Utc::now(),
                            chrono::Duration::minutes(2),
                        );
                        let took = t.elapsed();
                        match verified {
                            Ok(a) if a.assertion_id.ends_with(&format!("-{i}")) => h.record(took),
                            Ok(_) | Err(_) => errors += 1,
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().map_err(|_| anyhow::anyhow!("a thread panicked")))
            .collect::<Result<Vec<_>>>()
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let mut all = Histogram::default();
    let mut errors = 0;
    for (h, e) in &results {
        all.merge(h);
        errors += e;
    }
    Ok(json!({
        "threads": threads, "count": count, "seconds": seconds,
        "per_second": all.count() as f64 / seconds,
        "p50_ms": all.quantile_ms(0.5), "p99_ms": all.quantile_ms(0.99),
        "max_ms": all.max_ms(), "errors": errors, "sign_seconds": sign_seconds,
    }))
}

/// ACS POSTs against the running server.
async fn acs(args: &[String]) -> Result<serde_json::Value> {
    let server: SocketAddr = required(args, "--server")?.parse()?;
    let public_url = required(args, "--public-url")?;
    let dir = PathBuf::from(required(args, "--dir")?);
    let idp: IdpId = required(args, "--idp")?
        .parse()
        .map_err(|_| anyhow::anyhow!("bad --idp"))?;
    let count = number(args, "--count", 6000)?;
    let concurrency = number(args, "--concurrency", 16)?.max(1);
    let members = number(args, "--members", 500)?.max(1);
    let key = saml_docs::load_key(&dir)?;
    let sp = SpConfig::for_idp(&public_url, idp);
    let signing = Instant::now();
    let docs = saml_docs::sign_all(count, 2, &|i| Wanted {
        sp: sp.clone(),
        key,
        in_response_to: None,
        email: saml_email(i % members),
        serial: i,
    })?;
    let sign_seconds = signing.elapsed().as_secs_f64();
    eprintln!("sso_bench: signed {count} responses in {sign_seconds:.1} s");
    let bodies: Arc<Vec<String>> = Arc::new(
        docs.iter()
            .map(|d| form(&[("SAMLResponse", d), ("RelayState", "bench")]))
            .collect(),
    );
    let path = format!("/sso/saml/{idp}/acs");
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (bodies, next, path) = (bodies.clone(), next.clone(), path.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut conn = match Conn::connect(server).await {
                    Ok(c) => c,
                    Err(e) => {
                        tally.error("acs", format!("connect: {e}"));
                        return tally;
                    }
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else {
                        return tally;
                    };
                    let t = Instant::now();
                    let answer = conn
                        .request(
                            "POST",
                            &path,
                            &[("Content-Type", "application/x-www-form-urlencoded")],
                            body.as_bytes(),
                        )
                        .await;
                    let took = t.elapsed();
                    match answer {
                        Ok(r) if r.status == 303 && session_set(&r) => tally.ok("acs", took),
                        Ok(r) => tally.error(
                            "acs",
                            format!(
                                "{}: {}",
                                r.status,
                                r.text().chars().take(300).collect::<String>()
                            ),
                        ),
                        Err(e) => tally.error("acs", e),
                    }
                }
            })
        })
        .collect();
    let mut tally = Tally::default();
    for t in tasks {
        tally.merge(&t.await?);
    }
    let seconds = started.elapsed().as_secs_f64();
    // The replay cache: every one of these was accepted once; a second POST must fail.
    let mut conn = Conn::connect(server).await?;
    for body in bodies.iter().step_by((count / 50).max(1)) {
        let t = Instant::now();
        let answer = conn
            .request(
                "POST",
                &path,
                &[("Content-Type", "application/x-www-form-urlencoded")],
                body.as_bytes(),
            )
            .await;
        match answer {
            Ok(r) if r.status == 401 && r.text().contains("assertion_replayed") => {
                tally.ok("replay_refused", t.elapsed())
            }
            Ok(r) => tally.error("replay_refused", format!("a replay answered {}", r.status)),
            Err(e) => tally.error("replay_refused", e),
        }
    }
    let mut out = tally.to_json(seconds);
    out["sign_seconds"] = json!(sign_seconds);
    out["concurrency"] = json!(concurrency);
    Ok(out)
}

fn session_set(r: &http1::Response) -> bool {
    let mut jar = Jar::default();
    jar.store(r);
    jar.get("portcullis_session").is_some()
}

/// OpenID Connect logins against the running server and the mock OP.
async fn oidc(args: &[String]) -> Result<serde_json::Value> {
    let server: SocketAddr = required(args, "--server")?.parse()?;
    let op_port: u16 = required(args, "--op-port")?.parse()?;
    let idp = required(args, "--idp")?;
    let seconds: u64 = number(args, "--seconds", 15)?;
    let concurrency = number(args, "--concurrency", 16)?.max(1);
    let members = number(args, "--members", 500)?.max(1);
    let registration = mock_op::Registration {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
    };
    let issuer = mock_op::start(op_port, registration, &format!("{SLUG}.test"))?;
    let op_addr: SocketAddr = format!("127.0.0.1:{op_port}").parse()?;
    // Wait for the OP to listen.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut c) = Conn::connect(op_addr).await {
            if c.request("GET", "/.well-known/openid-configuration", &[], b"")
                .await
                .is_ok_and(|r| r.status == 200)
            {
                break;
            }
        }
        if Instant::now() > deadline {
            bail!("the mock OP did not start");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let stop = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, idp, issuer) = (next.clone(), idp.clone(), issuer.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let (mut conn, mut op) =
                    match (Conn::connect(server).await, Conn::connect(op_addr).await) {
                        (Ok(a), Ok(b)) => (a, b),
                        (Err(e), _) | (_, Err(e)) => {
                            tally.error("start", format!("connect: {e}"));
                            return tally;
                        }
                    };
                let mut jar = Jar::default();
                while Instant::now() < stop {
                    let j = next.fetch_add(1, Ordering::Relaxed) % members;
                    if let Err(e) =
                        oidc_login(&mut conn, &mut op, &mut jar, &idp, &issuer, j, &mut tally).await
                    {
                        tally.error("flow", e);
                    }
                    // Sign out locally: the next login starts without a session.
                    jar.remove("portcullis_session");
                }
                tally
            })
        })
        .collect();
    let mut tally = Tally::default();
    for t in tasks {
        tally.merge(&t.await?);
    }
    let mut out = tally.to_json(started.elapsed().as_secs_f64());
    out["concurrency"] = json!(concurrency);
    Ok(out)
}

/// One login: start (303 to the OP, state/nonce/PKCE challenge in the URL), the OP's
/// authorization endpoint (302 back with code, state and iss), then the callback with the
/// browser's cookie (303 and a session).
async fn oidc_login(
    conn: &mut Conn,
    op: &mut Conn,
    jar: &mut Jar,
    idp: &str,
    issuer: &str,
    j: usize,
    tally: &mut Tally,
) -> Result<(), String> {
    let start = format!("/a/{SLUG}/sso/{idp}/start");
    let cookie = jar.header();
    let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("Cookie", c.as_str())).collect();
    let t = Instant::now();
    let r = conn.request("GET", &start, &headers, b"").await?;
    if r.status != 303 {
        return Err(format!("start answered {}", r.status));
    }
    tally.ok("start", t.elapsed());
    jar.store(&r);
    let location = r.header("location").ok_or("start without Location")?;
    if !location.starts_with(&format!("{issuer}/authorize?")) {
        return Err(format!("start sent the browser to {location}"));
    }
    let url = url::Url::parse(location).map_err(|e| e.to_string())?;
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    for needed in ["state", "nonce", "code_challenge"] {
        if q.get(needed).is_none_or(String::is_empty) {
            return Err(format!("the authorization request has no {needed}"));
        }
    }
    if q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return Err("the authorization request does not use S256".into());
    }

    let authorize = format!("{}&login_hint=oidc{j:05}", path_of(location));
    let t = Instant::now();
    let r = op.request("GET", &authorize, &[], b"").await?;
    if r.status != 302 {
        return Err(format!("the OP answered {}: {}", r.status, r.text()));
    }
    tally.ok("authorize", t.elapsed());
    let back = r.header("location").ok_or("the OP sent no Location")?;
    let callback = path_of(back);

    let cookie = jar.header().unwrap_or_default();
    let t = Instant::now();
    let r = conn
        .request("GET", &callback, &[("Cookie", cookie.as_str())], b"")
        .await?;
    let took = t.elapsed();
    jar.store(&r);
    if r.status == 303 && jar.get("portcullis_session").is_some() {
        tally.ok("callback", took);
        Ok(())
    } else {
        tally.error(
            "callback",
            format!(
                "{}: {}",
                r.status,
                r.text().chars().take(300).collect::<String>()
            ),
        );
        Ok(())
    }
}
