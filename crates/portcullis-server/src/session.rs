//! Dashboard sessions: a signed cookie (a JWT) that names a server-side session row.
//!
//! The signature stops forged cookies; the row lets logout, deactivation and deletion end
//! a session at once, on every replica.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::Utc;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use portcullis_app::sessions;
use portcullis_domain::{Session, SessionId, SetupLinkId};

pub use portcullis_app::sessions::SignedIn;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::state::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "portcullis_session";
/// Name of the cookie carrying the pre-login CSRF token.
pub const LOGIN_CSRF_COOKIE: &str = "portcullis_csrf";
/// Header carrying the CSRF token on JSON calls made with a session cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Keys derived from the configured (or stored) session secret.
pub struct SessionKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    csrf: Vec<u8>,
}

impl SessionKeys {
    /// Derives the keys from a secret of at least 32 bytes.
    pub fn new(secret: &str) -> Self {
        let jwt = derive(secret, "session-jwt");
        Self {
            encoding: EncodingKey::from_secret(&jwt),
            decoding: DecodingKey::from_secret(&jwt),
            csrf: derive(secret, "csrf"),
        }
    }

    /// The CSRF token of a session: an HMAC of its id, so it needs no storage.
    pub fn csrf_token(&self, session: SessionId) -> String {
        let mut mac = hmac(&self.csrf);
        mac.update(session.to_string().as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether `presented` is the session's CSRF token (constant time).
    pub fn check_csrf(&self, session: SessionId, presented: &str) -> bool {
        self.csrf_token(session)
            .as_bytes()
            .ct_eq(presented.as_bytes())
            .into()
    }

    /// The CSRF token of the forms a setup link opens (bound to the link as a session's is
    /// to the session).
    pub fn link_csrf_token(&self, link: SetupLinkId) -> String {
        let mut mac = hmac(&self.csrf);
        mac.update(b"setup-link:");
        mac.update(link.to_string().as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether `presented` is the link's CSRF token (constant time).
    pub fn check_link_csrf(&self, link: SetupLinkId, presented: &str) -> bool {
        self.link_csrf_token(link)
            .as_bytes()
            .ct_eq(presented.as_bytes())
            .into()
    }

    /// Signs the cookie value for a session.
    pub fn sign(&self, session: &Session) -> Result<String, AppError> {
        let claims = Claims {
            sid: session.id.to_string(),
            acc: session.account.to_string(),
            iat: session.created_at.timestamp(),
            exp: session.expires_at.timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("signing a session: {e}")))
    }

    /// Verifies a cookie value and returns the session id it names. Forged, altered and
    /// expired cookies, and any algorithm but HS256, are refused.
    pub fn verify(&self, token: &str) -> Option<SessionId> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).ok()?;
        data.claims.sid.parse().ok()
    }
}

fn hmac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

fn derive(secret: &str, purpose: &str) -> Vec<u8> {
    let mut mac = hmac(secret.as_bytes());
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sid: String,
    acc: String,
    iat: i64,
    exp: i64,
}

/// The session cookie for `token`.
pub fn session_cookie(token: String, secure: bool, ttl_minutes: i64) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::minutes(ttl_minutes))
        .finish()
}

/// A cookie that removes the session cookie.
pub fn clear_session_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish();
    cookie.make_removal();
    cookie
}

/// The signed-in member of a request, when the cookie names a live session of an active
/// member. Never fails: handlers decide what no session means (401 or a redirect).
pub struct MaybeSignedIn(pub Option<SignedIn>);

impl FromRequest for MaybeSignedIn {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        Box::pin(async move {
            let (Some(state), Some(token)) = (state, token) else {
                return Ok(Self(None));
            };
            let Some(id) = state.keys.verify(&token) else {
                return Ok(Self(None));
            };
            let found = state
                .read(move |store| sessions::resume(store, id, Utc::now()))
                .await
                .map_err(crate::error::ApiError)?;
            if let Some(signed_in) = &found {
                crate::telemetry::record_account(signed_in.account.id);
            }
            Ok(Self(found))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use portcullis_domain::{AccountId, AuthMethod, UserId};
    use uuid::Uuid;

    fn session(expires_in_minutes: i64) -> Session {
        let now = Utc::now();
        Session {
            id: SessionId::from_uuid(Uuid::from_u128(7)),
            account: AccountId::from_uuid(Uuid::from_u128(1)),
            user: UserId::from_uuid(Uuid::from_u128(2)),
            method: AuthMethod::Password,
            created_at: now,
            expires_at: now + Duration::minutes(expires_in_minutes),
            revoked_at: None,
        }
    }

    #[test]
    fn cookies_verify_only_with_the_right_key_and_unaltered() {
        let keys = SessionKeys::new("0123456789abcdef0123456789abcdef");
        let s = session(10);
        let token = keys.sign(&s).unwrap();
        assert_eq!(keys.verify(&token), Some(s.id));
        let other = SessionKeys::new("fedcba9876543210fedcba9876543210");
        assert_eq!(other.verify(&token), None, "forged with another key");
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let payload = URL_SAFE_NO_PAD
            .encode(br#"{"sid":"00000000-0000-0000-0000-000000000008","acc":"x","iat":0,"exp":99999999999}"#);
        parts[1] = payload;
        assert_eq!(keys.verify(&parts.join(".")), None, "altered payload");
        assert_eq!(
            keys.verify(&keys.sign(&session(-1)).unwrap()),
            None,
            "expired"
        );
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(br#"{"sid":"00000000-0000-0000-0000-000000000007","acc":"x","iat":0,"exp":99999999999}"#)
        );
        assert_eq!(keys.verify(&unsigned), None, "alg none");
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_session() {
        let keys = SessionKeys::new("0123456789abcdef0123456789abcdef");
        let a = SessionId::from_uuid(Uuid::from_u128(1));
        let b = SessionId::from_uuid(Uuid::from_u128(2));
        let token = keys.csrf_token(a);
        assert!(keys.check_csrf(a, &token));
        assert!(!keys.check_csrf(b, &token));
        assert!(!keys.check_csrf(a, ""));
    }
}
