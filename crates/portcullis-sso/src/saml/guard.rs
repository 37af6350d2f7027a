//! What happens to a SAML response before samael sees it: size limits, decoding, refusal
//! of XML constructs no IdP needs, and an unverified look at the root element.
//!
//! Everything read here is unverified. It is used only to refuse early or to choose a
//! path; every value that reaches a decision is checked again on samael's verified output.

use base64::Engine as _;
use chrono::{DateTime, Utc};

use super::SamlRejection;

/// Largest `SAMLResponse` form value accepted (base64 text). The server should cap the
/// whole POST body at about this size too.
pub const MAX_ENCODED_RESPONSE: usize = 256 * 1024;

/// Largest decoded SAML response accepted.
pub const MAX_DECODED_RESPONSE: usize = 192 * 1024;

pub(crate) const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub(crate) const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub(crate) const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Decodes a `SAMLResponse` form value into XML text, enforcing both size limits.
pub(crate) fn decode(saml_response_b64: &str) -> Result<String, SamlRejection> {
    if saml_response_b64.len() > MAX_ENCODED_RESPONSE {
        return Err(SamlRejection::TooLarge {
            limit: MAX_ENCODED_RESPONSE,
        });
    }
    // Some IdPs wrap the base64 text at 76 columns.
    let compact: Vec<u8> = saml_response_b64
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| SamlRejection::Malformed("not base64".into()))?;
    if bytes.len() > MAX_DECODED_RESPONSE {
        return Err(SamlRejection::TooLarge {
            limit: MAX_DECODED_RESPONSE,
        });
    }
    String::from_utf8(bytes).map_err(|_| SamlRejection::Malformed("not UTF-8".into()))
}

/// Refuses XML constructs that no IdP sends and that attacks rely on: any DOCTYPE (XXE,
/// entity expansion), comments (NameID splitting), CDATA sections, processing
/// instructions and encodings other than UTF-8. This is a plain text scan, so it holds
/// whatever the XML parsers behind samael would make of the document.
pub(crate) fn screen(xml: &str) -> Result<(), SamlRejection> {
    if xml.len() > MAX_DECODED_RESPONSE {
        return Err(SamlRejection::TooLarge {
            limit: MAX_DECODED_RESPONSE,
        });
    }
    let lower = xml.to_ascii_lowercase();
    if lower.contains("<!doctype") || lower.contains("<!entity") {
        return Err(SamlRejection::DoctypeRefused);
    }
    if lower.contains("<!--") {
        return Err(SamlRejection::CommentRefused);
    }
    if lower.contains("<![cdata[") {
        return Err(SamlRejection::UnsupportedXml("CDATA section"));
    }
    if xml.contains('\0') {
        return Err(SamlRejection::UnsupportedXml("NUL character"));
    }
    let body = xml.trim_start_matches('\u{feff}').trim_start();
    let rest = match body.strip_prefix("<?xml") {
        Some(rest) => {
            let end = rest.find("?>").ok_or(SamlRejection::Malformed(
                "unterminated XML declaration".into(),
            ))?;
            let declaration = rest[..end].to_ascii_lowercase();
            if let Some((_, encoding)) = declaration.split_once("encoding") {
                let encoding = encoding
                    .trim_start_matches([' ', '=', '\t', '\r', '\n'])
                    .trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace());
                let encoding = encoding
                    .split(['"', '\''])
                    .next()
                    .unwrap_or_default()
                    .trim();
                if encoding != "utf-8" && encoding != "utf8" {
                    return Err(SamlRejection::UnsupportedXml("encoding other than UTF-8"));
                }
            }
            &rest[end + 2..]
        }
        None => body,
    };
    if rest.contains("<?") {
        return Err(SamlRejection::UnsupportedXml("processing instruction"));
    }
    Ok(())
}

/// What the unverified root element says. Only for routing and early refusal.
#[derive(Debug)]
pub(crate) struct Peek {
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub issue_instant: Option<DateTime<Utc>>,
    pub has_encrypted_assertion: bool,
    pub has_signature: bool,
    /// The first signature or digest algorithm outside the allowed list.
    pub weak_algorithm: Option<String>,
}

