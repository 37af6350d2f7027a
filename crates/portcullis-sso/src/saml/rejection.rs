//! Why a SAML response or logout message was refused.

/// Why a SAML response, or a logout message on the SingleLogoutService URL, was refused.
/// Each variant has a stable [`SamlRejection::reason`] code for the audit log and
/// metrics; the `Display` text is for admins diagnosing an IdP. Logout messages share the
/// variants of the checks they share with responses (signature, issuer, times, size).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlRejection {
    /// The POST body or the decoded document is over the size limit.
    #[error("the SAML response is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Not base64, not UTF-8, or not well-formed XML.
    #[error("the SAML response is malformed: {0}")]
    Malformed(String),
    /// The document declares a DOCTYPE (XXE, entity expansion): refused before parsing.
    #[error("SAML responses with a DOCTYPE are refused")]
    DoctypeRefused,
    /// The document contains an XML comment. Comments are dropped by canonicalization,
    /// so they can split a signed NameID (`admin@x.com<!---->.evil.com`); no IdP sends them.
    #[error("SAML responses with XML comments are refused")]
    CommentRefused,
    /// CDATA sections, processing instructions or a non-UTF-8 encoding declaration.
    #[error("the SAML response uses an XML construct that is refused: {0}")]
    UnsupportedXml(&'static str),
    /// The root element is not a `samlp:Response`.
    #[error("the document is not a SAML protocol Response")]
    NotAResponse,
    /// An encrypted assertion while the IdP's encryption setting is off (the SP
    /// publishes no encryption key for it).
    #[error("encrypted assertions are switched off for this identity provider")]
    EncryptedAssertion,
    /// A clear assertion while the IdP's setting requires encrypted ones.
    #[error("this identity provider must encrypt its assertions")]
    EncryptionRequired,
    /// The response does not hold exactly one assertion where it belongs (a second,
    /// wrapped or clear assertion beside an encrypted one).
    #[error("the SAML response must hold exactly one assertion, as a child of the Response")]
    AssertionCount,
    /// The IdP has no usable signing certificate; nothing can be verified.
    #[error("the identity provider has no usable signing certificate")]
    MissingCertificate,
    /// The response carries no XML signature at all.
    #[error("the SAML response is not signed")]
    Unsigned,
    /// A signature or digest algorithm other than RSA/ECDSA with SHA-256 or stronger.
    #[error("the SAML response is signed with a refused algorithm: {0}")]
    WeakAlgorithm(String),
    /// A signature does not verify with any of the IdP's certificates (tampered, signed
    /// by another key, or wrapped).
    #[error("the SAML response signature is invalid")]
    BadSignature,
    /// The Response has no `Destination`.
    #[error("the SAML response has no Destination")]
    MissingDestination,
    /// The message's `Destination` is not the URL it arrived at (this IdP's ACS URL for a
    /// Response, its SLO URL for a logout message).
    #[error("the SAML message is addressed to {found:?}, not to this endpoint")]
    WrongDestination {
        /// The Destination found.
        found: String,
    },
    /// The Issuer is not the IdP's entity id.
    #[error("the SAML response was issued by another entity")]
    WrongIssuer,
    /// The IdP reported a failure status.
    #[error("the identity provider answered with status {0}")]
    IdpStatus(String),
    /// `IssueInstant` lies further in the future than the allowed clock skew.
    #[error("the SAML response was issued in the future")]
    IssuedInFuture,
    /// `IssueInstant` is older than the maximum response age.
    #[error("the SAML response was issued too long ago")]
    IssuedTooLongAgo,
    /// The assertion or the logout request has expired (`NotOnOrAfter` passed).
    #[error("the SAML assertion or logout request has expired")]
    Expired,
    /// The assertion is not valid yet (`NotBefore` in the future).
    #[error("the SAML assertion is not valid yet")]
    NotYetValid,
    /// The assertion has no `NotOnOrAfter`, so it could be replayed forever.
    #[error("the SAML assertion has no expiry")]
    MissingExpiry,
    /// The assertion has no `AudienceRestriction`.
    #[error("the SAML assertion has no audience restriction")]
    MissingAudience,
    /// The `AudienceRestriction` does not name this IdP's SP entity id.
    #[error("the SAML assertion is meant for another service provider")]
    WrongAudience,
    /// No usable bearer `SubjectConfirmation`.
    #[error("the SAML assertion has no valid bearer subject confirmation")]
    MissingSubjectConfirmation,
    /// The bearer confirmation's `Recipient` is not this IdP's ACS URL.
    #[error("the SAML assertion's recipient is not this ACS URL")]
    WrongRecipient,
    /// An SP-initiated response without `InResponseTo`.
    #[error("the SAML response does not answer a request")]
    MissingInResponseTo,
    /// `InResponseTo` names no pending request of this browser and this IdP.
    #[error("the SAML response answers a request this browser did not make")]
    UnknownInResponseTo,
    /// An unsolicited response while the IdP does not allow IdP-initiated login.
    #[error("this identity provider does not allow IdP-initiated login")]
    UnsolicitedNotAllowed,
    /// A response on the IdP-initiated path that carries an `InResponseTo`.
    #[error("an unsolicited SAML response must not answer a request")]
    UnsolicitedWithInResponseTo,
    /// The assertion or the logout request has no NameID (subject).
    #[error("the SAML assertion or logout request has no subject NameID")]
    MissingSubject,
    /// No email attribute (or email-shaped NameID) was found.
    #[error("the SAML assertion carries no email address")]
    MissingEmail,
    /// The email attribute is not a valid address.
    #[error("the SAML assertion's email address is invalid")]
    InvalidEmail,
    /// An encrypted assertion uses a key transport or content encryption that is refused
    /// (RSA PKCS#1 v1.5, 3DES, anything but RSA-OAEP and AES-CBC/GCM).
    #[error("the assertion is encrypted with a refused algorithm: {0}")]
    EncryptionAlgorithmRefused(String),
    /// An encrypted assertion none of the SP's encryption keys decrypts; every failure
    /// (another key, a padding or tag that does not verify) is this one.
    #[error(
        "the encrypted assertion cannot be decrypted with this service provider's encryption key"
    )]
    Undecryptable,
    /// The root element on the SLO URL is not the `samlp:LogoutResponse` expected.
    #[error("the document is not a SAML LogoutResponse")]
    NotALogoutResponse,
    /// The root element on the SLO URL is not the `samlp:LogoutRequest` expected.
    #[error("the document is not a SAML LogoutRequest")]
    NotALogoutRequest,
    /// A logout request names its subject with an `EncryptedID`, which is not supported
    /// (Portcullis publishes no encryption key for it).
    #[error("encrypted NameIDs (EncryptedID) in logout requests are not supported")]
    EncryptedNameId,
    /// A query parameter of the HTTP-Redirect binding appears twice, so which octets were
    /// signed and which value is read could differ.
    #[error("the query parameter {0:?} appears more than once")]
    DuplicateParameter(String),
    /// The query lacks the binding parameter named (`SAMLRequest` or `SAMLResponse`).
    #[error("the query has no {0} parameter")]
    MissingParameter(&'static str),
}

