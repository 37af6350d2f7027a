//! The one place where failures become HTTP statuses. Each protocol renders the same
//! [`AppError`] in its own format: JSON for `/api`, an HTML page for the dashboard (and,
//! in the SCIM routes, the SCIM error schema).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use portcullis_domain::DomainError;
use portcullis_store::StoreError;
use serde::Serialize;

pub use portcullis_app::AppError;

/// The HTTP status of each kind of failure: the one place statuses are chosen (a SCIM
/// protocol error keeps the status `portcullis-scim` gave its `scimType`).
pub trait HttpStatus {
    /// The status.
    fn status(&self) -> StatusCode;
}

impl HttpStatus for AppError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Gone(_) => StatusCode::GONE,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Scim(e) => {
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// A failure of actix's blocking pool (the work was cancelled or panicked).
pub fn blocking_failed(e: actix_web::error::BlockingError) -> AppError {
    AppError::Internal(e.to_string())
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
into_rendered!(StoreError, DomainError);

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
        check(AppError::MethodNotAllowed("x".into()), 405);
        check(AppError::Conflict("x".into()), 409);
        check(AppError::Gone("x".into()), 410);
        check(AppError::PreconditionFailed("x".into()), 412);
        check(AppError::PayloadTooLarge, 413);
        check(AppError::UnsupportedMediaType("x".into()), 415);
        check(AppError::TooManyRequests(3), 429);
        check(AppError::Internal("db down".into()), 500);
        check(AppError::NotImplemented("x".into()), 501);
    }
}
