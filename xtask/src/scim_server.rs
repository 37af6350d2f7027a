//! Starting a Portcullis binary on a seeded database for the SCIM conformance checks and
//! the SCIM benchmark, and stopping it again.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::util;

/// The key sealing stored OIDC secrets on the throwaway databases (32 bytes, base64).
pub const ENCRYPTION_KEY: &str = "eHRhc2stc2NpbS1iZW5jaC1rZXktMzItYnl0ZXMuLi4=";

/// Where cargo puts its builds.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::root().join("target"))
}

/// Builds the server binary and `examples` of `portcullis-server` in `profile` ("debug"
/// or "release") and returns that profile's output directory: the binary is
/// `portcullis` in it, the examples are under `examples/`.
pub fn build_with(profile: &str, examples: &[&str]) -> Result<PathBuf> {
    let mut args = vec![
        "build",
        "--package",
        "portcullis-server",
        "--bin",
        "portcullis",
    ];
    for example in examples {
        args.extend(["--example", example]);
    }
    if profile == "release" {
        args.push("--release");
    }
    util::run("cargo", &args)?;
    Ok(target_dir().join(profile))
}

/// Builds the server binary and the seeding example in `profile` ("debug" or "release")
/// and returns their paths.
pub fn build(profile: &str) -> Result<(PathBuf, PathBuf)> {
    let dir = build_with(profile, &["scim_seed"])?;
    Ok((
        dir.join("portcullis"),
        dir.join("examples").join("scim_seed"),
    ))
}

/// What seeding printed: the database URL to serve and an API key.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub database_url: String,
    pub token: String,
    /// The password of the `--password-members`, when there are any.
    pub password: Option<String>,
}

/// Seeds `database_url` with a SCIM account and `members` members; `extra` is passed on
/// (`--ids-file`, `--pg-schema`).
pub fn seed(
    seeder: &Path,
    database_url: &str,
    members: usize,
    slug: &str,
    extra: &[&str],
) -> Result<Seeded> {
    let out = Command::new(seeder)
        .args([
            "--database-url",
            database_url,
            "--members",
            &members.to_string(),
            "--slug",
            slug,
        ])
        .args(extra)
        .env("PORTCULLIS_ENCRYPTION_KEY", ENCRYPTION_KEY)
        .stderr(Stdio::inherit())
        .output()
        .context("running scim_seed")?;
    if !out.status.success() {
        bail!("scim_seed failed with {}", out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::to_owned)
            .with_context(|| format!("scim_seed printed no {name}"))
    };
    Ok(Seeded {
        database_url: field("database_url=")?,
        token: field("token=")?,
        password: field("password=").ok(),
    })
}

/// A free port on the loopback interface.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running server, stopped (by its own pid) when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub port: u16,
}

impl Server {
    /// Starts `binary serve` on `database_url` and waits until `/healthz` answers.
    pub fn start(binary: &Path, database_url: &str, extra_env: &[(&str, &str)]) -> Result<Server> {
        Self::start_on(binary, database_url, free_port()?, extra_env)
    }

    /// As [`Server::start`], on a chosen port (when the public URL must be known first).
    pub fn start_on(
        binary: &Path,
        database_url: &str,
        port: u16,
        extra_env: &[(&str, &str)],
    ) -> Result<Server> {
        let bind = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(binary);
        cmd.arg("serve")
            .env("PORTCULLIS_DATABASE_URL", database_url)
            .env("PORTCULLIS_BIND", &bind)
            .env("PORTCULLIS_LOG", "warn")
            .env("PORTCULLIS_ENCRYPTION_KEY", ENCRYPTION_KEY)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().context("starting portcullis")?;
        let server = Server {
            child,
            base: format!("http://{bind}/scim/v2"),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if get(port, "/healthz").is_ok_and(|r| r.starts_with("HTTP/1.1 200")) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("portcullis did not answer /healthz on {bind} within 30 s")
    }

    /// The server's peak resident memory in KiB (`VmHWM`), on Linux.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        crate::machine::status_kib(self.child.id(), "VmHWM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bare HTTP/1.1 GET on the loopback port; returns the raw response.
pub fn get(port: u16, path: &str) -> Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}
