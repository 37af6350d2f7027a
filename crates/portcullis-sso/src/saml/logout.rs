//! SAML Single Logout (SAML profiles §4.4) on the HTTP-Redirect binding: the protocol
//! messages, built and verified, without any session bookkeeping.
//!
//! Both directions arrive at the IdP's own SLO URL ([`SpConfig::slo_url`]):
//!
//! - **SP-initiated.** [`logout_request`] builds the signed `LogoutRequest` redirect to
//!   the IdP; the server remembers the returned request id (single-use, short-lived) and
//!   signs the browser out locally. The IdP's answer goes through
//!   [`verify_logout_response`] with that pending id.
//! - **IdP-initiated.** [`verify_logout_request`] checks the IdP's `LogoutRequest` and
//!   says whom to sign out ([`IdpLogoutRequest`]). The server records `(idp, id)` in its
//!   replay table until [`IdpLogoutRequest::replay_expires_at`], ends the matching
//!   sessions and answers with [`logout_response`].
//!
//! Incoming messages must carry a query signature (SAML bindings §3.4.4.1) by one of the
//! IdP's certificates; nothing of the message is inflated or parsed before it verifies.

mod binding;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use portcullis_domain::{SamlSettings, SpKeyPair};
use roxmltree::Node;

use super::guard::{ASSERTION_NS, PROTOCOL_NS};
use super::request::{
    check_http_url, check_relay_state, deflate, hex, redirect_query, redirect_url,
};
use super::verify::{check_issue_instant, MAX_RESPONSE_AGE};
use super::{SamlRejection, SpConfig};
use crate::SsoError;

/// How long a `LogoutRequest` Portcullis sends is valid (its `NotOnOrAfter`).
pub const LOGOUT_REQUEST_VALIDITY: Duration = Duration::minutes(5);

/// The top-level status of a logout that succeeded.
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// The top-level status of a logout the SP could not complete.
pub const STATUS_RESPONDER: &str = "urn:oasis:names:tc:SAML:2.0:status:Responder";

/// Where to send the browser to sign out at the IdP, and the request id to remember.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRedirect {
    /// The IdP's SLO URL with `SAMLRequest`, `RelayState` (when given) and, when signed,
    /// `SigAlg` and `Signature` in the query.
    pub url: String,
    /// `_` followed by 32 hex digits (128 random bits). The server keeps it as the pending
    /// logout of this browser and IdP, to pass to [`verify_logout_response`] once.
    pub request_id: String,
}

/// An IdP's `LogoutResponse` that passed every check and reports success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedOutAtIdp {
    /// The response's `ID`, for the audit log.
    pub response_id: String,
    /// The `RelayState` that came back, percent-decoded (the token given to
    /// [`logout_request`]).
    pub relay_state: Option<String>,
}

/// An IdP-initiated `LogoutRequest` that passed every check: whom to sign out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpLogoutRequest {
    /// The request's `ID`: the `InResponseTo` of the answer, and the replay key.
    pub id: String,
    /// The subject to sign out, as the IdP sent it (trimmed).
    pub name_id: String,
    /// The NameID's `Format`, when sent.
    pub name_id_format: Option<String>,
    /// The sessions to end; empty means every session of the subject at this IdP.
    pub session_indexes: Vec<String>,
    /// The IdP's `RelayState`, percent-decoded; it goes back unchanged with the answer.
    pub relay_state: Option<String>,
    /// Until when the server must remember `(idp, id)` in its replay table (unique
    /// index): after it, [`verify_logout_request`] refuses the request as too old or
    /// expired anyway.
    pub replay_expires_at: DateTime<Utc>,
}

