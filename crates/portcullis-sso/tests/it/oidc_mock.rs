//! A tiny OpenID provider on 127.0.0.1 for the tests: discovery, JWKS and a token endpoint
//! that checks the PKCE verifier and redeems each code once. ID tokens are minted by the
//! tests with an RSA key generated here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn op_key() -> &'static PKey<Private> {
    static KEY: OnceLock<PKey<Private>> = OnceLock::new();
    KEY.get_or_init(|| PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap())
}

/// The key the OP rotates to (`kid` `k2`), published once [`OpState::rotated`] is set.
pub fn rotated_key() -> &'static PKey<Private> {
    static KEY: OnceLock<PKey<Private>> = OnceLock::new();
    KEY.get_or_init(|| PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap())
}

/// RS256 with the OP's key.
pub fn sign_rs256(claims: &Value) -> String {
    sign_rs256_with(claims, "k1", op_key())
}

/// RS256 with `key`, named `kid` in the header.
pub fn sign_rs256_with(claims: &Value, kid: &str, key: &PKey<Private>) -> String {
    let header = b64url(format!(r#"{{"alg":"RS256","kid":"{kid}","typ":"JWT"}}"#).as_bytes());
    let payload = b64url(claims.to_string().as_bytes());
    let input = format!("{header}.{payload}");
    let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
    signer.update(input.as_bytes()).unwrap();
    format!("{input}.{}", b64url(&signer.sign_to_vec().unwrap()))
}

/// `alg: none`, no signature.
pub fn unsigned(claims: &Value) -> String {
    let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    format!("{header}.{}.", b64url(claims.to_string().as_bytes()))
}

/// HS256 keyed with `secret` (the public key PEM, or the client secret).
pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    let header = b64url(br#"{"alg":"HS256","kid":"k1","typ":"JWT"}"#);
    let input = format!("{header}.{}", b64url(claims.to_string().as_bytes()));
    let key = PKey::hmac(secret).unwrap();
    let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
    signer.update(input.as_bytes()).unwrap();
    format!("{input}.{}", b64url(&signer.sign_to_vec().unwrap()))
}

#[derive(Default)]
pub struct OpState {
    /// The issuer the discovery document claims (defaults to the real base URL).
    pub issuer_override: Option<String>,
    /// Whether discovery advertises RFC 9207.
    pub iss_parameter: bool,
    /// Answer discovery with a redirect.
    pub redirect_discovery: bool,
    /// code -> (PKCE challenge, ID token, used)
    pub codes: HashMap<String, (String, String, bool)>,
    /// Whether the JWKS also publishes the rotated key `k2`.
    pub rotated: bool,
    /// How many times the JWKS was fetched.
    pub jwks_fetches: usize,
}

pub struct MockOp {
    pub base: String,
    pub state: Arc<Mutex<OpState>>,
}

impl MockOp {
    pub async fn start(iss_parameter: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(OpState {
            iss_parameter,
            ..OpState::default()
        }));
        let (server_state, server_base) = (state.clone(), base.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let state = server_state.clone();
                let base = server_base.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let (head, body) = loop {
                        let n = socket.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).to_string();
                            let length = head
                                .lines()
                                .find_map(|l| {
                                    let (k, v) = l.split_once(':')?;
                                    k.eq_ignore_ascii_case("content-length")
                                        .then(|| v.trim().parse::<usize>().ok())?
                                })
                                .unwrap_or(0);
                            while buf.len() < end + 4 + length {
                                let n = socket.read(&mut chunk).await.unwrap_or(0);
                                if n == 0 {
                                    break;
                                }
                                buf.extend_from_slice(&chunk[..n]);
                            }
                            break (head, String::from_utf8_lossy(&buf[end + 4..]).to_string());
                        }
                    };
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let (status, extra, body) = route(&state, &base, &path, &body);
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { base, state }
    }

    /// Registers `code` as issued for the PKCE `challenge`, redeemable for `id_token`.
    pub fn issue_code(&self, code: &str, challenge: &str, id_token: String) {
        self.state
            .lock()
            .unwrap()
            .codes
            .insert(code.into(), (challenge.into(), id_token, false));
    }
}

fn route(state: &Mutex<OpState>, base: &str, path: &str, body: &str) -> (String, String, String) {
    let mut state = state.lock().unwrap();
    match path {
        "/.well-known/openid-configuration" if state.redirect_discovery => (
            "302 Found".into(),
            format!("Location: {base}/elsewhere/.well-known/openid-configuration\r\n"),
            String::new(),
        ),
        "/.well-known/openid-configuration" | "/elsewhere/.well-known/openid-configuration" => {
            let issuer = state.issuer_override.clone().unwrap_or(base.to_owned());
            let doc = json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{base}/authorize"),
                "token_endpoint": format!("{base}/token"),
                "jwks_uri": format!("{base}/jwks"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "HS256", "none"],
                "code_challenge_methods_supported": ["S256"],
                "authorization_response_iss_parameter_supported": state.iss_parameter,
                "end_session_endpoint": format!("{base}/logout"),
            });
            ("200 OK".into(), String::new(), doc.to_string())
        }
        "/jwks" => {
            state.jwks_fetches += 1;
            let jwk = |kid: &str, key: &PKey<Private>| {
                let rsa = key.rsa().unwrap();
                json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                       "n": b64url(&rsa.n().to_vec()), "e": b64url(&rsa.e().to_vec())})
            };
            let mut keys = vec![jwk("k1", op_key())];
            if state.rotated {
                keys.push(jwk("k2", rotated_key()));
            }
            (
                "200 OK".into(),
                String::new(),
                json!({ "keys": keys }).to_string(),
            )
        }
        "/token" => {
            let form: HashMap<String, String> = body
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), percent_decode(v)))
                .collect();
            let code = form.get("code").cloned().unwrap_or_default();
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            let refuse = |error: &str| {
                (
                    "400 Bad Request".to_owned(),
                    String::new(),
                    json!({ "error": error }).to_string(),
                )
            };
            let Some((challenge, id_token, used)) = state.codes.get_mut(&code) else {
                return refuse("invalid_grant");
            };
            if *used {
                return refuse("invalid_grant");
            }
            *used = true;
            let digest = openssl::sha::sha256(verifier.as_bytes());
            if verifier.is_empty() || b64url(&digest) != *challenge {
                return refuse("invalid_grant");
            }
            let body = json!({
                "access_token": "at", "token_type": "Bearer", "expires_in": 300,
                "id_token": id_token,
            });
            ("200 OK".into(), String::new(), body.to_string())
        }
        _ => ("404 Not Found".into(), String::new(), "{}".into()),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&String::from_utf8_lossy(&bytes[i + 1..i + 3]), 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}
