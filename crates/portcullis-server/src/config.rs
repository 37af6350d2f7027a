//! Configuration: defaults, then an optional TOML file (`PORTCULLIS_CONFIG`), then
//! environment variables, each overriding the one before.

use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

use crate::telemetry::LogFormat;

/// The server's settings. Its `Debug` form hides the secrets, so a logged configuration
/// never carries a key or a password.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// Address to listen on (`PORTCULLIS_BIND`).
    pub bind: String,
    /// Database URL: a file path or `sqlite://…` for SQLite, `postgres://…` for PostgreSQL
    /// (`PORTCULLIS_DATABASE_URL`).
    pub database_url: String,
    /// The URL people and IdPs reach the server at, without a trailing slash
    /// (`PORTCULLIS_PUBLIC_URL`). Defaults to `http://{bind}`.
    pub public_url: String,
    /// Key that signs session cookies (`PORTCULLIS_SESSION_KEY`). When unset, a random key
    /// is generated once and kept in the database, so every replica shares it.
    pub session_key: Option<String>,
    /// How long a dashboard session lasts, in minutes (`PORTCULLIS_SESSION_TTL_MINUTES`).
    pub session_ttl_minutes: i64,
    /// Proxies whose `X-Forwarded-For` is believed (`PORTCULLIS_TRUSTED_PROXIES`,
    /// comma-separated addresses).
    pub trusted_proxies: Vec<IpAddr>,
    /// Log lines as text or JSON (`PORTCULLIS_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Base64 key (32 bytes) encrypting stored secrets (`PORTCULLIS_ENCRYPTION_KEY`); on
    /// SQLite a key file beside the database is used when unset.
    pub encryption_key: Option<String>,
    /// Sustained SCIM requests per second allowed per API key, with bursts of twice as
    /// many (`PORTCULLIS_SCIM_RATE_LIMIT`; 0 switches the limit off).
    pub scim_rate_limit: u32,
    /// How many days audit events are kept (`PORTCULLIS_AUDIT_RETENTION_DAYS`, default
    /// 365; 0 keeps them forever).
    pub audit_retention_days: u32,
    /// Let OpenID Connect discovery and token requests, and webhook deliveries, reach
    /// loopback and private addresses (`PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES`, default
    /// `false`; link-local addresses stay refused for webhooks). Only for tests, IdPs and
    /// receivers on the operator's own network: otherwise an admin could make the server
    /// probe its internal network.
    pub sso_allow_private_addresses: bool,
    /// SMTP server for invitation mail (`PORTCULLIS_SMTP_URL`, such as
    /// `smtps://user:pass@mail.example.com` or `smtp://127.0.0.1:2525`); no mail when unset.
    pub smtp_url: Option<String>,
    /// The sender of invitation mail (`PORTCULLIS_SMTP_FROM`).
    pub smtp_from: String,
    /// A separate address for `GET /metrics` (`PORTCULLIS_METRICS_BIND`), such as an
    /// address only the monitoring network reaches; when set, the public listener does
    /// not serve `/metrics`.
    pub metrics_bind: Option<String>,
    /// The DNS servers that domain verification asks (`PORTCULLIS_DNS_SERVERS`,
    /// comma-separated `ip:port` or `ip`); empty for the system's resolvers.
    pub dns_servers: Vec<std::net::SocketAddr>,
    /// The token that opens the operator API under `/api/v1/operator`
    /// (`PORTCULLIS_OPERATOR_TOKEN`, or read from the file `PORTCULLIS_OPERATOR_TOKEN_FILE`
    /// names); when unset those routes answer 404.
    pub operator_token: Option<String>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<hidden>");
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("database_url", &without_password(&self.database_url))
            .field("public_url", &self.public_url)
            .field("session_key", &hidden(&self.session_key))
            .field("session_ttl_minutes", &self.session_ttl_minutes)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("log_format", &self.log_format)
            .field("encryption_key", &hidden(&self.encryption_key))
            .field("scim_rate_limit", &self.scim_rate_limit)
            .field("audit_retention_days", &self.audit_retention_days)
            .field(
                "sso_allow_private_addresses",
                &self.sso_allow_private_addresses,
            )
            .field("smtp_url", &self.smtp_url.as_deref().map(without_password))
            .field("smtp_from", &self.smtp_from)
            .field("metrics_bind", &self.metrics_bind)
            .field("dns_servers", &self.dns_servers)
            .field("operator_token", &hidden(&self.operator_token))
            .finish()
    }
}

