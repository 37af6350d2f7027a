//! The OpenID Connect flow against the mock OP, and every forged callback or token it
//! refuses.

use chrono::{DateTime, Duration, TimeZone, Utc};
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use portcullis_domain::{IdpId, OidcSettings};
use portcullis_sso::oidc::{
    discover, finish_login, start_login, CallbackParams, HttpPolicy, OidcRandom, OidcRejection,
    ProviderInfo, StoredAttempt,
};
use portcullis_sso::{SsoError, SsoIdentity};
use serde_json::{json, Value};

use crate::oidc_mock::*;

const LOOPBACK: HttpPolicy = HttpPolicy {
    allow_private_addresses: true,
};
const SKEW: Duration = Duration::seconds(60);
const REDIRECT: &str = "https://portcullis.test/sso/oidc/callback";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap()
}

fn idp(n: u128) -> IdpId {
    IdpId::from_uuid(uuid::Uuid::from_u128(n))
}

fn settings(op: &MockOp) -> OidcSettings {
    OidcSettings {
        issuer: op.base.clone(),
        client_id: "portcullis-client".into(),
        client_secret: "client-secret".into(),
        scopes: vec![],
        trust_unverified_email: true,
    }
}

fn random(seed: u8) -> OidcRandom {
    OidcRandom {
        state: [seed; 32],
        nonce: [seed.wrapping_add(1); 32],
        pkce_verifier: [seed.wrapping_add(2); 32],
    }
}

fn claims(op: &MockOp, nonce: &str) -> Value {
    json!({
        "iss": op.base,
        "sub": "00u-alice",
        "aud": "portcullis-client",
        "exp": (now() + Duration::minutes(5)).timestamp(),
        "iat": now().timestamp(),
        "nonce": nonce,
        "email": "alice@acme.test",
        "email_verified": true,
        "name": "Alice Liddell",
    })
}

/// What a test changes on the way.
struct Flow {
    /// Makes the ID token from the default claims.
    token: Box<dyn Fn(Value) -> String>,
    claims: Box<dyn Fn(&mut Value)>,
    callback: Box<dyn Fn(&mut CallbackParams)>,
    stored: Box<dyn Fn(&mut StoredAttempt)>,
    /// Whether the IdP's settings trust its emails (the tests' default: they do).
    trust_unverified_email: bool,
    /// What fetching the provider's keys again gives (default: nothing, as when the
    /// caller may not fetch them now).
    refresh_keys: Box<dyn Fn() -> Option<ProviderInfo>>,
}

impl Default for Flow {
    fn default() -> Self {
        Self {
            token: Box::new(|c| sign_rs256(&c)),
            claims: Box::new(|_| {}),
            callback: Box::new(|_| {}),
            stored: Box::new(|_| {}),
            trust_unverified_email: true,
            refresh_keys: Box::new(|| None),
        }
    }
}

async fn run(
    op: &MockOp,
    provider: &ProviderInfo,
    flow: Flow,
) -> Result<SsoIdentity, OidcRejection> {
    let settings = OidcSettings {
        trust_unverified_email: flow.trust_unverified_email,
        ..settings(op)
    };
    let start = start_login(provider, &settings, REDIRECT, &random(7)).unwrap();
    let url = openidconnect::url::Url::parse(&start.authorize_url).unwrap();
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["state"], start.state);
    assert_eq!(query["nonce"], start.nonce);
    let mut c = claims(op, &start.nonce);
    (flow.claims)(&mut c);
    let code = format!("code-{}", start.state);
    op.issue_code(&code, &query["code_challenge"], (flow.token)(c));
    let mut callback = CallbackParams {
        code: Some(code),
        state: Some(start.state.clone()),
        iss: Some(op.base.clone()),
        error: None,
    };
    (flow.callback)(&mut callback);
    let mut stored = StoredAttempt {
        state: start.state,
        nonce: start.nonce,
        pkce_verifier: start.pkce_verifier,
        idp: idp(1),
    };
    (flow.stored)(&mut stored);
    finish_login(
        provider,
        &settings,
        idp(1),
        REDIRECT,
        &callback,
        &stored,
        &LOOPBACK,
        now(),
        SKEW,
        async || (flow.refresh_keys)(),
    )
    .await
}

