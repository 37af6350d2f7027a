//! Fixtures for the admin tests (and the browser tests): a self-signed IdP certificate,
//! SAML IdP metadata, a tiny static HTTP server on 127.0.0.1 serving an OpenID
//! discovery document, a JWKS and metadata, and helpers to call the JSON API.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509NameBuilder, X509};
use serde_json::json;

/// The IdP's key and its self-signed certificate.
pub struct IdpKey {
    pub key: PKey<Private>,
    pub cert_b64: String,
    pub cert_pem: String,
}

/// One RSA key per test run (generating keys is slow).
pub fn idp_key() -> &'static IdpKey {
    static KEY: OnceLock<IdpKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "test-idp").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(365).unwrap())
            .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        let cert = b.build();
        IdpKey {
            key,
            cert_b64: base64::engine::general_purpose::STANDARD.encode(cert.to_der().unwrap()),
            cert_pem: String::from_utf8(cert.to_pem().unwrap()).unwrap(),
        }
    })
}

/// IdP metadata naming `entity_id`, signed-with `cert_b64` (none when empty).
pub fn saml_metadata(entity_id: &str, cert_b64: &str) -> String {
    let key = if cert_b64.is_empty() {
        String::new()
    } else {
        format!(
            r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity_id}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    {key}
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso/redirect"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
    )
}

/// Path → (status, content type, body).
pub type Routes = Arc<Mutex<HashMap<String, (u16, String, String)>>>;

/// A static HTTP server on 127.0.0.1: path → (status, content type, body). Bodies can be
/// changed while it runs (to test metadata refresh failures).
pub struct StaticServer {
    pub base: String,
    pub routes: Routes,
}

impl StaticServer {
    /// Starts the server on a free port, in a thread that lives as long as the process.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: Routes = Arc::default();
        let served = routes.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let path = first.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (status, ctype, body) = served.lock().unwrap().get(&path).cloned().unwrap_or((
                    404,
                    "text/plain".into(),
                    "not found".into(),
                ));
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { base, routes }
    }

    /// Serves `body` at `path`.
    pub fn serve(&self, path: &str, status: u16, ctype: &str, body: &str) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.into(), (status, ctype.into(), body.into()));
    }

    /// Serves an OpenID discovery document and JWKS whose issuer is this server.
    pub fn serve_openid(&self) {
        let rsa = idp_key().key.rsa().unwrap();
        let b64 = |b: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let jwks = json!({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1",
            "n": b64(rsa.n().to_vec()), "e": b64(rsa.e().to_vec())}]});
        let base = &self.base;
        let discovery = json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "jwks_uri": format!("{base}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        self.serve(
            "/.well-known/openid-configuration",
            200,
            "application/json",
            &discovery.to_string(),
        );
        self.serve("/jwks", 200, "application/json", &jwks.to_string());
    }
}

/// Sends a request to the app and returns the status and the JSON body (Null when none).
#[macro_export]
macro_rules! call {
    ($app:expr, $req:expr) => {{
        let resp = actix_web::test::call_service(&$app, $req.to_request()).await;
        let status = resp.status();
        let bytes = actix_web::test::read_body(resp).await;
        let body: serde_json::Value = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
            })
        };
        (status, body)
    }};
}

/// A request with an API key.
pub fn with_key(req: actix_web::test::TestRequest, key: &str) -> actix_web::test::TestRequest {
    req.insert_header(("Authorization", format!("Bearer {key}")))
        .peer_addr("203.0.113.9:5000".parse().unwrap())
}
