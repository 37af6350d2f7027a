//! The `portcullis` binary as an operator uses it: first start prints the admin's
//! password, which then signs in; operator commands work without the web UI.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    base: String,
    password: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db: &str) -> Server {
    let port = free_port();
    let mut child = Command::new(BIN)
        .arg("serve")
        .env("PORTCULLIS_DATABASE_URL", db)
        .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut password = String::new();
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(p) = line.trim().strip_prefix("Password:") {
            password = p.trim().to_owned();
        }
        if line.starts_with("Portcullis is listening") {
            break;
        }
    }
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        base,
        password,
    }
}

fn cli(db: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("PORTCULLIS_DATABASE_URL", db)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn first_start_prints_a_password_that_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let db = db.to_str().unwrap();
    let server = start(db);
    assert_eq!(server.password.len(), 24, "printed password");

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = |password: String| {
        client
            .post(format!("{}/api/v1/login", server.base))
            .json(&json!({"account": "default", "email": "admin@localhost", "password": password}))
            .send()
    };
    assert_eq!(
        login("wrong-password-123".into()).await.unwrap().status(),
        401
    );
    let resp = login(server.password.clone()).await.unwrap();
    assert_eq!(resp.status(), 200);
    // The binary wires the same middleware as the tests: a request id on every answer.
    let request_id = resp
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(
        request_id.is_some_and(|id| id.len() >= 16),
        "{:?}",
        resp.headers()
    );
    let body: Value = resp.json().await.unwrap();
    let me: Value = client
        .get(format!("{}/api/v1/me", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "admin@localhost");
    let resp = client
        .post(format!("{}/api/v1/logout", server.base))
        .header("X-CSRF-Token", body["csrf_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        client
            .get(format!("{}/api/v1/me", server.base))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // ... and every request is counted in /metrics by route and status.
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"portcullis_http_requests_total{route="/api/v1/login",method="POST",status="401"} 1"#,
        r#"portcullis_http_requests_total{route="/api/v1/login",method="POST",status="200"} 1"#,
        r#"portcullis_http_requests_total{route="/api/v1/me",method="GET",status="401"} 1"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} not in\n{metrics}"
        );
    }
    drop(server);

    // A restart on the same database prints no new password.
    let again = start(db);
    assert!(again.password.is_empty());
}

#[test]
fn operator_commands() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let db = db.to_str().unwrap();
    let (ok, out) = cli(
        db,
        &[
            "account",
            "create",
            "--slug",
            "acme",
            "--name",
            "Acme",
            "--admin-email",
            "ops@acme.test",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("Password:"), "{out}");
    let (ok, out) = cli(
        db,
        &[
            "account",
            "create",
            "--slug",
            "acme",
            "--name",
            "Again",
            "--admin-email",
            "x@acme.test",
        ],
    );
    assert!(!ok && out.contains("already taken"), "{out}");
    let (ok, out) = cli(
        db,
        &[
            "account",
            "create",
            "--slug",
            "Bad Slug",
            "--name",
            "x",
            "--admin-email",
            "x@acme.test",
        ],
    );
    assert!(!ok && out.contains("slug"), "{out}");
    let (ok, out) = cli(
        db,
        &[
            "bot",
            "create",
            "--account",
            "acme",
            "--name",
            "SCIM provisioner",
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = cli(
        db,
        &[
            "api-key",
            "create",
            "--account",
            "acme",
            "--owner",
            "SCIM provisioner",
            "--description",
            "Okta",
            "--scope",
            "scim",
        ],
    );
    assert!(ok && out.contains("Secret: pcl_"), "{out}");
    // A key without a scope is refused.
    let (ok, out) = cli(
        db,
        &[
            "api-key",
            "create",
            "--account",
            "acme",
            "--owner",
            "SCIM provisioner",
            "--description",
            "Unscoped",
        ],
    );
    assert!(!ok && out.contains("--scope"), "{out}");
    let (ok, out) = cli(
        db,
        &[
            "api-key",
            "create",
            "--account",
            "acme",
            "--owner",
            "ops@acme.test",
            "--description",
            "CI",
            "--scope",
            "admin",
            "--scope",
            "scim",
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = cli(
        db,
        &[
            "api-key",
            "create",
            "--account",
            "acme",
            "--owner",
            "nobody@acme.test",
            "--description",
            "x",
            "--scope",
            "admin",
        ],
    );
    assert!(!ok, "{out}");
    // Enforcing SSO without an identity provider would lock everyone out.
    let (ok, out) = cli(
        db,
        &[
            "account",
            "set-enforcement",
            "--account",
            "acme",
            "enforced",
        ],
    );
    assert!(!ok && out.contains("identity provider"), "{out}");
    let (ok, out) = cli(
        db,
        &["account", "set-enforcement", "--account", "acme", "mixed"],
    );
    assert!(ok && out.contains("mixed"), "{out}");
    for help in [
        &["--help"][..],
        &["serve", "--help"],
        &["account", "create", "--help"],
        &["api-key", "create", "--help"],
        &["bot", "create", "--help"],
        &["account", "set-enforcement", "--help"],
        &["migrate", "--help"],
    ] {
        let (ok, out) = cli(db, help);
        assert!(ok && out.contains("Usage"), "{help:?}: {out}");
    }
    let (ok, out) = cli(db, &["migrate"]);
    assert!(ok && out.contains("migrations applied"), "{out}");
}

#[test]
fn sigterm_lets_requests_in_flight_finish() {
    use std::io::{Read, Write};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let mut server = start(db.to_str().unwrap());
    // A request whose body is still arriving when the signal comes is in flight for sure.
    let body =
        json!({"account": "default", "email": "admin@localhost", "password": server.password})
            .to_string();
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    // First a whole request on the same keep-alive connection, so a worker has surely
    // taken the connection (a connection still in the listen backlog is simply reset).
    write!(conn, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\nok") {
        conn.read_exact(&mut byte).unwrap();
        seen.push(byte[0]);
    }
    write!(
        conn,
        "POST /api/v1/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let (first, rest) = body.split_at(10);
    conn.write_all(first.as_bytes()).unwrap();
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(300));
    // New connections are refused while the old one is still served.
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "the listener is closed"
    );
    conn.write_all(rest.as_bytes()).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("csrf_token"), "{answer}");
    let deadline = Instant::now() + Duration::from_secs(35);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit after SIGTERM: {status}");
}
