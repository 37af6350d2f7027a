//! Why an OpenID Connect callback was refused.

/// Why an OpenID Connect login was refused, with a stable [`OidcRejection::reason`] code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcRejection {
    /// The IdP answered the authorization request with an error.
    #[error("the identity provider refused the login: {0}")]
    IdpError(String),
    /// The callback carries no `state` or no `code`.
    #[error("the callback is missing its state or code")]
    MissingParameter,
    /// The callback's `state` is not the stored attempt's.
    #[error("the callback's state does not match this login attempt")]
    StateMismatch,
    /// The stored attempt belongs to another IdP than the callback URL names.
    #[error("the login attempt was started at another identity provider")]
    WrongIdp,
    /// The IdP advertises RFC 9207 but the callback has no `iss`.
    #[error("the callback has no iss parameter although the IdP sends one")]
    MissingIssParameter,
    /// The callback's `iss` is not this IdP's issuer (mix-up attack).
    #[error("the callback's iss parameter names another issuer")]
    IssMismatch,
    /// The token endpoint refused the code (wrong or reused code, wrong PKCE verifier).
    #[error("the token endpoint refused the code: {0}")]
    TokenEndpoint(String),
    /// The token response has no ID token.
    #[error("the token response carries no ID token")]
    MissingIdToken,
    /// The ID token's algorithm is not an allowed asymmetric one (`none`, HS256, ...).
    #[error("the ID token uses a refused algorithm")]
    WeakAlgorithm,
    /// The ID token's signature does not verify with the IdP's keys.
    #[error("the ID token signature is invalid")]
    BadSignature,
    /// `iss` is not the IdP's issuer.
    #[error("the ID token was issued by another issuer")]
    WrongIssuer,
    /// `aud` does not name this client, names untrusted extra audiences, or `azp` is wrong.
    #[error("the ID token is meant for another client")]
    WrongAudience,
    /// `exp` has passed.
    #[error("the ID token has expired")]
    Expired,
    /// `iat` lies further in the future than the allowed clock skew.
    #[error("the ID token was issued in the future")]
    IssuedInFuture,
    /// `nbf` lies further in the future than the allowed clock skew.
    #[error("the ID token is not valid yet")]
    NotYetValid,
    /// `nonce` is not the stored attempt's.
    #[error("the ID token's nonce does not match this login attempt")]
    NonceMismatch,
    /// The ID token is malformed or has other invalid claims.
    #[error("the ID token is invalid: {0}")]
    InvalidToken(String),
    /// No email claim (nor an email-shaped `preferred_username`/`upn`).
    #[error("the ID token carries no email address")]
    MissingEmail,
    /// The email is not a valid address.
    #[error("the ID token's email address is invalid")]
    InvalidEmail,
    /// The IdP says the email is not verified.
    #[error("the identity provider has not verified the email address")]
    EmailNotVerified,
    /// The IdP configuration is unusable (see the message).
    #[error("the identity provider is misconfigured: {0}")]
    Configuration(String),
}

impl OidcRejection {
    /// A stable code for audit entries and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::IdpError(_) => "oidc_idp_error",
            Self::MissingParameter => "oidc_missing_parameter",
            Self::StateMismatch => "oidc_state_mismatch",
            Self::WrongIdp => "oidc_wrong_idp",
            Self::MissingIssParameter => "oidc_missing_iss_parameter",
            Self::IssMismatch => "oidc_iss_mismatch",
            Self::TokenEndpoint(_) => "oidc_token_endpoint",
            Self::MissingIdToken => "oidc_missing_id_token",
            Self::WeakAlgorithm => "oidc_weak_algorithm",
            Self::BadSignature => "oidc_bad_signature",
            Self::WrongIssuer => "oidc_wrong_issuer",
            Self::WrongAudience => "oidc_wrong_audience",
            Self::Expired => "oidc_expired",
            Self::IssuedInFuture => "oidc_issued_in_future",
            Self::NotYetValid => "oidc_not_yet_valid",
            Self::NonceMismatch => "oidc_nonce_mismatch",
            Self::InvalidToken(_) => "oidc_invalid_token",
            Self::MissingEmail => "oidc_missing_email",
            Self::InvalidEmail => "oidc_invalid_email",
            Self::EmailNotVerified => "oidc_email_not_verified",
            Self::Configuration(_) => "oidc_configuration",
        }
    }
}
