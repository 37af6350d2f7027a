//! The browser-binding cookie: proof that the answer of an IdP comes back to the browser
//! that started the login.
//!
//! At the start of a login the browser gets a random value in an HttpOnly cookie, and
//! the pending login stores only its SHA-256 hash. The ACS and the callback accept an
//! answer only when the cookie they receive hashes to the stored value, so a SAML
//! response or an authorization code stolen from (or planted into) another browser is
//! refused (login CSRF, session fixation).
//!
//! **SameSite.** The SAML response arrives as a cross-site POST from the IdP's page, and
//! browsers do not send `SameSite=Lax` cookies on cross-site POSTs. When the public URL
//! is HTTPS the cookie is therefore `SameSite=None; Secure`. Browsers refuse
//! `SameSite=None` without `Secure`, so over plain HTTP (local development) the cookie
//! falls back to `SameSite=Lax`: that works when the IdP is same-site with Portcullis
//! (e.g. both on `localhost`/`127.0.0.1` with different ports, as in the tests) and for
//! OIDC (a top-level GET redirect), but a SAML IdP on another site can only be used over
//! HTTPS.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The cookie's name.
pub const BROWSER_COOKIE: &str = "portcullis_sso_browser";

/// Length of a well-formed cookie value (32 random bytes, base64url).
const VALUE_LEN: usize = 43;

/// The hash stored with a pending login for the cookie value `value`.
pub fn binding_hash(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

fn well_formed(value: &str) -> bool {
    value.len() == VALUE_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The binding of a login being started: the browser's existing cookie when it has a
/// well-formed one (several tabs may log in at once), else a fresh value and the cookie
/// to set. Returns the hash to store and the cookie to send.
pub fn bind(req: &HttpRequest, secure: bool) -> (String, Cookie<'static>) {
    let value = req
        .cookie(BROWSER_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| well_formed(v))
        .unwrap_or_else(|| {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            URL_SAFE_NO_PAD.encode(bytes)
        });
    (binding_hash(&value), cookie(value, secure))
}

/// The cookie carrying `value`, valid as long as a pending login.
pub fn cookie(value: String, secure: bool) -> Cookie<'static> {
    let ttl = actix_web::cookie::time::Duration::minutes(
        portcullis_app::sso::PENDING_LOGIN_TTL.num_minutes(),
    );
    Cookie::build(BROWSER_COOKIE, value)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(if secure {
            SameSite::None
        } else {
            SameSite::Lax
        })
        .max_age(ttl)
        .finish()
}

/// The hash of the binding cookie the request carries, to compare (in constant time,
/// `portcullis_app::sso::pending`) with the one its pending login stored.
pub fn presented(req: &HttpRequest) -> Option<String> {
    req.cookie(BROWSER_COOKIE)
        .map(|value| binding_hash(value.value()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_flags_follow_the_scheme() {
        let c = cookie("v".into(), true);
        assert_eq!(c.same_site(), Some(SameSite::None));
        assert_eq!(c.secure(), Some(true));
        assert_eq!(c.http_only(), Some(true));
        let c = cookie("v".into(), false);
        assert_eq!(c.same_site(), Some(SameSite::Lax));
    }

    #[test]
    fn binding_reuses_a_well_formed_cookie_only() {
        let req = actix_web::test::TestRequest::default().to_http_request();
        let (hash, c) = bind(&req, false);
        assert_eq!(hash, binding_hash(c.value()));
        assert!(well_formed(c.value()));
        let req = actix_web::test::TestRequest::default()
            .cookie(Cookie::new(BROWSER_COOKIE, c.value().to_owned()))
            .to_http_request();
        assert_eq!(bind(&req, false).0, hash);
        assert_eq!(presented(&req), Some(hash.clone()));
        let bare = actix_web::test::TestRequest::default().to_http_request();
        assert_eq!(presented(&bare), None);
        let req = actix_web::test::TestRequest::default()
            .cookie(Cookie::new(BROWSER_COOKIE, "short"))
            .to_http_request();
        assert_ne!(bind(&req, false).0, binding_hash("short"));
    }
}
