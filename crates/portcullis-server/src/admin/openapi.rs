//! The OpenAPI 3 document of the admin API, generated from the handlers' annotations and
//! served at `GET /api/v1/openapi.json`. `docs/openapi.json` is a copy a test keeps
//! identical to it.

use actix_web::{get, web, HttpResponse};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    account, api_keys, audit, bots, domains, idps, invitations, ip_restrictions, members,
    role_rules, setup_links, sign_in_attempts, webhooks,
};

/// Wires the route.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(document_route);
}

struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An account API key (`pcl_…`). Dashboard sessions also work; their writes need the X-CSRF-Token header.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "operator_token",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The operator token (PORTCULLIS_OPERATOR_TOKEN); without one configured the operator routes answer 404.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The admin API's OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis admin API",
        version = "1",
        description = "Everything an account admin configures: the account, members, bots, verified domains, role rules, webhooks, the sign-in debugger, identity providers, API keys, API IP restrictions, invitations and the audit log. Every id is scoped to the caller's account; errors are `{\"error\": code, \"message\": text}`."
    ),
    paths(
        crate::routes::auth::login_json, crate::routes::auth::logout_json, crate::routes::me::me,
        account::get_account, account::update_account_route,
        members::list_route, members::get_route, members::update_route, members::delete_route,
        invitations::list_route, invitations::create_route,
        bots::list_route, bots::create_route, bots::delete_route,
        domains::list_route, domains::create_route, domains::get_route, domains::update_route,
        domains::delete_route, domains::verify_route,
        role_rules::list_route, role_rules::create_route, role_rules::delete_route,
        setup_links::list_route, setup_links::create_route, setup_links::revoke_route,
        webhooks::list_route, webhooks::create_route, webhooks::get_route, webhooks::update_route,
        webhooks::delete_route, webhooks::test_route, webhooks::deliveries_route,
        webhooks::resend_route,
        sign_in_attempts::list_route, sign_in_attempts::get_route,
        idps::list_route, idps::create_route, idps::get_route, idps::update_route,
        idps::refresh_route, idps::rotate_sp_key_route, idps::rotate_sp_encryption_key_route, idps::delete_route,
        api_keys::list_route, api_keys::create_route, api_keys::revoke_route,
        ip_restrictions::get_route, ip_restrictions::put_route,
        audit::list_route,
        crate::operator_api::list_route, crate::operator_api::create_route,
        crate::operator_api::get_route, crate::operator_api::delete_route,
        crate::operator_api::suspend_route, crate::operator_api::resume_route,
    ),
    modifiers(&BearerKeys)
)]
pub struct AdminApi;

/// The document as pretty JSON with a final newline (the form kept in `docs/`).
pub fn document_json() -> String {
    let mut text = AdminApi::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// The OpenAPI document.
#[get("/api/v1/openapi.json")]
async fn document_route() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document_json())
}
