//! What a SAML response says, read without trusting it, for the sign-in debugger: the
//! values each check compares (issuer, destination, audiences, InResponseTo, times, the
//! NameID, the certificate its signature names) and the document with signature values,
//! digests and certificates blanked out. Nothing here decides anything: `verify` does.

use std::collections::BTreeMap;

use super::guard;

/// What the response claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseFacts {
    /// The Response's (or else the Assertion's) `Issuer`.
    pub issuer: Option<String>,
    /// The Response's `Destination`.
    pub destination: Option<String>,
    /// `InResponseTo` of the Response or its subject confirmation.
    pub in_response_to: Option<String>,
    /// Every `Audience`.
    pub audiences: Vec<String>,
    /// The subject confirmation's `Recipient`.
    pub recipient: Option<String>,
    /// The assertion's `NotOnOrAfter` (conditions or subject confirmation).
    pub not_on_or_after: Option<String>,
    /// The NameID.
    pub name_id: Option<String>,
    /// The top-level status code.
    pub status: Option<String>,
    /// How many `ds:Signature` elements it holds.
    pub signatures: usize,
    /// The certificates its signatures' `KeyInfo` name (base64, whitespace removed).
    pub certificates: Vec<String>,
    /// The document with the text of `SignatureValue`, `DigestValue` and
    /// `X509Certificate` replaced by `[redacted]`.
    pub redacted: String,
}

const REDACTED: &[&str] = &["SignatureValue", "DigestValue", "X509Certificate"];

/// Reads `saml_response_b64`; `None` when it is not a document at all (the verification's
/// own refusal then says why).
pub fn describe(saml_response_b64: &str) -> Option<ResponseFacts> {
    let xml = guard::decode(saml_response_b64).ok()?;
    let doc = roxmltree::Document::parse(&xml).ok()?;
    let mut facts = ResponseFacts::default();
    let text = |n: roxmltree::Node<'_, '_>| n.text().map(|t| t.trim().to_owned());
    let root = doc.root_element();
    facts.destination = root.attribute("Destination").map(str::to_owned);
    facts.in_response_to = root.attribute("InResponseTo").map(str::to_owned);
    let mut spans: BTreeMap<usize, usize> = BTreeMap::new();
    for node in doc.descendants().filter(roxmltree::Node::is_element) {
        match node.tag_name().name() {
            "Issuer" if facts.issuer.is_none() => facts.issuer = text(node),
            "Audience" => facts.audiences.extend(text(node)),
            "NameID" if facts.name_id.is_none() => facts.name_id = text(node),
            "StatusCode" if facts.status.is_none() => {
                facts.status = node.attribute("Value").map(str::to_owned)
            }
            "Signature" => facts.signatures += 1,
            "SubjectConfirmationData" => {
                facts.recipient = facts
                    .recipient
                    .take()
                    .or_else(|| node.attribute("Recipient").map(str::to_owned));
                facts.in_response_to = facts
                    .in_response_to
                    .take()
                    .or_else(|| node.attribute("InResponseTo").map(str::to_owned));
                facts.not_on_or_after = facts
                    .not_on_or_after
                    .take()
                    .or_else(|| node.attribute("NotOnOrAfter").map(str::to_owned));
            }
            "Conditions" => {
                facts.not_on_or_after = node
                    .attribute("NotOnOrAfter")
                    .map(str::to_owned)
                    .or(facts.not_on_or_after.take());
            }
            "X509Certificate" => facts.certificates.extend(
                text(node).map(|t| t.chars().filter(|c| !c.is_ascii_whitespace()).collect()),
            ),
            _ => {}
        }
        if REDACTED.contains(&node.tag_name().name()) {
            for child in node.children().filter(roxmltree::Node::is_text) {
                let range = child.range();
                spans.insert(range.start, range.end);
            }
        }
    }
    let mut redacted = String::with_capacity(xml.len());
    let mut at = 0;
    for (start, end) in spans {
        redacted.push_str(&xml[at..start]);
        redacted.push_str("[redacted]");
        at = end;
    }
    redacted.push_str(&xml[at..]);
    facts.redacted = redacted;
    Some(facts)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    #[test]
    fn values_are_read_and_secrets_blanked() {
        let xml = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Destination="https://sp/acs" InResponseTo="_r1"><saml:Issuer>https://idp</saml:Issuer><ds:Signature><ds:SignedInfo><ds:Reference><ds:DigestValue>ZGlnZXN0</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>c2lnbmF0dXJl</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>Q0VS
VA==</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature><saml:Assertion><saml:Subject><saml:NameID>kim@acme.test</saml:NameID></saml:Subject><saml:Conditions NotOnOrAfter="2030-01-01T00:00:00Z"><saml:AudienceRestriction><saml:Audience>https://sp/metadata</saml:Audience></saml:AudienceRestriction></saml:Conditions></saml:Assertion></samlp:Response>"#;
        let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
        let facts = describe(&b64).unwrap();
        assert_eq!(facts.issuer.as_deref(), Some("https://idp"));
        assert_eq!(facts.destination.as_deref(), Some("https://sp/acs"));
        assert_eq!(facts.in_response_to.as_deref(), Some("_r1"));
        assert_eq!(facts.audiences, vec!["https://sp/metadata"]);
        assert_eq!(facts.name_id.as_deref(), Some("kim@acme.test"));
        assert_eq!(
            facts.not_on_or_after.as_deref(),
            Some("2030-01-01T00:00:00Z")
        );
        assert_eq!(facts.signatures, 1);
        assert_eq!(facts.certificates, vec!["Q0VSVA=="]);
        for secret in ["ZGlnZXN0", "c2lnbmF0dXJl", "Q0VS"] {
            assert!(!facts.redacted.contains(secret), "{}", facts.redacted);
        }
        assert!(facts.redacted.contains("kim@acme.test"));
        assert_eq!(describe("not base64 !"), None);
    }
}