/// A URL with the password of its user part (`scheme://user:password@host`) replaced.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("hidden"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The TOML file's shape: every field optional.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<String>,
    database_url: Option<String>,
    public_url: Option<String>,
    session_key: Option<String>,
    session_ttl_minutes: Option<i64>,
    trusted_proxies: Option<Vec<String>>,
    log_format: Option<String>,
    encryption_key: Option<String>,
    scim_rate_limit: Option<u32>,
    audit_retention_days: Option<u32>,
    sso_allow_private_addresses: Option<bool>,
    metrics_bind: Option<String>,
    dns_servers: Option<String>,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML file is not valid.
    #[error("invalid configuration file {path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        source: toml::de::Error,
    },
    /// A setting has a bad value.
    #[error("invalid setting {name}: {why}")]
    Invalid {
        /// The setting.
        name: &'static str,
        /// Why.
        why: String,
    },
}

/// Every environment variable the binary reads; the README's configuration table lists
/// exactly these (a test compares them, and checks that the source reads no other).
pub const VARIABLES: &[&str] = &[
    "PORTCULLIS_BIND",
    "PORTCULLIS_DATABASE_URL",
    "PORTCULLIS_PUBLIC_URL",
    "PORTCULLIS_CONFIG",
    "PORTCULLIS_SESSION_KEY",
    "PORTCULLIS_SESSION_TTL_MINUTES",
    "PORTCULLIS_TRUSTED_PROXIES",
    "PORTCULLIS_ENCRYPTION_KEY",
    "PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES",
    "PORTCULLIS_SCIM_RATE_LIMIT",
    "PORTCULLIS_AUDIT_RETENTION_DAYS",
    "PORTCULLIS_SMTP_URL",
    "PORTCULLIS_SMTP_FROM",
    "PORTCULLIS_LOG",
    "PORTCULLIS_LOG_FORMAT",
    "PORTCULLIS_METRICS_BIND",
    "PORTCULLIS_DNS_SERVERS",
    "PORTCULLIS_OPERATOR_TOKEN",
    "PORTCULLIS_OPERATOR_TOKEN_FILE",
];

/// `ip:port` or `ip` (port 53), comma-separated.
fn dns_servers(text: &str) -> Result<Vec<std::net::SocketAddr>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<std::net::SocketAddr>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(|ip| (ip, 53).into()))
                .map_err(|_| format!("{s:?} is not an IP address with an optional port"))
        })
        .collect()
}

