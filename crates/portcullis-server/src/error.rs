//! The one place where failures become HTTP statuses. Each protocol renders the same
//! [`AppError`] in its own format: JSON for `/api`, an HTML page for the dashboard (and,
//! in the SCIM routes, the SCIM error schema).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use portcullis_domain::DomainError;
use portcullis_store::StoreError;
use serde::Serialize;

/// A failure of a request, independent of how it is rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The request is malformed or a value is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// The caller is not authenticated (or their credentials are wrong).
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is authenticated but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing there (also for another account's ids).
    #[error("not found")]
    NotFound,
    /// The change conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; try again after the given number of seconds.
    #[error("too many attempts; try again in {0} seconds")]
    TooManyRequests(u64),
    /// The body is too large.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// Something broke on our side; the detail goes to the log, not to the client.
    #[error("internal error")]
    Internal(String),
    /// A SCIM protocol error (412, 405, 501, 400 with a `scimType`…): its status is the
    /// one `portcullis-scim` chose with its `scimType`, passed through unchanged.
    #[error("{}", .0.detail)]
    Scim(portcullis_scim::ScimError),
}

impl AppError {
    /// The HTTP status of each kind of failure.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Scim(e) => {
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    /// A short stable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict(_) => "conflict",
            Self::TooManyRequests(_) => "too_many_requests",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Internal(_) => "internal",
            Self::Scim(_) => "scim",
        }
    }

    /// The message safe to show to the client (internal details are never shown).
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "something went wrong on our side; the details are in the server log".into()
            }
            other => other.to_string(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict { what } => Self::Conflict(format!("{what} is already taken")),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        Self::BadRequest(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// An [`AppError`] rendered as JSON: `{"error": code, "message": text}`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(#[from] pub AppError);

#[derive(Serialize)]
struct ApiErrorBody<'a> {
    error: &'a str,
    message: String,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let AppError::TooManyRequests(secs) = self.0 {
            response.insert_header(("Retry-After", secs.to_string()));
        }
        if let AppError::Unauthorized(_) = self.0 {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response.json(ApiErrorBody {
            error: self.0.code(),
            message: self.0.public_message(),
        })
    }
}

/// An [`AppError`] rendered as a readable HTML page.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct PageError(#[from] pub AppError);

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        if let AppError::TooManyRequests(secs) = self.0 {
            response.insert_header(("Retry-After", secs.to_string()));
        }
        response
            .content_type("text/html; charset=utf-8")
            .body(crate::pages::error_page(status, &self.0.public_message()).into_string())
    }
}

macro_rules! into_rendered {
    ($($source:ty),*) => {$(
        impl From<$source> for ApiError {
            fn from(e: $source) -> Self {
                Self(e.into())
            }
        }
        impl From<$source> for PageError {
            fn from(e: $source) -> Self {
                Self(e.into())
            }
        }
    )*};
}
into_rendered!(StoreError, DomainError, actix_web::error::BlockingError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let check = |e: AppError, status: u16| assert_eq!(e.status().as_u16(), status, "{e:?}");
        check(AppError::BadRequest("x".into()), 400);
        check(AppError::Unauthorized("x".into()), 401);
        check(AppError::Forbidden("x".into()), 403);
        check(AppError::NotFound, 404);
        check(AppError::Conflict("x".into()), 409);
        check(AppError::PayloadTooLarge, 413);
        check(AppError::TooManyRequests(3), 429);
        check(AppError::Internal("db down".into()), 500);
    }

    #[test]
    fn internal_details_are_not_shown() {
        let msg = AppError::Internal("password=hunter2".into()).public_message();
        assert!(!msg.contains("hunter2"));
        assert_eq!(
            AppError::from(StoreError::Conflict { what: "email" }),
            AppError::Conflict("email is already taken".into())
        );
    }
}