#[tokio::test]
async fn valid_login() {
    let op = MockOp::start(true).await;
    let provider = discover(&op.base, &LOOPBACK).await.unwrap();
    assert!(provider.iss_parameter_supported());
    let identity = run(&op, &provider, Flow::default()).await.unwrap();
    assert_eq!(identity.idp, idp(1));
    assert_eq!(identity.subject, "00u-alice");
    assert_eq!(identity.email.as_str(), "alice@acme.test");
    assert_eq!(identity.display_name.as_deref(), Some("Alice Liddell"));
}

#[tokio::test]
async fn authorize_url_carries_pkce_state_nonce_and_scopes() {
    let op = MockOp::start(false).await;
    let provider = discover(&op.base, &LOOPBACK).await.unwrap();
    let start = start_login(&provider, &settings(&op), REDIRECT, &random(1)).unwrap();
    assert!(start
        .authorize_url
        .starts_with(&format!("{}/authorize?", op.base)));
    let url = openidconnect::url::Url::parse(&start.authorize_url).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "portcullis-client");
    assert_eq!(q["redirect_uri"], REDIRECT);
    assert_eq!(q["scope"], "openid email profile");
    let challenge = b64url(&openssl::sha::sha256(start.pkce_verifier.as_bytes()));
    assert_eq!(q["code_challenge"], challenge);
    // 32 random bytes each, distinct.
    assert_eq!(start.state.len(), 43);
    assert_ne!(start.state, start.nonce);
    assert_ne!(start.nonce, start.pkce_verifier);
}

