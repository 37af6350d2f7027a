//! SCIM rendering of failures: every error under `/scim/v2` is the RFC 7644 §3.12 Error
//! message with `status` as a string and the right `scimType`, whatever went wrong.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use portcullis_app::scim::store_error;
use portcullis_scim::ScimError;
use portcullis_store::StoreError;

use crate::error::{AppError, HttpStatus};

/// The content type of every SCIM answer.
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// An [`AppError`] rendered as a SCIM Error message.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ScimFailure(#[from] pub AppError);

impl From<ScimError> for ScimFailure {
    fn from(e: ScimError) -> Self {
        Self(AppError::Scim(e))
    }
}

impl From<StoreError> for ScimFailure {
    fn from(e: StoreError) -> Self {
        Self(store_error(e))
    }
}

/// The SCIM error for an application error; the status is always [`HttpStatus::status`].
pub fn to_scim(e: &AppError) -> ScimError {
    let status = e.status().as_u16();
    match e {
        AppError::Scim(inner) => inner.clone(),
        // A conflict with a rule (the last admin), not with another resource's value:
        // no `scimType` fits it, so none is given.
        AppError::Conflict(m) => ScimError::new(status, None, m.clone()),
        AppError::BadRequest(m) => ScimError::new(
            status,
            Some(portcullis_scim::ScimType::InvalidValue),
            m.clone(),
        ),
        other => ScimError::new(status, None, other.public_message()),
    }
}

/// A SCIM Error response for `e`.
pub fn error_response(e: &AppError) -> HttpResponse {
    let scim = to_scim(e);
    let mut response = HttpResponse::build(e.status());
    if let AppError::TooManyRequests(secs) = e {
        response.insert_header(("Retry-After", secs.to_string()));
    }
    if let AppError::Unauthorized(_) = e {
        response.insert_header(("WWW-Authenticate", "Bearer"));
    }
    response
        .content_type(SCIM_CONTENT_TYPE)
        .body(scim.to_json().to_string())
}

impl ResponseError for ScimFailure {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        error_response(&self.0)
    }
}

/// A SCIM result.
pub type ScimResult<T> = Result<T, ScimFailure>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_types() {
        let check = |e: AppError, status: &str, scim_type: Option<&str>| {
            let json = to_scim(&e).to_json();
            assert_eq!(json["status"], status, "{e:?}");
            assert_eq!(json["scimType"].as_str(), scim_type, "{e:?}");
            assert_eq!(
                json["schemas"][0],
                "urn:ietf:params:scim:api:messages:2.0:Error"
            );
        };
        check(AppError::NotFound, "404", None);
        check(AppError::Unauthorized("x".into()), "401", None);
        check(
            store_error(StoreError::Conflict { what: "email" }),
            "409",
            Some("uniqueness"),
        );
        check(store_error(StoreError::PreconditionFailed), "412", None);
        check(
            store_error(StoreError::InvalidFilter("x".into())),
            "400",
            Some("invalidFilter"),
        );
        check(
            AppError::BadRequest("x".into()),
            "400",
            Some("invalidValue"),
        );
        check(AppError::Internal("secret".into()), "500", None);
        assert!(!to_scim(&AppError::Internal("secret".into()))
            .detail
            .contains("secret"));
    }
}
