//! The SCIM 2.0 provisioning API at `/scim/v2` (RFC 7643, RFC 7644), built on
//! `portcullis-scim` for the protocol and the store's SCIM API for persistence.
//!
//! Identity providers (Okta, Microsoft Entra ID) call it with an account API key:
//! [`auth`] decides the account and whether it answers SCIM; the use cases of
//! `portcullis_app::scim` make each change in one store write with its audit event and
//! filter, sort and page in the database; these modules parse requests, render answers,
//! and render every failure as a SCIM Error message ([`error`]). What is supported and
//! how to connect an IdP is in `docs/scim.md`.

pub mod auth;
mod bulk;
mod discovery;
pub mod error;
mod groups;
mod me;
mod users;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use portcullis_app::scim::mapping;
use portcullis_domain::GroupId;
use portcullis_scim::projection;
use portcullis_scim::query::{ListQuery, QueryLimits};
use portcullis_scim::schema::ResourceSchema;
use portcullis_scim::ScimError;
use portcullis_store::ScimUserRow;
use serde_json::Value;

use self::error::{ScimFailure, ScimResult, SCIM_CONTENT_TYPE};
use crate::error::AppError;

/// Where the API is mounted; IdPs are given `{public_url}/scim/v2`.
pub const BASE_PATH: &str = "/scim/v2";

/// The largest request body accepted under `/scim/v2` (also Bulk's `maxPayloadSize`).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The list limits: pages of 100 by default, at most 200 (`filter.maxResults`).
pub fn query_limits() -> QueryLimits {
    QueryLimits::default()
}

/// Registers the SCIM routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE_PATH)
            .configure(users::config)
            .configure(groups::config)
            .configure(discovery::config)
            .configure(bulk::config)
            .configure(me::config)
            .default_service(web::to(unknown_route))
            .wrap(actix_web::middleware::from_fn(require_json_body)),
    );
}

/// Whether a request's `Content-Type` may carry a SCIM body: `application/scim+json` or
/// `application/json`, with or without parameters such as `charset`. A request without
/// the header is taken as JSON (some clients leave it out on small bodies).
fn is_json_content_type(value: Option<&str>) -> bool {
    let Some(value) = value else { return true };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case(SCIM_CONTENT_TYPE)
        || essence.eq_ignore_ascii_case("application/json")
}

/// Refuses a body of another media type (a form, XML, plain text) with 415 in the SCIM
/// error format, before anything reads it.
async fn require_json_body<B: actix_web::body::MessageBody + 'static>(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<B>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::EitherBody<B>>, actix_web::Error> {
    let has_body = matches!(
        *req.method(),
        actix_web::http::Method::POST
            | actix_web::http::Method::PUT
            | actix_web::http::Method::PATCH
    );
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    if has_body && !is_json_content_type(content_type) {
        let failure = ScimFailure(AppError::UnsupportedMediaType(format!(
            "send the body as {SCIM_CONTENT_TYPE} or application/json, not {}",
            content_type.unwrap_or_default()
        )));
        let response = actix_web::ResponseError::error_response(&failure);
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(actix_web::dev::ServiceResponse::map_into_left_body)
}

async fn unknown_route(req: HttpRequest) -> ScimResult<HttpResponse> {
    Err(AppError::Scim(ScimError::not_found(format!(
        "there is no SCIM endpoint {} {}",
        req.method(),
        req.path()
    )))
    .into())
}

/// The answer to a method an endpoint does not have (writes to discovery documents).
pub(crate) async fn method_not_allowed(req: HttpRequest) -> ScimResult<HttpResponse> {
    Err(
        AppError::MethodNotAllowed(format!("{} is not allowed on {}", req.method(), req.path()))
            .into(),
    )
}

