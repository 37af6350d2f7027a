//! `/ServiceProviderConfig`, `/Schemas[/{id}]` and `/ResourceTypes[/{id}]`: read-only
//! (405 for writes), unfiltered (403 for a `filter`, RFC 7644 §4, so that no client
//! believes one was applied), and truthful about what this server supports.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use portcullis_scim::bulk::BulkLimits;
use portcullis_scim::discovery::{self, AuthenticationScheme, BulkConfig, ServiceProviderConfig};
use portcullis_scim::schema::ResourceSchema;
use portcullis_scim::ScimError;

use super::auth::Caller;
use super::error::ScimResult;
use super::json_response;
use crate::error::AppError;

/// What the server supports, as `/ServiceProviderConfig` says.
pub fn provider_config() -> ServiceProviderConfig {
    let bulk = BulkLimits::default();
    ServiceProviderConfig {
        documentation_uri: None,
        patch: true,
        bulk: Some(BulkConfig {
            max_operations: bulk.max_operations,
            max_payload_size: bulk.max_payload_size.min(super::MAX_BODY_BYTES),
        }),
        filter_max_results: Some(super::query_limits().max_count),
        change_password: false,
        sort: true,
        etag: true,
        cursor_timeout: None,
        authentication_schemes: vec![AuthenticationScheme::bearer_token()],
    }
}

fn types() -> [&'static ResourceSchema; 2] {
    [ResourceSchema::user(), ResourceSchema::group()]
}

pub fn config(cfg: &mut web::ServiceConfig) {
    macro_rules! read_only {
        ($path:literal, $handler:expr) => {
            web::resource($path)
                .route(web::get().to($handler))
                .default_service(web::to(super::method_not_allowed))
        };
    }
    cfg.service(read_only!("/ServiceProviderConfig", spc))
        .service(read_only!("/Schemas", schemas))
        .service(read_only!("/Schemas/{id}", schema))
        .service(read_only!("/ResourceTypes", resource_types))
        .service(read_only!("/ResourceTypes/{id}", resource_type));
}

/// Refuses a request with a `filter` parameter with 403, as RFC 7644 §4 asks (the
/// documents are never filtered). Called after the key is checked, so a request without
/// one is refused for that.
fn unfiltered(req: &HttpRequest) -> ScimResult<()> {
    let filtered = url::form_urlencoded::parse(req.query_string().as_bytes())
        .any(|(k, _)| k.eq_ignore_ascii_case("filter"));
    if filtered {
        return Err(ScimError::new(
            403,
            None,
            "discovery endpoints cannot be filtered (RFC 7644 §4); ask without `filter`",
        )
        .into());
    }
    Ok(())
}

fn missing(what: &str, id: &str) -> ScimResult<HttpResponse> {
    Err(AppError::Scim(ScimError::not_found(format!("there is no {what} {id:?}"))).into())
}

async fn spc(Caller(ctx, _): Caller, req: HttpRequest) -> ScimResult<HttpResponse> {
    unfiltered(&req)?;
    Ok(json_response(
        StatusCode::OK,
        &discovery::service_provider_config(&provider_config(), &ctx.base),
    ))
}

async fn schemas(Caller(ctx, _): Caller, req: HttpRequest) -> ScimResult<HttpResponse> {
    unfiltered(&req)?;
    Ok(json_response(
        StatusCode::OK,
        &discovery::schemas(&types(), &ctx.base),
    ))
}

async fn schema(
    Caller(ctx, _): Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> ScimResult<HttpResponse> {
    unfiltered(&req)?;
    match discovery::find_schema(&types(), &id, &ctx.base) {
        Some(doc) => Ok(json_response(StatusCode::OK, &doc)),
        None => missing("schema", &id),
    }
}

async fn resource_types(Caller(ctx, _): Caller, req: HttpRequest) -> ScimResult<HttpResponse> {
    unfiltered(&req)?;
    Ok(json_response(
        StatusCode::OK,
        &discovery::resource_types(&types(), &ctx.base),
    ))
}

async fn resource_type(
    Caller(ctx, _): Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> ScimResult<HttpResponse> {
    unfiltered(&req)?;
    match discovery::find_resource_type(&types(), &id, &ctx.base) {
        Some(doc) => Ok(json_response(StatusCode::OK, &doc)),
        None => missing("resource type", &id),
    }
}
