//! The one error of the use cases. Each variant is a kind of failure, not a status: the
//! server maps each to its HTTP status in exactly one place and renders it in the format
//! of the protocol that asked (JSON, an HTML page, a SCIM Error message).

use portcullis_domain::DomainError;
use portcullis_store::StoreError;

/// Why a use case failed.
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
    /// It existed and is gone for good (a revoked invitation link).
    #[error("{0}")]
    Gone(String),
    /// The resource is not at the version the caller named (`If-Match`).
    #[error("{0}")]
    PreconditionFailed(String),
    /// The resource exists but does not take this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The body is of a media type the endpoint does not read.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A feature of the protocol that Portcullis does not offer.
    #[error("{0}")]
    NotImplemented(String),
    /// Too many attempts; try again after the given number of seconds.
    #[error("too many attempts; try again in {0} seconds")]
    TooManyRequests(u64),
    /// The body is too large.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// Something broke on our side; the detail goes to the log, not to the client.
    #[error("internal error")]
    Internal(String),
    /// A SCIM protocol error as `portcullis-scim` made it (a `scimType` with the status
    /// RFC 7644 gives it), passed through unchanged.
    #[error("{}", .0.detail)]
    Scim(portcullis_scim::ScimError),
}

impl AppError {
    /// A short stable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Gone(_) => "gone",
            Self::PreconditionFailed(_) => "precondition_failed",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::NotImplemented(_) => "not_implemented",
            Self::TooManyRequests(_) => "too_many_requests",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Internal(_) => "internal",
            Self::Scim(_) => "scim",
        }
    }

    /// The message safe to show to the client (internal details are never shown; they
    /// are logged here).
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
            StoreError::PreconditionFailed => Self::PreconditionFailed(
                "the resource changed since the version named in If-Match".into(),
            ),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        Self::BadRequest(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
