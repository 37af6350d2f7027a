//! Real IdPs as child processes (pysaml2, oidc-provider), found through environment
//! variables that `.ci/run` sets; tests skip with a note when they are absent.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped.
pub struct IdpProcess {
    child: Child,
    pub base: String,
}

impl Drop for IdpProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The value of `var`, or `None` after printing why the test is skipped.
pub fn tool(var: &str, test: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            eprintln!("skipping {test}: {var} is not set (.ci/run sets it)");
            None
        }
    }
}

impl IdpProcess {
    /// Spawns `command` and waits until `{base}{health}` answers.
    pub async fn spawn(mut command: Command, base: String, health: &str) -> Self {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let process = Self { child, base };
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = format!("{}{health}", process.base);
        loop {
            if let Ok(r) = reqwest::get(&url).await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "{url} did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        process
    }
}

/// An auto-submitting HTML form: where it posts and its hidden fields.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl Form {
    pub fn field(&self, name: &str) -> &str {
        &self.fields.iter().find(|(k, _)| k == name).unwrap().1
    }

    pub fn set(&mut self, name: &str, value: String) {
        self.fields.iter_mut().find(|(k, _)| k == name).unwrap().1 = value;
    }

    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x3D;", "=")
        .replace("&#x2F;", "/")
        .replace("&#x2B;", "+")
        .replace("&amp;", "&")
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

/// Reads the first form of `html`.
pub fn parse_form(html: &str) -> Form {
    let form_start = html
        .find("<form")
        .unwrap_or_else(|| panic!("no form in {html}"));
    let form_tag = &html[form_start..form_start + html[form_start..].find('>').unwrap()];
    let action = attribute(form_tag, "action").unwrap();
    let mut fields = Vec::new();
    let mut rest = &html[form_start..];
    while let Some(i) = rest.find("<input") {
        let tag = &rest[i..i + rest[i..].find('>').unwrap()];
        if let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value")) {
            fields.push((name, value));
        }
        rest = &rest[i + 6..];
    }
    Form { action, fields }
}

/// SAML settings for a pysaml2 IdP that will listen on `port`.
pub fn pysaml2_settings(port: u16, idp_initiated: bool) -> portcullis_domain::SamlSettings {
    let base = format!("http://127.0.0.1:{port}");
    portcullis_domain::SamlSettings {
        idp_entity_id: format!("{base}/metadata"),
        sso_url: format!("{base}/sso"),
        ..super::saml_settings(super::saml_fixture::idp_key(), idp_initiated)
    }
}

/// Starts `tests/idp/saml_idp.py` on `port` with `python`, signing with the fixture
/// IdP key, knowing the SP metadata of each IdP row in `rows`, signing `email` in.
pub async fn pysaml2(
    live: &super::Live,
    python: &str,
    port: u16,
    rows: &[&portcullis_domain::IdentityProvider],
    email: &str,
) -> (IdpProcess, tempfile::TempDir) {
    pysaml2_with(live, python, port, rows, email, &[]).await
}

/// [`pysaml2`] with more arguments for the script, such as `--want-signed-requests`.
pub async fn pysaml2_with(
    live: &super::Live,
    python: &str,
    port: u16,
    rows: &[&portcullis_domain::IdentityProvider],
    email: &str,
    extra: &[&str],
) -> (IdpProcess, tempfile::TempDir) {
    let key = super::saml_fixture::idp_key();
    let base = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("key.pem");
    let cert_path = dir.path().join("cert.pem");
    std::fs::write(&key_path, key.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(&cert_path, &key.cert_pem).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/idp/saml_idp.py");
    let mut command = Command::new(python);
    command.arg(script).args(["--port", &port.to_string()]);
    command.args(["--entity-id", &format!("{base}/metadata")]);
    command.arg("--key").arg(&key_path);
    command.arg("--cert").arg(&cert_path);
    command.args(["--email", email, "--name", "Ada Admin"]);
    command.args(extra);
    for (n, row) in rows.iter().enumerate() {
        let url = format!("{}/sso/saml/{}/metadata", live.base, row.id);
        let metadata = reqwest::get(url).await.unwrap().text().await.unwrap();
        let path = dir.path().join(format!("sp{n}.xml"));
        std::fs::write(&path, metadata).unwrap();
        command.arg("--sp-metadata").arg(path);
    }
    (IdpProcess::spawn(command, base, "/health").await, dir)
}

/// Client id and secret the oidc-provider test OP knows Portcullis by.
pub const OIDC_CLIENT: (&str, &str) = ("portcullis", "test-client-secret");

/// Starts `tests/idp/oidc_provider.mjs` (in `dir`) on `port`, with the redirect URI of
/// `idp`, signing `email` in.
pub async fn oidc_provider(
    live: &super::Live,
    dir: &str,
    port: u16,
    idp: &portcullis_domain::IdentityProvider,
    email: &str,
) -> IdpProcess {
    let mut command = Command::new("node");
    command
        .current_dir(dir)
        .arg("oidc_provider.mjs")
        .env("PORT", port.to_string())
        .env("CLIENT_ID", OIDC_CLIENT.0)
        .env("CLIENT_SECRET", OIDC_CLIENT.1)
        .env(
            "REDIRECT_URIS",
            format!("{}/sso/oidc/{}/callback", live.base, idp.id),
        )
        .env(
            "POST_LOGOUT_REDIRECT_URIS",
            format!("{}/sso/oidc/{}/logout", live.base, idp.id),
        )
        .env("EMAIL", email)
        .env("NAME", "Ada Admin");
    IdpProcess::spawn(command, format!("http://127.0.0.1:{port}"), "/health").await
}
