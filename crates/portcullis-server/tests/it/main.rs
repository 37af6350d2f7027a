//! Server integration tests: one binary, modules per feature.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on what they do not expect.

mod admin_api;
mod admin_fixtures;
mod admin_idps;
mod admin_mail;
mod admin_sp_keys;
mod api_keys;
mod binary;
mod browser;
mod dashboard;
mod dashboard_browser;
mod dashboard_invite;
mod dns_support;
mod domains;
mod email_first;
mod email_identity;
mod invitations;
mod last_admin;
mod login;
mod observability;
mod readme;
mod redaction;
mod replicas;
mod role_rules;
mod scim_agreement;
mod scim_entra;
mod scim_okta;
mod scim_protocol;
mod scim_rate_limit;
mod scim_refusals;
mod scim_rfc;
mod scim_support;
mod scopes;
mod sso_e2e_browser;
mod sso_e2e_oidc;
mod sso_e2e_saml;
mod sso_e2e_saml_signed;
mod sso_invite;
mod sso_oidc;
mod sso_policy;
mod sso_saml;
mod sso_support;
mod support;
mod webhook_support;
mod webhooks;
