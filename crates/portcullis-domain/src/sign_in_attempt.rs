//! The sign-in debugger's traces: every SSO attempt, step by step, with the step that
//! failed and what it expected and received, kept for 7 days.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::account::text_enum;
use crate::{AccountId, IdpId};

/// How long traces are kept.
pub const KEEP: Duration = Duration::days(7);

/// The steps of a SAML sign-in, in order.
pub const SAML_STEPS: &[&str] = &[
    "request",
    "response",
    "signature",
    "issuer",
    "destination",
    "conditions",
    "audience",
    "in_response_to",
    "identity",
    "replay",
    "decision",
];

/// The steps of an OpenID Connect sign-in, in order.
pub const OIDC_STEPS: &[&str] = &[
    "request", "callback", "token", "id_token", "identity", "decision",
];

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepOutcome {
    /// It passed.
    Ok,
    /// The attempt failed here.
    Failed,
    /// Not reached.
    Skipped,
}

text_enum!(StepOutcome, "step outcome", { Ok => "ok", Failed => "failed", Skipped => "skipped" });

/// One step of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its name (one of [`SAML_STEPS`] or [`OIDC_STEPS`]).
    pub name: String,
    /// How it ended.
    pub outcome: StepOutcome,
    /// What it checked: expected and received values, the refusal.
    pub detail: String,
}

/// One SSO sign-in attempt as the debugger shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInAttempt {
    /// Its id.
    pub id: uuid::Uuid,
    /// The account.
    pub account: AccountId,
    /// The IdP.
    pub idp: IdpId,
    /// `saml` or `oidc`.
    pub protocol: String,
    /// Whether it signed someone in.
    pub succeeded: bool,
    /// The reason code (`ok`, or the refusal's code as in the audit log).
    pub reason: String,
    /// The email the IdP vouched for, once known.
    pub email: Option<String>,
    /// Each step.
    pub steps: Vec<Step>,
    /// The IdP's answer with signature values, digests and certificates blanked out.
    pub response: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The step a refusal's reason code belongs to.
pub fn failing_step(reason: &str) -> &'static str {
    const RESPONSE: &[&str] = &[
        "saml_too_large",
        "saml_malformed",
        "saml_doctype_refused",
        "saml_comment_refused",
        "saml_unsupported_xml",
        "saml_not_a_response",
        "saml_encrypted_assertion",
        "saml_idp_status",
        "idp_disabled",
    ];
    match reason {
        r if RESPONSE.contains(&r) => "response",
        "saml_missing_certificate"
        | "saml_unsigned"
        | "saml_weak_algorithm"
        | "saml_bad_signature" => "signature",
        "saml_wrong_issuer" => "issuer",
        "saml_missing_destination"
        | "saml_wrong_destination"
        | "saml_wrong_recipient"
        | "saml_missing_subject_confirmation" => "destination",
        "saml_issued_in_future"
        | "saml_issued_too_long_ago"
        | "saml_expired"
        | "saml_not_yet_valid"
        | "saml_missing_expiry" => "conditions",
        "saml_missing_audience" | "saml_wrong_audience" => "audience",
        "saml_missing_in_response_to"
        | "saml_unknown_in_response_to"
        | "saml_unsolicited_not_allowed"
        | "saml_unsolicited_with_in_response_to"
        | "unsolicited_response" => "in_response_to",
        "unknown_request"
        | "unknown_state"
        | "wrong_idp"
        | "browser_mismatch"
        | "oidc_state_mismatch"
        | "oidc_wrong_idp" => "request",
        "oidc_idp_error"
        | "oidc_missing_parameter"
        | "oidc_missing_iss_parameter"
        | "oidc_iss_mismatch" => "callback",
        "oidc_token_endpoint" | "oidc_missing_id_token" | "oidc_configuration" => "token",
        "oidc_weak_algorithm"
        | "oidc_bad_signature"
        | "oidc_wrong_issuer"
        | "oidc_wrong_audience"
        | "oidc_expired"
        | "oidc_issued_in_future"
        | "oidc_not_yet_valid"
        | "oidc_nonce_mismatch"
        | "oidc_invalid_token" => "id_token",
        "saml_missing_subject"
        | "saml_missing_email"
        | "saml_invalid_email"
        | "oidc_missing_email"
        | "oidc_invalid_email"
        | "oidc_email_not_verified" => "identity",
        "assertion_replayed" => "replay",
        _ => "decision",
    }
}

/// The steps of an attempt of `protocol` (`saml` or `oidc`) that ended with `reason`
/// (`ok` when it signed someone in): the steps before the failing one passed, the
/// failing one failed, the rest were not reached. `details` says what each step checked.
pub fn trace(protocol: &str, reason: &str, details: &BTreeMap<String, String>) -> Vec<Step> {
    let names = if protocol == "oidc" {
        OIDC_STEPS
    } else {
        SAML_STEPS
    };
    let failed = (reason != "ok").then(|| failing_step(reason));
    let mut reached_failure = false;
    names
        .iter()
        .map(|name| {
            let outcome = if reached_failure {
                StepOutcome::Skipped
            } else if failed == Some(*name) {
                reached_failure = true;
                StepOutcome::Failed
            } else {
                StepOutcome::Ok
            };
            Step {
                name: (*name).to_owned(),
                outcome,
                detail: if outcome == StepOutcome::Skipped {
                    String::new()
                } else {
                    details.get(*name).cloned().unwrap_or_default()
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failing_step_is_where_the_reason_belongs() {
        let details: BTreeMap<String, String> = [(
            "signature".to_owned(),
            "no configured certificate verifies it".to_owned(),
        )]
        .into();
        let steps = trace("saml", "saml_bad_signature", &details);
        let outcome = |name: &str| steps.iter().find(|s| s.name == name).unwrap().outcome;
        assert_eq!(outcome("response"), StepOutcome::Ok);
        assert_eq!(outcome("signature"), StepOutcome::Failed);
        assert_eq!(outcome("audience"), StepOutcome::Skipped);
        assert_eq!(steps[2].detail, "no configured certificate verifies it");
        assert!(trace("saml", "ok", &details)
            .iter()
            .all(|s| s.outcome == StepOutcome::Ok));
        let oidc = trace("oidc", "oidc_nonce_mismatch", &BTreeMap::new());
        assert_eq!(
            oidc.iter().position(|s| s.outcome == StepOutcome::Failed),
            Some(3)
        );
        let refused = trace("saml", "not_provisioned", &BTreeMap::new());
        assert_eq!(refused.last().unwrap().outcome, StepOutcome::Failed);
    }
}
