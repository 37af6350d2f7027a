//! A local OpenID provider for the benchmark, on actix-web: discovery (advertising RFC
//! 9207 `iss` and S256 PKCE), a JWKS with one RSA key, an authorization endpoint that
//! signs in whoever `login_hint` names and remembers the request (client, redirect URI,
//! nonce, PKCE challenge) under a fresh single-use code, and a token endpoint that checks
//! the client's credentials, the redirect URI and the PKCE verifier before it issues an
//! RS256 ID token carrying the nonce of the authorization request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::{Context, Result};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use serde_json::json;

/// The OP's client: the one registered client.
#[derive(Clone)]
pub struct Registration {
    /// Its id.
    pub client_id: String,
    /// Its secret (client_secret_basic).
    pub client_secret: String,
}

/// An authorization waiting to be redeemed.
struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: String,
    challenge: String,
    login: String,
}

struct Op {
    issuer: String,
    domain: String,
    registration: Registration,
    key: PKey<Private>,
    grants: Mutex<HashMap<String, Grant>>,
}

/// Starts the OP on `127.0.0.1:port` in a thread of its own (one actix worker); returns
/// its issuer URL once it listens. Members sign in as `{login_hint}@{domain}`.
pub fn start(port: u16, registration: Registration, domain: &str) -> Result<String> {
    let issuer = format!("http://127.0.0.1:{port}");
    let op = Arc::new(Op {
        issuer: issuer.clone(),
        domain: domain.to_owned(),
        registration,
        key: PKey::from_rsa(Rsa::generate(2048)?)?,
        grants: Mutex::new(HashMap::new()),
    });
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .with_context(|| format!("binding the mock OP to port {port}"))?;
    std::thread::Builder::new()
        .name("mock-op".into())
        .spawn(move || {
            let served = actix_web::rt::System::new().block_on(async move {
                let data = web::Data::from(op);
                HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .route(
                            "/.well-known/openid-configuration",
                            web::get().to(discovery),
                        )
                        .route("/jwks", web::get().to(jwks))
                        .route("/authorize", web::get().to(authorize))
                        .route("/token", web::post().to(token))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)?
                .run()
                .await
            });
            if let Err(e) = served {
                eprintln!("mock OP stopped: {e}");
            }
        })?;
    Ok(issuer)
}

async fn discovery(op: web::Data<Op>) -> HttpResponse {
    let base = &op.issuer;
    HttpResponse::Ok().json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email", "profile"],
        "authorization_response_iss_parameter_supported": true,
    }))
}

async fn jwks(op: web::Data<Op>) -> HttpResponse {
    let Ok(rsa) = op.key.rsa() else {
        return HttpResponse::InternalServerError().finish();
    };
    HttpResponse::Ok().json(json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "bench-1",
        "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
        "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
    }]}))
}

fn bad_request(error: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "error": error }))
}

async fn authorize(op: web::Data<Op>, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    let q = query.into_inner();
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("response_type") != "code" {
        return bad_request("unsupported_response_type");
    }
    if get("client_id") != op.registration.client_id {
        return bad_request("unauthorized_client");
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").is_empty() {
        return bad_request("invalid_request");
    }
    if !get("scope").split(' ').any(|s| s == "openid") {
        return bad_request("invalid_scope");
    }
    let (redirect_uri, state, nonce, login) = (
        get("redirect_uri"),
        get("state"),
        get("nonce"),
        get("login_hint"),
    );
    if redirect_uri.is_empty() || state.is_empty() || nonce.is_empty() || login.is_empty() {
        return bad_request("invalid_request");
    }
    let code = uuid::Uuid::new_v4().simple().to_string();
    let grant = Grant {
        client_id: get("client_id"),
        redirect_uri: redirect_uri.clone(),
        nonce,
        challenge: get("code_challenge"),
        login,
    };
    match op.grants.lock() {
        Ok(mut grants) => grants.insert(code.clone(), grant),
        Err(_) => return HttpResponse::InternalServerError().finish(),
    };
    let Ok(mut location) = url::Url::parse(&redirect_uri) else {
        return bad_request("invalid_request");
    };
    location
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state)
        .append_pair("iss", &op.issuer);
    HttpResponse::Found()
        .insert_header((header::LOCATION, location.to_string()))
        .finish()
}

/// The client id and secret of an HTTP Basic `Authorization` header (RFC 6749 2.3.1:
/// each form-encoded).
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let decoded = STANDARD.decode(value.strip_prefix("Basic ")?).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

async fn token(
    op: web::Data<Op>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let form = form.into_inner();
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let registered = (
        op.registration.client_id.clone(),
        op.registration.client_secret.clone(),
    );
    if basic_credentials(&req) != Some(registered) {
        return HttpResponse::Unauthorized().json(json!({ "error": "invalid_client" }));
    }
    if get("grant_type") != "authorization_code" {
        return bad_request("unsupported_grant_type");
    }
    // Single use: the code is gone whatever happens next.
    let grant = match op.grants.lock() {
        Ok(mut grants) => grants.remove(&get("code")),
        Err(_) => return HttpResponse::InternalServerError().finish(),
    };
    let Some(grant) = grant else {
        return bad_request("invalid_grant");
    };
    let verifier = get("code_verifier");
    let challenge = URL_SAFE_NO_PAD.encode(openssl::sha::sha256(verifier.as_bytes()));
    if grant.client_id != op.registration.client_id
        || grant.redirect_uri != get("redirect_uri")
        || verifier.is_empty()
        || challenge != grant.challenge
    {
        return bad_request("invalid_grant");
    }
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": op.issuer, "sub": format!("sub-{}", grant.login), "aud": grant.client_id,
        "iat": now, "exp": now + 300, "nonce": grant.nonce,
        "email": format!("{}@{}", grant.login, op.domain), "email_verified": true,
        "name": format!("Bench {}", grant.login),
    });
    match sign_rs256(&op.key, &claims) {
        Ok(id_token) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({
                "access_token": uuid::Uuid::new_v4().simple().to_string(),
                "token_type": "Bearer", "expires_in": 300, "id_token": id_token,
            })),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

fn sign_rs256(key: &PKey<Private>, claims: &serde_json::Value) -> Result<String> {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"bench-1","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string().as_bytes());
    let input = format!("{header}.{payload}");
    let mut signer = Signer::new(MessageDigest::sha256(), key)?;
    signer.update(input.as_bytes())?;
    Ok(format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signer.sign_to_vec()?)
    ))
}