impl Config {
    /// Default listen address.
    pub const DEFAULT_BIND: &'static str = "127.0.0.1:8080";
    /// Default database: a SQLite file in the working directory.
    pub const DEFAULT_DATABASE_URL: &'static str = "./portcullis.db";

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::load(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Reads the configuration, looking variables up with `var` (tests pass a map).
    pub fn load(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let file = match var("PORTCULLIS_CONFIG") {
            Some(path) => read_file(Path::new(&path))?,
            None => FileConfig::default(),
        };
        let bind = var("PORTCULLIS_BIND")
            .or(file.bind)
            .unwrap_or_else(|| Self::DEFAULT_BIND.to_owned());
        let database_url = var("PORTCULLIS_DATABASE_URL")
            .or(file.database_url)
            .unwrap_or_else(|| Self::DEFAULT_DATABASE_URL.to_owned());
        let public_url = var("PORTCULLIS_PUBLIC_URL")
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{bind}"));
        let public_url = public_url.trim_end_matches('/').to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                name: "PORTCULLIS_PUBLIC_URL",
                why: "must start with http:// or https://".into(),
            });
        }
        let session_ttl_minutes = match var("PORTCULLIS_SESSION_TTL_MINUTES") {
            Some(text) => text.parse().map_err(|_| ConfigError::Invalid {
                name: "PORTCULLIS_SESSION_TTL_MINUTES",
                why: format!("{text:?} is not a whole number of minutes"),
            })?,
            None => file.session_ttl_minutes.unwrap_or(12 * 60),
        };
        if !(1..=60 * 24 * 90).contains(&session_ttl_minutes) {
            return Err(ConfigError::Invalid {
                name: "PORTCULLIS_SESSION_TTL_MINUTES",
                why: "must be between 1 minute and 90 days".into(),
            });
        }
        let proxies = match var("PORTCULLIS_TRUSTED_PROXIES") {
            Some(text) => text
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            None => file.trusted_proxies.unwrap_or_default(),
        };
        let trusted_proxies = parse_proxies(&proxies).map_err(|bad| ConfigError::Invalid {
            name: "PORTCULLIS_TRUSTED_PROXIES",
            why: format!("{bad:?} is not an IP address"),
        })?;
        let session_key = var("PORTCULLIS_SESSION_KEY").or(file.session_key);
        if session_key.as_ref().is_some_and(|k| k.len() < 32) {
            return Err(ConfigError::Invalid {
                name: "PORTCULLIS_SESSION_KEY",
                why: "must be at least 32 characters".into(),
            });
        }
        let log_format = match var("PORTCULLIS_LOG_FORMAT").or(file.log_format).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "PORTCULLIS_LOG_FORMAT",
                    why: format!("{other:?} is neither text nor json"),
                })
            }
        };
        let scim_rate_limit = match var("PORTCULLIS_SCIM_RATE_LIMIT") {
            Some(text) => text.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "PORTCULLIS_SCIM_RATE_LIMIT",
                why: format!("{text:?} is not a whole number of requests per second"),
            })?,
            None => file.scim_rate_limit.unwrap_or(100),
        };
        let audit_retention_days = match var("PORTCULLIS_AUDIT_RETENTION_DAYS") {
            Some(text) => text.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "PORTCULLIS_AUDIT_RETENTION_DAYS",
                why: format!("{text:?} is not a whole number of days"),
            })?,
            None => file.audit_retention_days.unwrap_or(365),
        };
        let sso_allow_private_addresses = match var("PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES") {
            Some(text) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES",
                        why: format!("{text:?} is not true or false"),
                    })
                }
            },
            None => file.sso_allow_private_addresses.unwrap_or(false),
        };
        let smtp_url = var("PORTCULLIS_SMTP_URL");
        let smtp_from = var("PORTCULLIS_SMTP_FROM")
            .unwrap_or_else(|| "Portcullis <portcullis@localhost>".to_owned());
        let metrics_bind = var("PORTCULLIS_METRICS_BIND").or(file.metrics_bind);
        let dns_servers = match var("PORTCULLIS_DNS_SERVERS").or(file.dns_servers) {
            None => Vec::new(),
            Some(text) => dns_servers(&text).map_err(|why| ConfigError::Invalid {
                name: "PORTCULLIS_DNS_SERVERS",
                why,
            })?,
        };
        let operator_token = operator_token(&var)?;
        Ok(Self {
            operator_token,
            metrics_bind,
            dns_servers,
            encryption_key: var("PORTCULLIS_ENCRYPTION_KEY").or(file.encryption_key),
            log_format,
            smtp_url,
            smtp_from,
            bind,
            database_url,
            public_url,
            session_key,
            session_ttl_minutes,
            trusted_proxies,
            scim_rate_limit,
            audit_retention_days,
            sso_allow_private_addresses,
        })
    }

    /// Whether cookies must carry the `Secure` flag (the public URL is HTTPS).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// The operator token, given itself or in a file (its surrounding whitespace dropped);
