//! Verifying a SAML response posted to an ACS URL.

use chrono::{DateTime, Duration, Utc};
use portcullis_domain::policy::SsoIdentity;
use portcullis_domain::{AssertionEncryption, IdpId, LogoutHint, SamlSettings};
use samael::schema::Assertion;
use samael::service_provider::Error as SamaelError;

use super::guard::{decode, peek, screen};
use super::sp::{allowed_algorithm_uris, service_provider, SpConfig};
use super::{attributes, encrypted, SamlRejection};

/// How old a response's `IssueInstant` may be (plus the clock skew). A browser posts the
/// response within seconds of the IdP issuing it.
pub const MAX_RESPONSE_AGE: Duration = Duration::minutes(5);

const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// The transient NameID format (SAML Core §8.3.8): a one-time value, never an identity.
pub const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";

/// Which kind of response the server expects on this path.
#[derive(Debug, Clone, Copy)]
pub enum Expected<'a> {
    /// An answer to one of the AuthnRequests this browser made to this IdP and that are
    /// still pending. The response's and the assertion's `InResponseTo` must name one.
    SpInitiated {
        /// Request ids pending for this browser and this IdP.
        pending_request_ids: &'a [String],
    },
    /// An unsolicited response. Accepted only when the IdP allows IdP-initiated login, and
    /// only if neither the response nor the assertion carries an `InResponseTo`.
    IdpInitiated,
}

/// A SAML assertion that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// Who signed in.
    pub identity: SsoIdentity,
    /// The assertion's `ID`. The server inserts `(idp, assertion_id)` into its replay
    /// table (unique index) and refuses the login when the row already exists.
    pub assertion_id: String,
    /// The earliest `NotOnOrAfter` of the conditions and the bearer confirmation.
    pub not_on_or_after: DateTime<Utc>,
    /// The request this answers (SP-initiated); the server deletes it from the pending
    /// requests so it cannot be answered twice.
    pub in_response_to: Option<String>,
    /// The NameID's `Format`, as sent (for the sign-in record).
    pub name_id_format: Option<String>,
}

impl VerifiedAssertion {
    /// Until when the replay table must remember this assertion: after that, samael and
    /// [`verify_response`] refuse it as expired anyway.
    pub fn replay_expires_at(&self, skew: Duration) -> DateTime<Utc> {
        self.not_on_or_after + skew
    }
}

