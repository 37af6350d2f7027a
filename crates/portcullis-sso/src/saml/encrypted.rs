//! The ACS path of a response whose assertion is encrypted (`EncryptedAssertion`).
//!
//! Anyone can encrypt to the SP's public certificate, so decryption proves nothing: the
//! assertion counts only if a signature by the IdP covers it. Either the Response is
//! signed — then its signature is verified first (samael's reduction keeps only signed
//! content), its own fields are checked, and the encrypted assertion is taken from what
//! the signature covers — or the decrypted assertion carries its own signature, which
//! samael verifies. The document must hold exactly one assertion, the encrypted one, a
//! child of the Response: a second one (wrapped, or in clear beside it) is refused.

use chrono::{DateTime, Duration, Utc};
use openssl::pkey::{PKey, Private};
use portcullis_domain::SamlSettings;
use roxmltree::{Document, Node};
use samael::crypto::{Crypto, CryptoProvider, ReduceMode};
use samael::schema::Assertion;
use samael::service_provider::ServiceProvider;

use super::decrypt::decrypt_element;
use super::guard::{screen, ASSERTION_NS, DSIG_NS, PROTOCOL_NS};
use super::sp::{SpConfig, ALLOWED_ALGORITHMS};
use super::sp_key::private_key;
use super::verify::{check_issue_instant, from_samael, Expected};
use super::SamlRejection;

const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

fn is(node: &Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == name
}

fn parse(xml: &str) -> Result<Document<'_>, SamlRejection> {
    Document::parse(xml).map_err(|e| match e {
        roxmltree::Error::DtdDetected => SamlRejection::DoctypeRefused,
        other => SamlRejection::Malformed(other.to_string()),
    })
}

/// The one `EncryptedAssertion` child of the Response `root`; any other assertion,
/// encrypted or not, anywhere in the document is refused.
fn the_encrypted_assertion<'a, 'i>(root: Node<'a, 'i>) -> Result<Node<'a, 'i>, SamlRejection> {
    let assertions: Vec<Node<'_, '_>> = root
        .descendants()
        .filter(|n| is(n, ASSERTION_NS, "Assertion") || is(n, ASSERTION_NS, "EncryptedAssertion"))
        .take(2)
        .collect();
    match assertions.as_slice() {
        [only]
            if is(only, ASSERTION_NS, "EncryptedAssertion")
                && only.parent_element() == Some(root) =>
        {
            Ok(*only)
        }
        _ => Err(SamlRejection::AssertionCount),
    }
}

/// The checks samael makes on a signed Response, on the Response a signature covers.
fn check_response(
    response: Node<'_, '_>,
    settings: &SamlSettings,
    sp: &SpConfig,
    expected: Expected<'_>,
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<(), SamlRejection> {
    if !is(&response, PROTOCOL_NS, "Response") {
        return Err(SamlRejection::NotAResponse);
    }
    match response.attribute("Destination") {
        None => return Err(SamlRejection::MissingDestination),
        Some(d) if d != sp.acs_url => {
            return Err(SamlRejection::WrongDestination {
                found: d.to_owned(),
            })
        }
        Some(_) => {}
    }
    let issued = response
        .attribute("IssueInstant")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| SamlRejection::Malformed("IssueInstant is not a timestamp".into()))?;
    check_issue_instant(issued.with_timezone(&Utc), now, skew)?;
    match (expected, response.attribute("InResponseTo")) {
        (Expected::IdpInitiated, Some(_)) => {
            return Err(SamlRejection::UnsolicitedWithInResponseTo)
        }
        (Expected::SpInitiated { .. }, None) => return Err(SamlRejection::MissingInResponseTo),
        (
            Expected::SpInitiated {
                pending_request_ids,
            },
            Some(id),
        ) if !pending_request_ids.iter().any(|p| p == id) => {
            return Err(SamlRejection::UnknownInResponseTo)
        }
        _ => {}
    }
    let child = |name: &str| response.children().find(|c| is(c, ASSERTION_NS, name));
    if let Some(issuer) = child("Issuer") {
        if issuer.text().map(str::trim) != Some(settings.idp_entity_id.as_str()) {
            return Err(SamlRejection::WrongIssuer);
        }
    }
    let status = response
        .children()
        .find(|c| is(c, PROTOCOL_NS, "Status"))
        .and_then(|s| s.children().find(|c| is(c, PROTOCOL_NS, "StatusCode")))
        .and_then(|c| c.attribute("Value"));
    match status {
        Some(SUCCESS) => Ok(()),
        Some(other) => Err(SamlRejection::IdpStatus(other.to_owned())),
        None => Err(SamlRejection::Malformed(
            "the Response has no status".into(),
        )),
    }
}

/// The verified assertion of a response (`xml`, already screened) whose assertion is
/// encrypted, decrypted with the IdP's SP encryption keys at `now`. `provider` is the
/// samael SP with the IdP's signing certificates; `ids` the pending request ids for
/// samael's own checks of a signed assertion.
#[allow(clippy::too_many_arguments)]
pub(crate) fn verified_assertion(
    provider: &ServiceProvider,
    settings: &SamlSettings,
    sp: &SpConfig,
    xml: &str,
    expected: Expected<'_>,
    ids: Option<&[&str]>,
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<Assertion, SamlRejection> {
    let keys: Vec<PKey<Private>> = settings
        .decryption_keys(now)
        .into_iter()
        .map(private_key)
        .collect::<Result<_, _>>()
        .map_err(|_| SamlRejection::Undecryptable)?;
    let doc = parse(xml)?;
    let root = doc.root_element();
    let encrypted = the_encrypted_assertion(root)?;
    let response_signed = root.children().any(|c| is(&c, DSIG_NS, "Signature"));

    let plaintext = if response_signed {
        let certificates = match provider.idp_signing_certs() {
            Ok(Some(certs)) if !certs.is_empty() => certs,
            _ => return Err(SamlRejection::MissingCertificate),
        };
        let signed = Crypto::reduce_xml_to_signed_with_allowed_algorithms(
            xml,
            &certificates,
            ReduceMode::default(),
            Some(&ALLOWED_ALGORITHMS),
        )
        .map_err(|_| SamlRejection::BadSignature)?;
        let signed_doc = parse(&signed)?;
        let response = signed_doc.root_element();
        check_response(response, settings, sp, expected, now, skew)?;
        decrypt_element(the_encrypted_assertion(response)?, &keys)?
    } else {
        decrypt_element(encrypted, &keys)?
    };

    screen(&plaintext)?;
    let inner = parse(&plaintext)?;
    let assertion_signed = inner
        .root_element()
        .children()
        .any(|c| is(&c, DSIG_NS, "Signature"));
    if assertion_signed {
        // samael verifies the assertion's own signature and makes its checks.
        provider
            .parse_xml_response(&plaintext, ids)
            .map_err(from_samael)
    } else if response_signed {
        // The Response's verified signature covers the ciphertext, and so this assertion.
        plaintext
            .parse::<Assertion>()
            .map_err(|e| SamlRejection::Malformed(e.to_string()))
    } else {
        Err(SamlRejection::Unsigned)
    }
}