#[tokio::test]
async fn forged_callbacks_and_tokens_are_refused() {
    let op = MockOp::start(true).await;
    let provider = discover(&op.base, &LOOPBACK).await.unwrap();
    let public_pem = op_key().public_key_to_pem().unwrap();
    let cases: Vec<(&str, Flow, OidcRejection)> = vec![
        (
            "wrong state",
            Flow {
                callback: Box::new(|c| c.state = Some("forged".into())),
                ..Flow::default()
            },
            OidcRejection::StateMismatch,
        ),
        (
            "missing state",
            Flow {
                callback: Box::new(|c| c.state = None),
                ..Flow::default()
            },
            OidcRejection::MissingParameter,
        ),
        (
            "empty stored state",
            Flow {
                callback: Box::new(|c| c.state = Some(String::new())),
                stored: Box::new(|s| s.state = String::new()),
                ..Flow::default()
            },
            OidcRejection::StateMismatch,
        ),
        (
            "attempt started at another IdP",
            Flow {
                stored: Box::new(|s| s.idp = idp(2)),
                ..Flow::default()
            },
            OidcRejection::WrongIdp,
        ),
        (
            "missing iss parameter where advertised",
            Flow {
                callback: Box::new(|c| c.iss = None),
                ..Flow::default()
            },
            OidcRejection::MissingIssParameter,
        ),
        (
            "iss parameter of another IdP (mix-up)",
            Flow {
                callback: Box::new(|c| c.iss = Some("https://evil-idp.test".into())),
                ..Flow::default()
            },
            OidcRejection::IssMismatch,
        ),
        (
            "wrong PKCE verifier",
            Flow {
                stored: Box::new(|s| s.pkce_verifier = "x".repeat(43)),
                ..Flow::default()
            },
            OidcRejection::TokenEndpoint("invalid_grant".into()),
        ),
        (
            "unknown code",
            Flow {
                callback: Box::new(|c| c.code = Some("guessed".into())),
                ..Flow::default()
            },
            OidcRejection::TokenEndpoint("invalid_grant".into()),
        ),
        (
            "wrong nonce",
            Flow {
                stored: Box::new(|s| s.nonce = "other-nonce".into()),
                ..Flow::default()
            },
            OidcRejection::NonceMismatch,
        ),
        (
            "alg none",
            Flow {
                token: Box::new(|c| unsigned(&c)),
                ..Flow::default()
            },
            OidcRejection::WeakAlgorithm,
        ),
        (
            "HS256 keyed with the IdP's public key",
            Flow {
                token: Box::new(move |c| sign_hs256(&c, &public_pem)),
                ..Flow::default()
            },
            OidcRejection::WeakAlgorithm,
        ),
        (
            "HS256 keyed with the client secret",
            Flow {
                token: Box::new(|c| sign_hs256(&c, b"client-secret")),
                ..Flow::default()
            },
            OidcRejection::WeakAlgorithm,
        ),
        (
            "tampered payload",
            Flow {
                token: Box::new(|c| {
                    let genuine = sign_rs256(&c);
                    let mut forged = c.clone();
                    forged["email"] = json!("admin@acme.test");
                    let parts: Vec<&str> = genuine.split('.').collect();
                    format!(
                        "{}.{}.{}",
                        parts[0],
                        b64url(forged.to_string().as_bytes()),
                        parts[2]
                    )
                }),
                ..Flow::default()
            },
            OidcRejection::BadSignature,
        ),
        (
            "wrong iss",
            Flow {
                claims: Box::new(|c| c["iss"] = json!("https://evil-idp.test")),
                ..Flow::default()
            },
            OidcRejection::WrongIssuer,
        ),
        (
            "wrong aud",
            Flow {
                claims: Box::new(|c| c["aud"] = json!("another-client")),
                ..Flow::default()
            },
            OidcRejection::WrongAudience,
        ),
        (
            "extra untrusted audience",
            Flow {
                claims: Box::new(|c| {
                    c["aud"] = json!(["portcullis-client", "another-client"]);
                    c["azp"] = json!("portcullis-client");
                }),
                ..Flow::default()
            },
            OidcRejection::WrongAudience,
        ),
        (
            "wrong azp",
            Flow {
                claims: Box::new(|c| c["azp"] = json!("another-client")),
                ..Flow::default()
            },
            OidcRejection::WrongAudience,
        ),
        (
            "expired",
            Flow {
                claims: Box::new(|c| c["exp"] = json!((now() - Duration::minutes(5)).timestamp())),
                ..Flow::default()
            },
            OidcRejection::Expired,
        ),
        (
            "issued in the future",
            Flow {
                claims: Box::new(|c| c["iat"] = json!((now() + Duration::minutes(30)).timestamp())),
                ..Flow::default()
            },
            OidcRejection::IssuedInFuture,
        ),
        (
            "email not verified",
            Flow {
                claims: Box::new(|c| c["email_verified"] = json!(false)),
                ..Flow::default()
            },
            OidcRejection::EmailNotVerified,
        ),
        (
            "no email",
            Flow {
                claims: Box::new(|c| {
                    c.as_object_mut().unwrap().remove("email");
                }),
                ..Flow::default()
            },
            OidcRejection::MissingEmail,
        ),
        (
            "IdP error",
            Flow {
                callback: Box::new(|c| c.error = Some("access_denied".into())),
                ..Flow::default()
            },
            OidcRejection::IdpError("access_denied".into()),
        ),
    ];
    for (name, flow, expected) in cases {
        let result = run(&op, &provider, flow).await;
        assert_eq!(result, Err(expected.clone()), "{name}");
        assert!(expected.reason().starts_with("oidc_"));
    }
}

#[tokio::test]
async fn a_code_is_redeemed_once() {
    let op = MockOp::start(false).await;
    let provider = discover(&op.base, &LOOPBACK).await.unwrap();
    let settings = settings(&op);
    let start = start_login(&provider, &settings, REDIRECT, &random(3)).unwrap();
    let url = openidconnect::url::Url::parse(&start.authorize_url).unwrap();
    let challenge = url
        .query_pairs()
        .find(|(k, _)| k == "code_challenge")
        .unwrap()
        .1
        .to_string();
    op.issue_code("once", &challenge, sign_rs256(&claims(&op, &start.nonce)));
    let callback = CallbackParams {
        code: Some("once".into()),
        state: Some(start.state.clone()),
        iss: None,
        error: None,
    };
    let stored = StoredAttempt {
        state: start.state,
        nonce: start.nonce,
        pkce_verifier: start.pkce_verifier,
        idp: idp(1),
    };
    let finish = || {
        finish_login(
            &provider,
            &settings,
            idp(1),
            REDIRECT,
            &callback,
            &stored,
            &LOOPBACK,
            now(),
            SKEW,
            async || None,
        )
    };
    // Without RFC 9207 advertised, a callback without `iss` is accepted.
    assert!(finish().await.is_ok());
    assert_eq!(
        finish().await,
        Err(OidcRejection::TokenEndpoint("invalid_grant".into()))
    );
}

