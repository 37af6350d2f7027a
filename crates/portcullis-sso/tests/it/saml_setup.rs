//! IdP metadata, SP metadata, AuthnRequests and attribute mapping.

use std::io::Read;

use base64::Engine as _;
use chrono::{Duration, TimeZone, Utc};
use portcullis_sso::saml::{
    parse_idp_metadata, sp_metadata_xml, start_login, verify_response, Expected, MAX_METADATA,
};
use portcullis_sso::SsoError;

use crate::saml_fixture::*;

fn metadata(keys: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="http://www.okta.com/exk1">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    {keys}
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://acme.okta.com/app/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://acme.okta.com/app/redirect"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
    )
}

fn key(use_: &str, cert: &str) -> String {
    format!(
        r#"<md:KeyDescriptor{use_}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
{cert}
</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#
    )
}

#[test]
fn idp_metadata() {
    let both = format!(
        "{}{}",
        key(r#" use="signing""#, &idp_key().cert_b64),
        key(r#" use="signing""#, &other_key().cert_b64)
    );
    let parsed = parse_idp_metadata(&metadata(&both)).unwrap();
    assert_eq!(parsed.entity_id, "http://www.okta.com/exk1");
    assert_eq!(parsed.sso_url, "https://acme.okta.com/app/redirect");
    assert_eq!(
        parsed.signing_certificates,
        vec![idp_key().cert_b64.clone(), other_key().cert_b64.clone()]
    );
    assert!(!parsed.want_authn_requests_signed);

    // A key without `use` counts when none is marked for signing; encryption keys never.
    let unmarked = parse_idp_metadata(&metadata(&key("", &idp_key().cert_b64))).unwrap();
    assert_eq!(unmarked.signing_certificates.len(), 1);
    let encryption_only = metadata(&key(r#" use="encryption""#, &idp_key().cert_b64));
    assert_eq!(
        parse_idp_metadata(&encryption_only),
        Err(SsoError::NoSigningCertificate)
    );
    assert_eq!(
        parse_idp_metadata(&metadata("")),
        Err(SsoError::NoSigningCertificate)
    );
    assert!(matches!(
        parse_idp_metadata(&metadata(&key(r#" use="signing""#, "bm90IGEgY2VydA=="))),
        Err(SsoError::InvalidCertificate(_))
    ));
    let doctype = format!(
        r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>{}"#,
        metadata(&key("", &idp_key().cert_b64))
            .replace(r#"<?xml version="1.0" encoding="UTF-8"?>"#, "")
    );
    assert_eq!(parse_idp_metadata(&doctype), Err(SsoError::DoctypeRefused));
    let no_redirect = metadata(&key("", &idp_key().cert_b64)).replace("HTTP-Redirect", "SOAP");
    assert_eq!(
        parse_idp_metadata(&no_redirect),
        Err(SsoError::NoRedirectBinding)
    );
    assert_eq!(
        parse_idp_metadata(&" ".repeat(MAX_METADATA + 1)),
        Err(SsoError::TooLarge {
            limit: MAX_METADATA
        })
    );
}

#[test]
fn sp_metadata() {
    let sp = sp(1);
    assert_eq!(
        sp.acs_url,
        "https://portcullis.test/sso/saml/00000000-0000-0000-0000-000000000001/acs"
    );
    assert_eq!(sp.entity_id, sp.metadata_url);
    let xml = sp_metadata_xml(&sp, &settings(&[idp_key()]));
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(
        doc.root_element().attribute("entityID"),
        Some(sp.entity_id.as_str())
    );
    let acs = doc
        .descendants()
        .find(|n| n.tag_name().name() == "AssertionConsumerService")
        .unwrap();
    assert_eq!(acs.attribute("Location"), Some(sp.acs_url.as_str()));
    assert_eq!(
        acs.attribute("Binding"),
        Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
    );
}

#[test]
fn authn_request_redirect() {
    let now = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
    let sp = sp(1);
    let s = settings(&[idp_key()]);
    let redirect = start_login(&s, &sp, [0xab; 16], "attempt_123-x", now).unwrap();
    assert_eq!(redirect.request_id, format!("_{}", "ab".repeat(16)));
    let url = openidconnect::url::Url::parse(&redirect.url).unwrap();
    assert!(redirect
        .url
        .starts_with("https://idp.example.test/saml/sso?"));
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["RelayState"], "attempt_123-x");
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(&q["SAMLRequest"])
        .unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "AuthnRequest");
    assert_eq!(root.attribute("ID"), Some(redirect.request_id.as_str()));
    assert_eq!(
        root.attribute("IssueInstant"),
        Some("2030-01-02T03:04:05.000Z")
    );
    assert_eq!(
        root.attribute("AssertionConsumerServiceURL"),
        Some(sp.acs_url.as_str())
    );
    assert_eq!(root.attribute("Destination"), Some(s.sso_url.as_str()));
    assert!(xml.contains(&sp.entity_id));

    // RelayState is an opaque server token, never user input.
    for bad in ["https://evil.test/", "<script>", "a b", &"x".repeat(81)] {
        assert_eq!(
            start_login(&s, &sp, [1; 16], bad, now),
            Err(SsoError::InvalidRelayState),
            "{bad}"
        );
    }
    // An IdP without certificates cannot even start a login.
    assert_eq!(
        start_login(&settings(&[]), &sp, [1; 16], "x", now),
        Err(SsoError::NoSigningCertificate)
    );
}

fn mapped(
    configure: impl FnOnce(&mut portcullis_domain::SamlSettings),
    mutate: impl FnOnce(&mut Params),
) -> Result<(String, Option<String>), portcullis_sso::saml::SamlRejection> {
    let now = wall_clock();
    let sp = sp(1);
    let mut s = settings(&[idp_key()]);
    configure(&mut s);
    let mut p = Params::valid(&sp, now);
    mutate(&mut p);
    let ids = vec!["_req1".to_owned()];
    verify_response(
        &s,
        idp_id(1),
        &sp,
        &p.b64(),
        Expected::SpInitiated {
            pending_request_ids: &ids,
        },
        now,
        Duration::seconds(60),
    )
    .map(|v| (v.identity.email.to_string(), v.identity.display_name))
}

const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";

#[test]
fn attribute_mapping_defaults_and_configuration() {
    let attrs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    };
    // Entra ID claim URIs, opaque NameID.
    let entra = attrs(&[
        (
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
            "bob@contoso.test",
        ),
        (
            "http://schemas.microsoft.com/identity/claims/displayname",
            "Bob Builder",
        ),
    ]);
    assert_eq!(
        mapped(
            |_| {},
            |p| {
                p.name_id = "AAF23oid".into();
                p.name_id_format = PERSISTENT.into();
                p.attributes = entra;
            }
        ),
        Ok(("bob@contoso.test".into(), Some("Bob Builder".into())))
    );
    // Entra's `.../claims/name` (UPN) and given name + surname.
    let upn = attrs(&[
        (
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
            "carol@contoso.test",
        ),
        (
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
            "Carol",
        ),
        (
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
            "Danvers",
        ),
    ]);
    assert_eq!(
        mapped(
            |_| {},
            |p| {
                p.name_id = "AAF23oid".into();
                p.name_id_format = PERSISTENT.into();
                p.attributes = upn;
            }
        ),
        Ok(("carol@contoso.test".into(), Some("Carol Danvers".into())))
    );
    // Google: no attributes, NameID in emailAddress format.
    assert_eq!(
        mapped(|_| {}, |p| p.attributes.clear()),
        Ok(("alice@acme.test".into(), None))
    );
    // A configured attribute is the only source.
    let custom = attrs(&[
        ("workEmail", "dave@acme.test"),
        ("email", "other@acme.test"),
    ]);
    assert_eq!(
        mapped(
            |s| {
                s.email_attribute = Some("workEmail".into());
                s.name_attribute = Some("nick".into());
            },
            |p| p.attributes = custom
        ),
        Ok(("dave@acme.test".into(), None))
    );
    assert_eq!(
        mapped(|s| s.email_attribute = Some("workEmail".into()), |_| {}),
        Err(portcullis_sso::saml::SamlRejection::MissingEmail)
    );
    let bad = attrs(&[("workEmail", "not an email")]);
    assert_eq!(
        mapped(
            |s| s.email_attribute = Some("workEmail".into()),
            |p| p.attributes = bad
        ),
        Err(portcullis_sso::saml::SamlRejection::InvalidEmail)
    );
}
