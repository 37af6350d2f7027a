//! SAML 2.0 service provider on top of samael, with every check samael leaves to the SP.
//!
//! The flow the server drives:
//!
//! 1. [`start_login`] builds the AuthnRequest redirect, signed with the IdP's own SP key
//!    when its settings ask for it ([`sp_signing_key`] makes that key's certificate, which
//!    [`sp_metadata_xml`] publishes). The server stores the returned request id with the
//!    browser's login attempt (single-use, short-lived).
//! 2. The IdP posts `SAMLResponse` to the IdP's own ACS URL ([`SpConfig`]). The server
//!    calls [`peek_in_response_to`] only to choose the path: `Some(id)` means
//!    [`Expected::SpInitiated`] with the pending ids of this browser and this IdP, `None`
//!    means [`Expected::IdpInitiated`].
//! 3. [`verify_response`] returns a [`VerifiedAssertion`] or a [`SamlRejection`]. The
//!    server then deletes the consumed request id and inserts `(idp, assertion_id)` into
//!    its replay table until [`VerifiedAssertion::replay_expires_at`], behind a unique
//!    index: a failed insert means a replay and the login is refused.
//!
//! Single Logout on the IdP's SLO URL is in [`logout_request`], [`verify_logout_response`],
//! [`verify_logout_request`] and [`logout_response`] (HTTP-Redirect binding, signed).

mod attributes;
mod decrypt;
mod encrypted;
mod facts;
mod fetch;
mod guard;
mod logout;
mod metadata;
mod rejection;
mod request;
mod sp;
mod sp_key;
mod verify;

pub use attributes::{DEFAULT_EMAIL_ATTRIBUTES, DEFAULT_NAME_ATTRIBUTES};
pub use decrypt::{decrypt_assertion, MAX_CIPHERTEXT};
pub use facts::{describe, ResponseFacts};
pub use fetch::fetch_metadata;
pub use guard::{peek_in_response_to, MAX_DECODED_RESPONSE, MAX_ENCODED_RESPONSE};
pub use logout::{
    logout_request, logout_response, verify_logout_request, verify_logout_response,
    IdpLogoutRequest, LoggedOutAtIdp, LogoutRedirect, LOGOUT_REQUEST_VALIDITY, STATUS_RESPONDER,
    STATUS_SUCCESS,
};
pub use metadata::{parse_idp_metadata, sp_metadata_xml, ParsedIdpMetadata, MAX_METADATA};
pub use rejection::SamlRejection;
pub use request::{start_login, AuthnRedirect, SIG_ALG_RSA_SHA256};
pub use sp::{certificate_expiry, compact_certificate, normalize_certificate, SpConfig};
pub use sp_key::{
    certificate_pem, sp_key_pair, SpKeyUse, MIN_SP_KEY_BITS, SP_CERTIFICATE_VALIDITY,
};
pub use verify::{verify_response, Expected, VerifiedAssertion, MAX_RESPONSE_AGE};