#[tokio::test]
async fn entra_style_tokens_fall_back_to_preferred_username() {
    let op = MockOp::start(false).await;
    let provider = discover(&op.base, &LOOPBACK).await.unwrap();
    let identity = run(
        &op,
        &provider,
        Flow {
            claims: Box::new(|c| {
                let o = c.as_object_mut().unwrap();
                o.remove("email");
                o.remove("email_verified");
                o.remove("name");
                o.insert("preferred_username".into(), json!("bob@contoso.test"));
                o.insert("given_name".into(), json!("Bob"));
                o.insert("family_name".into(), json!("Builder"));
            }),
            ..Flow::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(identity.email.as_str(), "bob@contoso.test");
    assert_eq!(identity.display_name.as_deref(), Some("Bob Builder"));
    let identity = run(
        &op,
        &provider,
        Flow {
            claims: Box::new(|c| {
                let o = c.as_object_mut().unwrap();
                o.remove("email");
                o.insert("preferred_username".into(), json!("not-an-email"));
                o.insert("upn".into(), json!("carol@contoso.test"));
            }),
            ..Flow::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(identity.email.as_str(), "carol@contoso.test");
}

/// The ID token's other claims reach the identity as text values, for role rules:
/// strings, and the strings of arrays; numbers, objects and empty arrays are left out.
#[tokio::test]
async fn group_and_role_claims_reach_the_identity() {
    let op = MockOp::start(false).await;
    let provider = discover(&op.base, &LOOPBACK).await.unwrap();
    let identity = run(
        &op,
        &provider,
        Flow {
            claims: Box::new(|c| {
                let o = c.as_object_mut().unwrap();
                o.insert("groups".into(), json!(["Portcullis Admins", "Staff", 7]));
                o.insert("roles".into(), json!("Approver"));
                o.insert("department".into(), json!({"name": "IT"}));
                o.insert("teams".into(), json!([]));
            }),
            ..Flow::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        identity.claims.get("groups"),
        Some(&vec!["Portcullis Admins".to_owned(), "Staff".to_owned()])
    );
    assert_eq!(
        identity.claims.get("roles"),
        Some(&vec!["Approver".to_owned()])
    );
    assert!(!identity.claims.contains_key("department"));
    assert!(!identity.claims.contains_key("teams"));
}

/// An IdP not trusted with its emails identifies members only by emails it marks
/// `email_verified: true`: a missing claim, and the username fallbacks, are refused.
#[tokio::test]
async fn untrusted_idps_need_verified_emails() {
    let op = MockOp::start(false).await;
    let provider = discover(&op.base, &LOOPBACK).await.unwrap();
    let untrusted = |claims: Box<dyn Fn(&mut Value)>| Flow {
        claims,
        trust_unverified_email: false,
        ..Flow::default()
    };
    let identity = run(&op, &provider, untrusted(Box::new(|_| {})))
        .await
        .unwrap();
    assert_eq!(identity.email.as_str(), "alice@acme.test");
    let missing = run(
        &op,
        &provider,
        untrusted(Box::new(|c| {
            c.as_object_mut().unwrap().remove("email_verified");
        })),
    )
    .await;
    assert_eq!(missing, Err(OidcRejection::EmailNotVerified));
    let fallback = run(
        &op,
        &provider,
        untrusted(Box::new(|c| {
            let o = c.as_object_mut().unwrap();
            o.remove("email");
            o.insert("upn".into(), json!("carol@contoso.test"));
        })),
    )
    .await;
    assert_eq!(fallback, Err(OidcRejection::MissingEmail));
    let refused = run(
        &op,
        &provider,
        untrusted(Box::new(|c| c["email_verified"] = json!(false))),
    )
    .await;
    assert_eq!(refused, Err(OidcRejection::EmailNotVerified));
}

#[tokio::test]
async fn discovery_is_strict() {
    // Issuer mismatch.
    let op = MockOp::start(false).await;
    op.state.lock().unwrap().issuer_override = Some("https://elsewhere.test".into());
    assert!(matches!(
        discover(&op.base, &LOOPBACK).await,
        Err(SsoError::Discovery(_))
    ));
    // `localhost` is not `127.0.0.1`.
    let op = MockOp::start(false).await;
    let localhost = op.base.replace("127.0.0.1", "localhost");
    assert!(matches!(
        discover(&localhost, &LOOPBACK).await,
        Err(SsoError::Discovery(_))
    ));
    // Redirects are not followed.
    let op = MockOp::start(false).await;
    op.state.lock().unwrap().redirect_discovery = true;
    let err = discover(&op.base, &LOOPBACK).await.unwrap_err();
    assert!(
        matches!(&err, SsoError::Discovery(m) if m.contains("redirect")),
        "{err:?}"
    );
    // Loopback is refused without the allow flag, by literal and by name.
    let op = MockOp::start(false).await;
    let strict = HttpPolicy::default();
    assert!(matches!(
        discover(&op.base, &strict).await,
        Err(SsoError::Http(_))
    ));
    assert!(matches!(
        discover(&localhost, &strict).await,
        Err(SsoError::Http(_))
    ));
    for private in [
        "https://10.0.0.1",
        "https://169.254.169.254",
        "https://[::1]:8443",
        "https://192.168.1.1/realms/x",
    ] {
        assert!(
            matches!(discover(private, &strict).await, Err(SsoError::Http(_))),
            "{private}"
        );
    }
    // Plain http is refused for public hosts even when private addresses are allowed.
    assert!(matches!(
        discover("http://idp.example.test", &LOOPBACK).await,
        Err(SsoError::Http(_))
    ));
}

/// RFC 7519 §4.1.5: an ID token is not accepted before its `nbf`, beyond the clock skew.
#[tokio::test]
async fn tokens_before_their_nbf_are_refused() {
    let op = MockOp::start(false).await;
    let provider = discover(&op.base, &LOOPBACK).await.unwrap();
    let at = |offset: i64| Flow {
        claims: Box::new(move |c| c["nbf"] = json!(now().timestamp() + offset)),
        ..Flow::default()
    };
    assert_eq!(
        run(&op, &provider, at(3600)).await,
        Err(OidcRejection::NotYetValid)
    );
    // Within the skew, and in the past, it is accepted.
    assert!(run(&op, &provider, at(SKEW.num_seconds() - 5))
        .await
        .is_ok());
    assert!(run(&op, &provider, at(-60)).await.is_ok());
}

/// A provider that rotates its signing key: a token with a key the discovered set lacks
/// is verified with the keys fetched anew, when the caller gives them; without them it
/// is refused as a bad signature.
#[tokio::test]
async fn a_rotated_key_is_found_by_fetching_the_keys_again() {
    let op = MockOp::start(false).await;
    let provider = discover(&op.base, &LOOPBACK).await.unwrap();
    op.state.lock().unwrap().rotated = true;
    let rotated = || Flow {
        token: Box::new(|c| sign_rs256_with(&c, "k2", rotated_key())),
        ..Flow::default()
    };
    assert_eq!(
        run(&op, &provider, rotated()).await,
        Err(OidcRejection::BadSignature)
    );
    let fresh = discover(&op.base, &LOOPBACK).await.unwrap();
    let identity = run(
        &op,
        &provider,
        Flow {
            refresh_keys: Box::new(move || Some(fresh.clone())),
            ..rotated()
        },
    )
    .await
    .unwrap();
    assert_eq!(identity.email.as_str(), "alice@acme.test");
    // A key nobody published stays refused, fetched keys or not.
    let fresh = discover(&op.base, &LOOPBACK).await.unwrap();
    let forged = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let refused = run(
        &op,
        &provider,
        Flow {
            token: Box::new(move |c| sign_rs256_with(&c, "k9", &forged)),
            refresh_keys: Box::new(move || Some(fresh.clone())),
            ..Flow::default()
        },
    )
    .await;
    assert_eq!(refused, Err(OidcRejection::BadSignature));
}
