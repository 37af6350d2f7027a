//! A reusable harness for browser tests: the `portcullis` binary on a temporary SQLite
//! database, and headless Chromium driven over WebDriver (chromedriver + fantoccini).
//!
//! [`Harness::start`] answers `None` (after printing a note) when chromedriver is not
//! installed, so the suite still runs on machines without a browser; CI installs
//! `chromium` and `chromium-driver` through `cargo xtask setup`. Screenshots go to
//! `target/e2e-screenshots/` (next to the test binary, so `CARGO_TARGET_DIR` is honoured).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn find_program(env_var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// A child process killed when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The running server, its chromedriver, and a browser session.
pub struct Harness {
    /// The WebDriver client.
    pub client: Client,
    /// The server's base URL, such as `http://127.0.0.1:41234`.
    pub base: String,
    /// The bootstrap admin's password (`admin@localhost`, account `default`).
    pub password: String,
    /// The SQLite database file the server uses.
    pub db: String,
    /// Extra environment the server was started with (for operator commands).
    pub env: Vec<(String, String)>,
    _server: Process,
    _driver: Process,
    _dir: TempDir,
    _profile: TempDir,
}

impl Harness {
    /// Starts the binary with `env` added, chromedriver and a headless Chromium; `None`
    /// when chromedriver is missing.
    pub async fn start(env: &[(&str, &str)]) -> Option<Self> {
        let Some(driver) = find_program("CHROMEDRIVER", &["chromedriver"]) else {
            eprintln!("note: chromedriver not found (install chromium-driver, or run `cargo xtask setup`); browser test skipped");
            return None;
        };
        let chromium = find_program(
            "CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("e2e.db").to_str().unwrap().to_owned();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let (server, base, password) = start_server(&db, &env);

        let driver_port = free_port();
        let driver = Process(
            Command::new(driver)
                .arg(format!("--port={driver_port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_for_port(driver_port, "chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let mut options = json!({"args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--window-size=1280,1600",
            format!("--user-data-dir={}", profile.path().display()),
        ]});
        if let Some(binary) = chromium {
            options["binary"] = json!(binary);
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::native()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
            .expect("a WebDriver session with headless Chromium");
        Some(Self {
            client,
            base,
            password,
            db,
            env,
            _server: server,
            _driver: driver,
            _dir: dir,
            _profile: profile,
        })
    }

    /// Opens a path of the server.
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    /// The page's HTML.
    pub async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    /// Waits (up to ten seconds) until the page contains `text`, and returns the page.
    pub async fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let page = self.source().await;
            if page.contains(text) || Instant::now() > deadline {
                return page;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types into the field matched by a CSS selector.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Clicks the element matched by a CSS selector.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// The `value` of the element matched by a CSS selector.
    pub async fn value(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// Saves a screenshot as `target/e2e-screenshots/{name}.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Runs an operator command of the binary against the server's database.
    pub fn operator(&self, args: &[&str]) -> String {
        let out = Command::new(BIN)
            .args(args)
            .env("PORTCULLIS_DATABASE_URL", &self.db)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Ends the browser session.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// `target/e2e-screenshots`, found from the test binary's own location
/// (`target/debug/deps/it-…`).
pub fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("e2e-screenshots")
}

fn start_server(db: &str, env: &[(String, String)]) -> (Process, String, String) {
    let port = free_port();
    let mut child = Command::new(BIN)
        .arg("serve")
        .env("PORTCULLIS_DATABASE_URL", db)
        .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
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
    wait_for_port(port, "portcullis");
    (Process(child), format!("http://127.0.0.1:{port}"), password)
}
