//! OpenID Connect relying party on top of openidconnect: discovery, the authorization code
//! flow with PKCE (S256), state and nonce, and ID-token verification with the checks
//! openidconnect leaves to the caller (RFC 9207 `iss`, `iat` in the future, asymmetric
//! algorithms only).
//!
//! The flow the server drives:
//!
//! 1. [`discover`] when the IdP is saved (and when its keys rotate); keep the
//!    [`ProviderInfo`] cached.
//! 2. [`start_login`] with fresh random bytes; persist the returned state, nonce, PKCE
//!    verifier and IdP id as the browser's attempt ([`StoredAttempt`]), keyed by state,
//!    bound to the browser by a cookie, single-use, short-lived. Redirect to
//!    `authorize_url`.
//! 3. On the callback, load **and delete** the attempt, then call [`finish_login`].
//! 4. On sign-out, [`logout_url`] gives the provider's end-session URL (RP-Initiated
//!    Logout), when it has one.

mod claims;
pub(crate) mod http;
mod login;
mod logout;
mod rejection;

pub use http::{is_public, HttpPolicy};
pub use login::{
    discover, finish_login, start_login, CallbackParams, OidcRandom, OidcStart, ProviderInfo,
    StoredAttempt,
};
pub use logout::logout_url;
pub use rejection::OidcRejection;
