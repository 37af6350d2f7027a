//! Integration tests of portcullis-sso: one binary, one module per feature.

// Test code may panic on failed set-up: that is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod oidc_login;
mod oidc_mock;
mod saml_attacks;
mod saml_decrypt;
mod saml_encrypted;
mod saml_fixture;
mod saml_logout;
mod saml_logout_fixture;
mod saml_logout_verify;
mod saml_setup;
mod saml_signed_requests;
mod saml_verify;