/// Builds the SP-initiated `LogoutRequest` redirect to `idp_slo_url` for the subject the
/// IdP named at sign-in (`name_id`, `name_id_format` and `session_index` as the assertion
/// carried them).
///
/// The request is valid for [`LOGOUT_REQUEST_VALIDITY`] and signed with `signing_key`
/// when one is given (RSA-SHA256 over the query octets, SAML bindings §3.4.4.1; most IdPs
/// refuse unsigned logout requests). `id_random` are 16 random bytes from the caller.
/// `relay_state` is an opaque server-generated token as for
/// [`super::start_login`], or empty for none. Parameters `idp_slo_url` already carries
/// stay in front, outside the signature.
#[allow(clippy::too_many_arguments)]
pub fn logout_request(
    sp: &SpConfig,
    idp_slo_url: &str,
    signing_key: Option<&SpKeyPair>,
    name_id: &str,
    name_id_format: Option<&str>,
    session_index: Option<&str>,
    id_random: [u8; 16],
    relay_state: &str,
    now: DateTime<Utc>,
) -> Result<LogoutRedirect, SsoError> {
    check_relay_state(relay_state)?;
    check_http_url(idp_slo_url, "IdP SLO URL")?;
    if name_id.trim().is_empty() {
        return Err(SsoError::LogoutMessage("the NameID is empty".into()));
    }
    let request_id = format!("_{}", hex(&id_random));
    let format = match name_id_format {
        Some(format) => format!(r#" Format="{}""#, escape(format)?),
        None => String::new(),
    };
    let session_index = match session_index {
        Some(index) => format!(
            "<samlp:SessionIndex>{}</samlp:SessionIndex>",
            escape(index)?
        ),
        None => String::new(),
    };
    let xml = format!(
        concat!(
            r#"<samlp:LogoutRequest xmlns:samlp="{protocol}" xmlns:saml="{assertion}" "#,
            r#"ID="{id}" Version="2.0" IssueInstant="{issued}" Destination="{destination}" "#,
            r#"NotOnOrAfter="{expires}"><saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<saml:NameID{format}>{name_id}</saml:NameID>{session_index}</samlp:LogoutRequest>"#,
        ),
        protocol = PROTOCOL_NS,
        assertion = ASSERTION_NS,
        id = request_id,
        issued = timestamp(now),
        destination = escape(idp_slo_url)?,
        expires = timestamp(now + LOGOUT_REQUEST_VALIDITY),
        issuer = escape(&sp.entity_id)?,
        format = format,
        name_id = escape(name_id)?,
        session_index = session_index,
    );
    let key = signing_key.map(super::sp_key::private_key).transpose()?;
    let deflated = deflate(&xml).map_err(|e| SsoError::LogoutMessage(e.to_string()))?;
    let relay_state = Some(relay_state).filter(|r| !r.is_empty());
    let query = redirect_query("SAMLRequest", &deflated, relay_state, key.as_ref())?;
    Ok(LogoutRedirect {
        url: redirect_url(idp_slo_url, "IdP SLO URL", query)?,
        request_id,
    })
}

/// Verifies the IdP's `LogoutResponse` arriving at `sp.slo_url` as the answer to the
/// pending SP-initiated request `pending_request_id`.
///
/// `raw_query` is the query string exactly as received (still percent-encoded, without
/// `?`): the signature covers its octets. Required: a query signature by one of the IdP's
/// certificates with an allowed algorithm (RSA or ECDSA with SHA-256 or stronger), a
/// `samlp:LogoutResponse` issued by the IdP, a `Destination` equal to the SLO URL when
/// present, `InResponseTo` equal to `pending_request_id`, an `IssueInstant` neither in the
/// future nor older than [`MAX_RESPONSE_AGE`] (both with `skew`), and the top-level status
/// Success; any other status is [`SamlRejection::IdpStatus`].
pub fn verify_logout_response(
    settings: &SamlSettings,
    sp: &SpConfig,
    raw_query: &str,
    pending_request_id: &str,
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<LoggedOutAtIdp, SamlRejection> {
    let received = binding::receive(settings, raw_query, binding::Message::Response)?;
    let doc = parse(&received.xml)?;
    let root = doc.root_element();
    if !is(root, PROTOCOL_NS, "LogoutResponse") {
        return Err(SamlRejection::NotALogoutResponse);
    }
    let header = check_header(root, settings, sp, now, skew)?;
    match root.attribute("InResponseTo").filter(|v| !v.is_empty()) {
        None => return Err(SamlRejection::MissingInResponseTo),
        Some(answered) if answered != pending_request_id => {
            return Err(SamlRejection::UnknownInResponseTo)
        }
        Some(_) => {}
    }
    let status = only_child(root, PROTOCOL_NS, "Status")?
        .ok_or_else(|| SamlRejection::Malformed("LogoutResponse without Status".into()))?;
    let code = only_child(status, PROTOCOL_NS, "StatusCode")?
        .and_then(|code| code.attribute("Value"))
        .ok_or_else(|| SamlRejection::Malformed("Status without StatusCode value".into()))?;
    if code.trim() != STATUS_SUCCESS {
        return Err(SamlRejection::IdpStatus(code.trim().to_owned()));
    }
    Ok(LoggedOutAtIdp {
        response_id: header.id,
        relay_state: received.relay_state,
    })
}

/// Verifies an IdP-initiated `LogoutRequest` arriving at `sp.slo_url`.
///
/// `raw_query` is the query string exactly as received (still percent-encoded). Required:
/// the query signature as for [`verify_logout_response`] (an unsigned request is
/// [`SamlRejection::Unsigned`]), a `samlp:LogoutRequest` issued by the IdP, a
/// `Destination` equal to the SLO URL when present, an `IssueInstant` neither in the
/// future nor older than [`MAX_RESPONSE_AGE`], a `NotOnOrAfter` not passed when present
/// (all with `skew`), a non-empty `ID` and a non-empty plain `NameID` (an `EncryptedID` is
/// [`SamlRejection::EncryptedNameId`]). Replay is the caller's check, with
/// [`IdpLogoutRequest::replay_expires_at`].
pub fn verify_logout_request(
    settings: &SamlSettings,
    sp: &SpConfig,
    raw_query: &str,
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<IdpLogoutRequest, SamlRejection> {
    let received = binding::receive(settings, raw_query, binding::Message::Request)?;
    let doc = parse(&received.xml)?;
    let root = doc.root_element();
    if !is(root, PROTOCOL_NS, "LogoutRequest") {
        return Err(SamlRejection::NotALogoutRequest);
    }
    let header = check_header(root, settings, sp, now, skew)?;
    let mut replay_expires_at = header.issue_instant + MAX_RESPONSE_AGE + skew;
    if let Some(not_on_or_after) = root.attribute("NotOnOrAfter") {
        let not_on_or_after = instant(not_on_or_after, "NotOnOrAfter")?;
        if not_on_or_after + skew <= now {
            return Err(SamlRejection::Expired);
        }
        replay_expires_at = replay_expires_at.min(not_on_or_after + skew);
    }

    if only_child(root, ASSERTION_NS, "EncryptedID")?.is_some() {
        return Err(SamlRejection::EncryptedNameId);
    }
    if only_child(root, ASSERTION_NS, "BaseID")?.is_some() {
        return Err(SamlRejection::Malformed(
            "BaseID subjects are not supported".into(),
        ));
    }
    let name_id = only_child(root, ASSERTION_NS, "NameID")?.ok_or(SamlRejection::MissingSubject)?;
    let name_id_value = text(name_id)?;
    if name_id_value.is_empty() {
        return Err(SamlRejection::MissingSubject);
    }
    let session_indexes = root
        .children()
        .filter(|n| is(*n, PROTOCOL_NS, "SessionIndex"))
        .map(|n| match text(n)? {
            // An empty SessionIndex must not widen the logout to every session.
            index if index.is_empty() => Err(SamlRejection::Malformed("empty SessionIndex".into())),
            index => Ok(index),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(IdpLogoutRequest {
        id: header.id,
        name_id: name_id_value,
        name_id_format: name_id
            .attribute("Format")
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty()),
        session_indexes,
        relay_state: received.relay_state,
        replay_expires_at,
    })
}

/// Builds the SP's `LogoutResponse` to the IdP-initiated request `in_response_to`, as a
/// redirect to `idp_slo_url` (the IdP's SLO `ResponseLocation`, or its `Location`).
///
/// Always signed with `signing_key` (RSA-SHA256 over the query octets). The top-level
/// status is [`STATUS_SUCCESS`] when `success`, else [`STATUS_RESPONDER`]. `relay_state`
/// is the IdP's own RelayState ([`IdpLogoutRequest::relay_state`]), returned unchanged
/// and URL-encoded. Parameters `idp_slo_url` already carries stay in front, outside the
/// signature.
#[allow(clippy::too_many_arguments)]
pub fn logout_response(
    sp: &SpConfig,
    idp_slo_url: &str,
    signing_key: &SpKeyPair,
    in_response_to: &str,
    success: bool,
    id_random: [u8; 16],
    relay_state: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, SsoError> {
    check_http_url(idp_slo_url, "IdP SLO URL")?;
    if in_response_to.is_empty() {
        return Err(SsoError::LogoutMessage("InResponseTo is empty".into()));
    }
    let xml = format!(
        concat!(
            r#"<samlp:LogoutResponse xmlns:samlp="{protocol}" xmlns:saml="{assertion}" "#,
            r#"ID="_{id}" Version="2.0" IssueInstant="{issued}" Destination="{destination}" "#,
            r#"InResponseTo="{in_response_to}"><saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>"#,
            r#"</samlp:LogoutResponse>"#,
        ),
        protocol = PROTOCOL_NS,
        assertion = ASSERTION_NS,
        id = hex(&id_random),
        issued = timestamp(now),
        destination = escape(idp_slo_url)?,
        in_response_to = escape(in_response_to)?,
        issuer = escape(&sp.entity_id)?,
        status = if success {
            STATUS_SUCCESS
        } else {
            STATUS_RESPONDER
        },
    );
    let key = super::sp_key::private_key(signing_key)?;
    let deflated = deflate(&xml).map_err(|e| SsoError::LogoutMessage(e.to_string()))?;
    let query = redirect_query("SAMLResponse", &deflated, relay_state, Some(&key))?;
    redirect_url(idp_slo_url, "IdP SLO URL", query)
}

/// What every logout message must say about itself, checked.
struct Header {
    id: String,
    issue_instant: DateTime<Utc>,
}

/// Checks what both logout messages share: `Version` 2.0, a non-empty `ID`, the IdP as
/// `Issuer`, a `Destination` equal to the SLO URL when present, and the `IssueInstant`.
fn check_header(
    root: Node<'_, '_>,
    settings: &SamlSettings,
    sp: &SpConfig,
    now: DateTime<Utc>,
    skew: Duration,
) -> Result<Header, SamlRejection> {
    if root.attribute("Version") != Some("2.0") {
        return Err(SamlRejection::Malformed("Version is not 2.0".into()));
    }
    let id = root
        .attribute("ID")
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| SamlRejection::Malformed("no ID".into()))?;
    let issuer = only_child(root, ASSERTION_NS, "Issuer")?
        .map(text)
        .transpose()?;
    if issuer.as_deref() != Some(settings.idp_entity_id.as_str()) {
        return Err(SamlRejection::WrongIssuer);
    }
    if let Some(destination) = root.attribute("Destination") {
        if destination != sp.slo_url {
            return Err(SamlRejection::WrongDestination {
                found: destination.to_owned(),
            });
        }
    }
    let issue_instant = root
        .attribute("IssueInstant")
        .ok_or_else(|| SamlRejection::Malformed("no IssueInstant".into()))?;
    let issue_instant = instant(issue_instant, "IssueInstant")?;
    check_issue_instant(issue_instant, now, skew)?;
    Ok(Header {
        id: id.to_owned(),
        issue_instant,
    })
}

/// Parses a screened document; roxmltree refuses DTDs on its own as well.
fn parse(xml: &str) -> Result<roxmltree::Document<'_>, SamlRejection> {
    roxmltree::Document::parse(xml).map_err(|e| match e {
        roxmltree::Error::DtdDetected => SamlRejection::DoctypeRefused,
        other => SamlRejection::Malformed(other.to_string()),
    })
}

fn is(node: Node<'_, '_>, namespace: &str, name: &str) -> bool {
    node.is_element()
        && node.tag_name().namespace() == Some(namespace)
        && node.tag_name().name() == name
}

/// The one child element `namespace:name` of `node`, if any; two are malformed.
fn only_child<'a, 'input>(
    node: Node<'a, 'input>,
    namespace: &str,
    name: &str,
) -> Result<Option<Node<'a, 'input>>, SamlRejection> {
    let mut found = node.children().filter(|n| is(*n, namespace, name));
    let first = found.next();
    if found.next().is_some() {
        return Err(SamlRejection::Malformed(format!("more than one {name}")));
    }
    Ok(first)
}

/// The trimmed text of an element that holds only text.
fn text(node: Node<'_, '_>) -> Result<String, SamlRejection> {
    if node.children().any(|n| !n.is_text()) {
        return Err(SamlRejection::Malformed(format!(
            "{} holds more than text",
            node.tag_name().name()
        )));
    }
    let text: String = node.children().filter_map(|n| n.text()).collect();
    Ok(text.trim().to_owned())
}

fn instant(value: &str, attribute: &str) -> Result<DateTime<Utc>, SamlRejection> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| SamlRejection::Malformed(format!("{attribute} is not a timestamp")))
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Escapes `value` for XML text and attribute values alike. Tabs and line breaks become
/// character references so attribute normalization keeps them; characters XML 1.0
/// cannot carry at all are refused.
fn escape(value: &str) -> Result<String, SsoError> {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\t' => escaped.push_str("&#9;"),
            '\n' => escaped.push_str("&#10;"),
            '\r' => escaped.push_str("&#13;"),
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => {
                return Err(SsoError::LogoutMessage(format!(
                    "U+{:04X} cannot appear in XML",
                    u32::from(c)
                )))
            }
            c => escaped.push(c),
        }
    }
    Ok(escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        let check = |value: &str, expected: Result<&str, ()>| {
            assert_eq!(
                escape(value).map_err(|_| ()),
                expected.map(str::to_owned),
                "{value:?}"
            );
        };
        check("alice@acme.test", Ok("alice@acme.test"));
        check(
            r#"a&b<c>"d"'e'"#,
            Ok("a&amp;b&lt;c&gt;&quot;d&quot;&apos;e&apos;"),
        );
        check("tab\there\nnl\rcr", Ok("tab&#9;here&#10;nl&#13;cr"));
        check("ünïcødé ✓", Ok("ünïcødé ✓"));
        check("nul\0", Err(()));
        check("bell\u{7}", Err(()));
        check("\u{fffe}", Err(()));
    }
}
