//! What the sign-in debugger notes of a SAML response at each step: what was expected and
//! what the response says ([`saml::describe`], read without trusting it), and the
//! refusal at the step that failed.

use chrono::{DateTime, Utc};
use portcullis_app::sso::Attempt;
use portcullis_domain::sign_in_attempt::failing_step;
use portcullis_domain::SamlSettings;
use portcullis_sso::saml::{self, SamlRejection, SpConfig};

fn or_none(value: Option<&str>) -> &str {
    value.unwrap_or("nothing")
}

/// Notes each step of a SAML response in `attempt`, and the refusal at the failing step.
pub fn note(
    attempt: &mut Attempt,
    saml_response_b64: &str,
    settings: &SamlSettings,
    sp: &SpConfig,
    request: Option<&str>,
    rejection: Option<&SamlRejection>,
    now: DateTime<Utc>,
) {
    let configured: Vec<String> = settings
        .signing_certificates
        .iter()
        .filter_map(|c| saml::compact_certificate(c).ok())
        .collect();
    attempt.note(
        "request",
        match request {
            Some(id) => format!("answers the AuthnRequest {id}, sent from this browser"),
            None => "an IdP-initiated (unsolicited) response".to_owned(),
        },
    );
    let Some(facts) = saml::describe(saml_response_b64) else {
        attempt.note("response", "not a readable SAML document");
        if let Some(r) = rejection {
            attempt.note(failing_step(r.reason()), format!("refused: {r}"));
        }
        return;
    };
    attempt.response = Some(facts.redacted.clone());
    attempt.note(
        "response",
        format!(
            "a SAML response with status {}",
            or_none(facts.status.as_deref())
        ),
    );
    let named = facts
        .certificates
        .iter()
        .find_map(|c| configured.iter().position(|k| k == c));
    attempt.note(
        "signature",
        match (rejection, named) {
            (Some(SamlRejection::BadSignature), _) => format!(
                "no configured certificate verifies it ({} configured{})",
                configured.len(),
                if facts.certificates.is_empty() || named.is_some() {
                    ""
                } else {
                    "; the certificate the response names is not one of them"
                }
            ),
            (_, Some(i)) => format!(
                "{} signature(s), checked with configured certificate #{} (the one the response names)",
                facts.signatures,
                i + 1
            ),
            _ => format!(
                "{} signature(s), checked with the {} configured certificate(s)",
                facts.signatures,
                configured.len()
            ),
        },
    );
    attempt.note(
        "issuer",
        format!(
            "expected {}, received {}",
            settings.idp_entity_id,
            or_none(facts.issuer.as_deref())
        ),
    );
    attempt.note(
        "destination",
        format!(
            "expected {}, received {} (recipient {})",
            sp.acs_url,
            or_none(facts.destination.as_deref()),
            or_none(facts.recipient.as_deref())
        ),
    );
    attempt.note(
        "conditions",
        format!(
            "valid until {}, checked at {}",
            or_none(facts.not_on_or_after.as_deref()),
            now.to_rfc3339()
        ),
    );
    attempt.note(
        "audience",
        format!(
            "expected {}, received {}",
            sp.entity_id,
            if facts.audiences.is_empty() {
                "nothing".to_owned()
            } else {
                facts.audiences.join(", ")
            }
        ),
    );
    attempt.note(
        "in_response_to",
        format!(
            "expected {}, received {}",
            request.unwrap_or("none (IdP-initiated)"),
            or_none(facts.in_response_to.as_deref())
        ),
    );
    attempt.note(
        "identity",
        format!("NameID {}", or_none(facts.name_id.as_deref())),
    );
    if let Some(r) = rejection {
        let step = failing_step(r.reason());
        let seen = attempt.details.get(step).cloned().unwrap_or_default();
        let detail = if matches!(r, SamlRejection::BadSignature) {
            seen
        } else {
            format!("{seen}; refused: {r}")
        };
        attempt.note(step, detail);
    }
}