/// at least 32 characters, so it cannot be guessed.
fn operator_token(var: &impl Fn(&str) -> Option<String>) -> Result<Option<String>, ConfigError> {
    const NAME: &str = "PORTCULLIS_OPERATOR_TOKEN";
    let token = match (var(NAME), var("PORTCULLIS_OPERATOR_TOKEN_FILE")) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Invalid {
                name: NAME,
                why: "set PORTCULLIS_OPERATOR_TOKEN or PORTCULLIS_OPERATOR_TOKEN_FILE, not both"
                    .into(),
            })
        }
        (Some(token), None) => token,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map_err(|source| ConfigError::Read { path, source })?
            .trim()
            .to_owned(),
        (None, None) => return Ok(None),
    };
    if token.chars().count() < 32 {
        return Err(ConfigError::Invalid {
            name: NAME,
            why: "must be at least 32 characters".into(),
        });
    }
    Ok(Some(token))
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: display.clone(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: display,
        source,
    })
}

/// Parses proxy addresses, returning the first bad one on failure.
fn parse_proxies(list: &[String]) -> Result<Vec<IpAddr>, String> {
    list.iter()
        .map(|p| p.parse().map_err(|_| p.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::load(|name| map.get(name).cloned())
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = load(&[
            (
                "PORTCULLIS_DATABASE_URL",
                "postgres://portcullis:db-pass-1@db/portcullis",
            ),
            (
                "PORTCULLIS_SESSION_KEY",
                "session-key-0123456789abcdef0123456789",
            ),
            (
                "PORTCULLIS_ENCRYPTION_KEY",
                "ZW5jcnlwdGlvbi1rZXktMDEyMzQ1Njc4OWFiY2RlZg==",
            ),
            (
                "PORTCULLIS_SMTP_URL",
                "smtps://mailer:smtp-pass-2@mail.example.com",
            ),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        for secret in [
            "db-pass-1",
            "session-key-0123456789abcdef0123456789",
            "ZW5jcnlwdGlvbi1rZXktMDEyMzQ1Njc4OWFiY2RlZg==",
            "smtp-pass-2",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("portcullis:hidden@db"), "{shown}");
        assert!(shown.contains("mail.example.com"), "{shown}");
    }

    #[test]
    fn defaults_are_usable() {
        let c = load(&[]).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.database_url, "./portcullis.db");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert!(!c.secure_cookies());
        assert!(!c.sso_allow_private_addresses);
        let c = load(&[("PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES", "true")]).unwrap();
        assert!(c.sso_allow_private_addresses);
        assert!(load(&[("PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES", "maybe")]).is_err());
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(
            &path,
            "bind = \"0.0.0.0:9000\"\ndatabase_url = \"/var/lib/p.db\"\npublic_url = \"https://login.example.com/\"\n",
        )
        .unwrap();
        let path = path.to_str().unwrap();
        let c = load(&[("PORTCULLIS_CONFIG", path)]).unwrap();
        assert_eq!(c.bind, "0.0.0.0:9000");
        assert_eq!(c.database_url, "/var/lib/p.db");
        assert_eq!(c.public_url, "https://login.example.com");
        assert!(c.secure_cookies());
        let c = load(&[
            ("PORTCULLIS_CONFIG", path),
            ("PORTCULLIS_BIND", "127.0.0.1:1"),
        ])
        .unwrap();
        assert_eq!(c.bind, "127.0.0.1:1");
    }

    #[test]
    fn bad_settings_are_named() {
        let err = load(&[("PORTCULLIS_PUBLIC_URL", "login.example.com")]).unwrap_err();
        assert!(err.to_string().contains("PORTCULLIS_PUBLIC_URL"), "{err}");
        let err = load(&[("PORTCULLIS_TRUSTED_PROXIES", "10.0.0.1, nope")]).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        let err = load(&[("PORTCULLIS_SESSION_KEY", "short")]).unwrap_err();
        assert!(err.to_string().contains("32"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "bnid = \"typo\"\n").unwrap();
        let err = load(&[("PORTCULLIS_CONFIG", path.to_str().unwrap())]).unwrap_err();
        assert!(err.to_string().contains("bnid"), "{err}");
    }
}