/// Verifies a base64 `SAMLResponse` posted to `sp.acs_url` for the IdP `idp`.
///
/// An `EncryptedAssertion` is decrypted with the IdP's SP encryption keys while its
/// encryption setting is `accept` or `require` (see `encrypted` for how its signature is
/// found); `require` refuses a clear assertion, `off` an encrypted one.
///
/// Besides samael's signature reduction (only signed content is read), it requires what
/// samael leaves optional: a signature at all, RSA/ECDSA with SHA-256 or stronger, a
/// `Destination` equal to the ACS URL, an `AudienceRestriction` naming the SP entity id,
/// an expiry, an `IssueInstant` neither older than [`MAX_RESPONSE_AGE`] nor in the
/// future, and the right `InResponseTo` for the path. Time checks use `now` with `skew`.
/// Replay is the caller's check (see [`VerifiedAssertion::assertion_id`]).
pub fn verify_response(
    settings: &SamlSettings,
    idp: IdpId,
    sp: &SpConfig,
    saml_response_b64: &str,
    expected: Expected<'_>,
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<VerifiedAssertion, SamlRejection> {
    let xml = decode(saml_response_b64)?;
    verify_xml(settings, idp, sp, &xml, expected, now, skew)
}

/// As [`verify_response`], for a response that is already decoded.
pub(crate) fn verify_xml(
    settings: &SamlSettings,
    idp: IdpId,
    sp: &SpConfig,
    xml: &str,
    expected: Expected<'_>,
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<VerifiedAssertion, SamlRejection> {
    screen(xml)?;
    let allowed = allowed_algorithm_uris();
    let unverified = peek(xml, &allowed)?;

    // Early refusals on unverified data: refusing is always safe, and it gives precise
    // reasons. Everything is checked again on the verified output below.
    match unverified.destination.as_deref() {
        None => return Err(SamlRejection::MissingDestination),
        Some(d) if d != sp.acs_url => {
            return Err(SamlRejection::WrongDestination {
                found: d.to_owned(),
            })
        }
        Some(_) => {}
    }
    if let Some(issued) = unverified.issue_instant {
        check_issue_instant(issued, now, skew)?;
    }
    let encrypted = unverified.has_encrypted_assertion;
    match settings.encrypted_assertions {
        AssertionEncryption::Off if encrypted => return Err(SamlRejection::EncryptedAssertion),
        AssertionEncryption::Require if !encrypted => {
            return Err(SamlRejection::EncryptionRequired)
        }
        _ => {}
    }
    // An encrypted assertion may carry the only signature inside its ciphertext.
    if !unverified.has_signature && !encrypted {
        return Err(SamlRejection::Unsigned);
    }
    if let Some(algorithm) = unverified.weak_algorithm {
        return Err(SamlRejection::WeakAlgorithm(algorithm));
    }
    let pending: Vec<&str> = match expected {
        Expected::SpInitiated {
            pending_request_ids,
        } => {
            let Some(answered) = unverified.in_response_to.as_deref() else {
                return Err(SamlRejection::MissingInResponseTo);
            };
            if !pending_request_ids.iter().any(|p| p == answered) {
                return Err(SamlRejection::UnknownInResponseTo);
            }
            pending_request_ids.iter().map(String::as_str).collect()
        }
        Expected::IdpInitiated => {
            if !settings.idp_initiated {
                return Err(SamlRejection::UnsolicitedNotAllowed);
            }
            if unverified.in_response_to.is_some() {
                return Err(SamlRejection::UnsolicitedWithInResponseTo);
            }
            Vec::new()
        }
    };

    let idp_initiated = matches!(expected, Expected::IdpInitiated);
    let service_provider = service_provider(settings, sp, idp_initiated, skew, MAX_RESPONSE_AGE)
        .map_err(|_| SamlRejection::MissingCertificate)?;
    // samael verifies nothing when it finds no certificate: never let it get there.
    match service_provider.idp_signing_certs() {
        Ok(Some(certs)) if !certs.is_empty() => {}
        _ => return Err(SamlRejection::MissingCertificate),
    }
    let ids = (!idp_initiated).then_some(pending.as_slice());
    let assertion = if encrypted {
        encrypted::verified_assertion(
            &service_provider,
            settings,
            sp,
            xml,
            expected,
            ids,
            now,
            skew,
        )?
    } else {
        service_provider
            .parse_xml_response(xml, ids)
            .map_err(from_samael)?
    };

    check_assertion(settings, idp, sp, &assertion, expected, now, skew)
}

/// The checks on samael's verified assertion that samael does not make, or makes with the
/// wall clock instead of `now`.
fn check_assertion(
    settings: &SamlSettings,
    idp: IdpId,
    sp: &SpConfig,
    assertion: &Assertion,
    expected: Expected<'_>,
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<VerifiedAssertion, SamlRejection> {
    if assertion.issuer.value.as_deref() != Some(settings.idp_entity_id.as_str()) {
        return Err(SamlRejection::WrongIssuer);
    }
    check_issue_instant(assertion.issue_instant, now, skew)?;

    let conditions = assertion
        .conditions
        .as_ref()
        .ok_or(SamlRejection::MissingAudience)?;
    let restrictions = conditions
        .audience_restrictions
        .as_deref()
        .filter(|r| !r.is_empty())
        .ok_or(SamlRejection::MissingAudience)?;
    // Every AudienceRestriction must be satisfied (SAML core 2.5.1.4).
    if !restrictions
        .iter()
        .all(|r| r.audience.iter().any(|a| a.trim() == sp.entity_id))
    {
        return Err(SamlRejection::WrongAudience);
    }
    if let Some(not_before) = conditions.not_before {
        if now + skew < not_before {
            return Err(SamlRejection::NotYetValid);
        }
    }

    let subject = assertion
        .subject
        .as_ref()
        .ok_or(SamlRejection::MissingSubject)?;
    let bearer: Vec<_> = subject
        .subject_confirmations
        .iter()
        .flatten()
        .filter(|c| c.method.as_deref() == Some(BEARER))
        .filter_map(|c| c.subject_confirmation_data.as_ref())
        .collect();
    if bearer.is_empty() {
        return Err(SamlRejection::MissingSubjectConfirmation);
    }
    // samael accepts the assertion when one bearer confirmation fits; Portcullis requires
    // every bearer confirmation to fit, so no unchecked one can smuggle another answer.
    let mut in_response_to = None;
    let mut expiry = conditions.not_on_or_after;
    for data in &bearer {
        if data.recipient.as_deref() != Some(sp.acs_url.as_str()) {
            return Err(SamlRejection::WrongRecipient);
        }
        if let Some(not_before) = data.not_before {
            if now + skew < not_before {
                return Err(SamlRejection::NotYetValid);
            }
        }
        let Some(not_on_or_after) = data.not_on_or_after else {
            return Err(SamlRejection::MissingExpiry);
        };
        expiry = Some(expiry.map_or(not_on_or_after, |e| e.min(not_on_or_after)));
        match (expected, data.in_response_to.as_deref()) {
            (Expected::IdpInitiated, Some(_)) => {
                return Err(SamlRejection::UnsolicitedWithInResponseTo)
            }
            (Expected::IdpInitiated, None) => {}
            (Expected::SpInitiated { .. }, None) => return Err(SamlRejection::MissingInResponseTo),
            (
                Expected::SpInitiated {
                    pending_request_ids,
                },
                Some(id),
            ) => {
                if !pending_request_ids.iter().any(|p| p == id)
                    || in_response_to.as_deref().is_some_and(|seen| seen != id)
                {
                    return Err(SamlRejection::UnknownInResponseTo);
                }
                in_response_to = Some(id.to_owned());
            }
        }
    }
    let not_on_or_after = expiry.ok_or(SamlRejection::MissingExpiry)?;
    if not_on_or_after + skew <= now {
        return Err(SamlRejection::Expired);
    }

    let name_id = subject
        .name_id
        .as_ref()
        .map(|n| (n.value.trim(), n.format.as_deref()))
        .filter(|(value, _)| !value.is_empty())
        .ok_or(SamlRejection::MissingSubject)?;
    if assertion.id.trim().is_empty() {
        return Err(SamlRejection::Malformed("assertion without ID".into()));
    }
    let email = attributes::email(settings, assertion, name_id.0, name_id.1)?;
    let display_name = attributes::display_name(settings, assertion);
    Ok(VerifiedAssertion {
        identity: SsoIdentity {
            idp,
            subject: name_id.0.to_owned(),
            email,
            display_name,
            transient: name_id.1.map(str::trim) == Some(NAMEID_TRANSIENT),
            claims: attributes::claims(assertion),
            logout_hint: Some(LogoutHint::Saml {
                name_id: name_id.0.to_owned(),
                format: name_id.1.map(|f| f.trim().to_owned()),
                session_index: assertion
                    .authn_statements
                    .iter()
                    .flatten()
                    .find_map(|s| s.session_index.clone()),
            }),
        },
        name_id_format: name_id.1.map(|f| f.trim().to_owned()),
        assertion_id: assertion.id.clone(),
        not_on_or_after,
        in_response_to,
    })
}

/// Refuses an `IssueInstant` later than `now` plus `skew`, or older than
/// [`MAX_RESPONSE_AGE`] plus `skew`.
pub(crate) fn check_issue_instant(
    issued: DateTime<Utc>,
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<(), SamlRejection> {
    if issued > now + skew {
        return Err(SamlRejection::IssuedInFuture);
    }
    if issued + MAX_RESPONSE_AGE + skew < now {
        return Err(SamlRejection::IssuedTooLongAgo);
    }
    Ok(())
}

/// Maps samael's verdict to a rejection. Checks samael makes with the wall clock map to
/// the same reasons as Portcullis's own checks with `now`.
pub(crate) fn from_samael(error: SamaelError) -> SamlRejection {
    use SamaelError as E;
    match error {
        E::FailedToValidateSignature => SamlRejection::BadSignature,
        E::DestinationValidationError {
            response_destination,
            ..
        } => match response_destination {
            Some(found) => SamlRejection::WrongDestination { found },
            None => SamlRejection::MissingDestination,
        },
        E::AssertionExpired { .. } | E::ResponseExpired { .. } => SamlRejection::IssuedTooLongAgo,
        E::AssertionConditionExpired { .. } | E::AssertionSubjectConfirmationExpired { .. } => {
            SamlRejection::Expired
        }
        E::AssertionConditionExpiredBefore { .. }
        | E::AssertionSubjectConfirmationExpiredBefore { .. } => SamlRejection::NotYetValid,
        E::AssertionBearerSubjectConfirmationMissing | E::AssertionSubjectConfirmationMissing => {
            SamlRejection::MissingSubjectConfirmation
        }
        E::AssertionIssuerMismatch { .. } | E::ResponseIssuerMismatch { .. } => {
            SamlRejection::WrongIssuer
        }
        E::AssertionConditionAudienceRestrictionFailed { .. } => SamlRejection::WrongAudience,
        E::AssertionRecipientMismatch { .. } => SamlRejection::WrongRecipient,
        E::AssertionInResponseToInvalid { .. } | E::ResponseInResponseToInvalid { .. } => {
            SamlRejection::UnknownInResponseTo
        }
        E::ResponseBadStatusCode { code } => SamlRejection::IdpStatus(code),
        E::EncryptedAssertionsNotYetSupported
        | E::MissingPrivateKeySP
        | E::MissingEncryptedKeyInfo
        | E::MissingEncryptedValueInfo
        | E::EncryptedAssertionKeyMethodUnsupported { .. }
        | E::EncryptedAssertionValueMethodUnsupported { .. }
        | E::EncryptedAssertionInvalid
        | E::FailedToDecryptAssertion => SamlRejection::EncryptedAssertion,
        E::FailedToParseCert { .. } => SamlRejection::MissingCertificate,
        other => SamlRejection::Malformed(other.to_string()),
    }
}