impl SamlRejection {
    /// A stable code for audit entries and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "saml_too_large",
            Self::Malformed(_) => "saml_malformed",
            Self::DoctypeRefused => "saml_doctype_refused",
            Self::CommentRefused => "saml_comment_refused",
            Self::UnsupportedXml(_) => "saml_unsupported_xml",
            Self::NotAResponse => "saml_not_a_response",
            Self::EncryptedAssertion => "saml_encrypted_assertion",
            Self::EncryptionRequired => "saml_encryption_required",
            Self::AssertionCount => "saml_assertion_count",
            Self::MissingCertificate => "saml_missing_certificate",
            Self::Unsigned => "saml_unsigned",
            Self::WeakAlgorithm(_) => "saml_weak_algorithm",
            Self::BadSignature => "saml_bad_signature",
            Self::MissingDestination => "saml_missing_destination",
            Self::WrongDestination { .. } => "saml_wrong_destination",
            Self::WrongIssuer => "saml_wrong_issuer",
            Self::IdpStatus(_) => "saml_idp_status",
            Self::IssuedInFuture => "saml_issued_in_future",
            Self::IssuedTooLongAgo => "saml_issued_too_long_ago",
            Self::Expired => "saml_expired",
            Self::NotYetValid => "saml_not_yet_valid",
            Self::MissingExpiry => "saml_missing_expiry",
            Self::MissingAudience => "saml_missing_audience",
            Self::WrongAudience => "saml_wrong_audience",
            Self::MissingSubjectConfirmation => "saml_missing_subject_confirmation",
            Self::WrongRecipient => "saml_wrong_recipient",
            Self::MissingInResponseTo => "saml_missing_in_response_to",
            Self::UnknownInResponseTo => "saml_unknown_in_response_to",
            Self::UnsolicitedNotAllowed => "saml_unsolicited_not_allowed",
            Self::UnsolicitedWithInResponseTo => "saml_unsolicited_with_in_response_to",
            Self::MissingSubject => "saml_missing_subject",
            Self::MissingEmail => "saml_missing_email",
            Self::InvalidEmail => "saml_invalid_email",
            Self::EncryptionAlgorithmRefused(_) => "saml_encryption_algorithm_refused",
            Self::Undecryptable => "saml_undecryptable",
            Self::NotALogoutResponse => "saml_not_a_logout_response",
            Self::NotALogoutRequest => "saml_not_a_logout_request",
            Self::EncryptedNameId => "saml_encrypted_name_id",
            Self::DuplicateParameter(_) => "saml_duplicate_parameter",
            Self::MissingParameter(_) => "saml_missing_parameter",
        }
    }
}