/// Reads the unverified root element of a screened document.
pub(crate) fn peek(xml: &str, allowed_algorithms: &[&str]) -> Result<Peek, SamlRejection> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| match e {
        roxmltree::Error::DtdDetected => SamlRejection::DoctypeRefused,
        other => SamlRejection::Malformed(other.to_string()),
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "Response" || root.tag_name().namespace() != Some(PROTOCOL_NS) {
        return Err(SamlRejection::NotAResponse);
    }
    let mut has_encrypted_assertion = false;
    let mut has_signature = false;
    let mut weak_algorithm = None;
    for node in root.descendants().filter(|n| n.is_element()) {
        let name = node.tag_name();
        match (name.namespace(), name.name()) {
            (Some(ASSERTION_NS), "EncryptedAssertion") => has_encrypted_assertion = true,
            (Some(DSIG_NS), "Signature") => has_signature = true,
            // Only a signature's methods: an EncryptedKey's RSA-OAEP DigestMethod (SHA-1,
            // which IdPs commonly name) sits in an xenc:EncryptionMethod and signs nothing.
            (Some(DSIG_NS), "SignatureMethod" | "DigestMethod")
                if node
                    .parent_element()
                    .is_some_and(|p| p.tag_name().namespace() == Some(DSIG_NS)) =>
            {
                let algorithm = node.attribute("Algorithm").unwrap_or_default();
                if weak_algorithm.is_none() && !allowed_algorithms.contains(&algorithm) {
                    weak_algorithm = Some(algorithm.to_owned());
                }
            }
            _ => {}
        }
    }
    let issue_instant = root
        .attribute("IssueInstant")
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| SamlRejection::Malformed("IssueInstant is not a timestamp".into()))
        })
        .transpose()?;
    Ok(Peek {
        destination: root.attribute("Destination").map(str::to_owned),
        in_response_to: root.attribute("InResponseTo").map(str::to_owned),
        issue_instant,
        has_encrypted_assertion,
        has_signature,
        weak_algorithm,
    })
}

/// The unverified `InResponseTo` of a `SAMLResponse` form value, for routing only: it
/// tells the server whether to verify the response as an answer to one of the browser's
/// pending requests ([`super::Expected::SpInitiated`]) or as an unsolicited one
/// ([`super::Expected::IdpInitiated`]). Never trust it for anything else.
pub fn peek_in_response_to(saml_response_b64: &str) -> Option<String> {
    let xml = decode(saml_response_b64).ok()?;
    screen(&xml).ok()?;
    peek(&xml, &[]).ok()?.in_response_to
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(xml: &str, expected: Result<(), SamlRejection>) {
        assert_eq!(screen(xml), expected, "{xml}");
    }

    #[test]
    fn screening() {
        check(r#"<?xml version="1.0" encoding="UTF-8"?><a/>"#, Ok(()));
        check("\u{feff}<a/>", Ok(()));
        check("<a>x</a>", Ok(()));
        check(
            r#"<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>"#,
            Err(SamlRejection::DoctypeRefused),
        );
        check("<!doctype a><a/>", Err(SamlRejection::DoctypeRefused));
        check("<a>b<!---->c</a>", Err(SamlRejection::CommentRefused));
        check(
            "<a>b<![CDATA[]]>c</a>",
            Err(SamlRejection::UnsupportedXml("CDATA section")),
        );
        check(
            "<a><?pi x?></a>",
            Err(SamlRejection::UnsupportedXml("processing instruction")),
        );
        check(
            r#"<?xml version="1.0" encoding="UTF-16"?><a/>"#,
            Err(SamlRejection::UnsupportedXml("encoding other than UTF-8")),
        );
        check(r#"<?xml version='1.0' encoding='utf-8'?><a/>"#, Ok(()));
    }

    #[test]
    fn size_limits() {
        let big = "A".repeat(MAX_ENCODED_RESPONSE + 1);
        assert_eq!(
            decode(&big),
            Err(SamlRejection::TooLarge {
                limit: MAX_ENCODED_RESPONSE
            })
        );
        assert!(matches!(decode("%%%"), Err(SamlRejection::Malformed(_))));
    }
}