/// Reads a JSON body of at most [`MAX_BODY_BYTES`] (413 beyond it, `invalidSyntax` when it
/// is not JSON). `application/scim+json` and `application/json` are both accepted, with or
/// without a charset.
pub(crate) async fn read_json(payload: web::Payload) -> ScimResult<Value> {
    let body = match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(e)) => {
            return Err(
                AppError::Scim(ScimError::invalid_syntax(format!("reading the body: {e}"))).into(),
            )
        }
        Err(_) => {
            return Err(AppError::Scim(ScimError::payload_too_large(format!(
                "the request body is larger than {MAX_BODY_BYTES} bytes"
            )))
            .into())
        }
    };
    serde_json::from_slice(&body).map_err(|e| {
        AppError::Scim(ScimError::invalid_syntax(format!(
            "the body is not valid JSON: {e}"
        )))
        .into()
    })
}

/// The list query of a request's query string.
pub(crate) fn list_query(req: &HttpRequest) -> ScimResult<ListQuery> {
    Ok(parse_list_query(req)?)
}

/// [`list_query`] as an [`AppError`], for a read that reports it only after the caller
/// is authenticated (a caller without a valid key learns nothing about its query).
pub(crate) fn parse_list_query(req: &HttpRequest) -> Result<ListQuery, AppError> {
    ListQuery::from_query_string(req.query_string(), &query_limits()).map_err(AppError::Scim)
}

/// A header's value as text.
pub(crate) fn header_str(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A SCIM JSON answer.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(SCIM_CONTENT_TYPE)
        .body(json_bytes(body))
}

/// A JSON value as bytes, written straight into a buffer (`Value::to_string` formats
/// through `fmt::Write`, which costs more). A `Value` always serialises: its keys are
/// strings.
fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// A resource answer: projected as the query asks, with its ETag (and `Location` for 201).
pub(crate) fn resource_response(
    status: StatusCode,
    resource: Value,
    version: i64,
    schema: &ResourceSchema,
    q: &ListQuery,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .content_type(SCIM_CONTENT_TYPE)
        .insert_header((header::ETAG, mapping::etag(version)));
    if status == StatusCode::CREATED {
        if let Some(location) = resource["meta"]["location"].as_str() {
            response.insert_header((header::LOCATION, location.to_owned()));
        }
    }
    let shown = projection::project_owned(resource, schema, &q.attributes, &q.excluded_attributes);
    response.body(json_bytes(&shown))
}

/// A member's `200` answer ([`resource_response`] of [`mapping::user_resource`]): written from
/// the stored text by [`mapping::user_text`] when the query selects no attributes and
/// the text allows it, projected as a [`Value`] otherwise.
pub(crate) fn user_response(
    row: &ScimUserRow,
    groups: &[(GroupId, String)],
    base: &str,
    q: &ListQuery,
) -> HttpResponse {
    let text = (q.attributes.is_empty() && q.excluded_attributes.is_empty())
        .then(|| mapping::user_text(row, groups, base))
        .flatten();
    match text {
        Some(text) => written_response(row.version, text),
        None => resource_response(
            StatusCode::OK,
            mapping::user_resource(row, groups, base),
            row.version,
            ResourceSchema::user(),
            q,
        ),
    }
}

/// A `200` answer of a resource at `version` already written as JSON `text`.
pub(crate) fn written_response(version: i64, text: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(SCIM_CONTENT_TYPE)
        .insert_header((header::ETAG, mapping::etag(version)))
        .body(text)
}

/// `304` when `If-None-Match` names the current version of a read resource.
pub(crate) fn not_modified(req: &HttpRequest, version: i64) -> Option<HttpResponse> {
    let inm = header_str(req, header::IF_NONE_MATCH)?;
    match portcullis_scim::etag::evaluate(None, Some(inm), Some(&version.to_string()), true) {
        portcullis_scim::etag::Precondition::NotModified => Some(
            HttpResponse::NotModified()
                .insert_header((header::ETAG, mapping::etag(version)))
                .finish(),
        ),
        _ => None,
    }
}
