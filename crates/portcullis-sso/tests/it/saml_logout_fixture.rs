//! Logout messages made the way an IdP makes them on the HTTP-Redirect binding: the XML
//! (every field mutable by a test), raw DEFLATE, base64, URL-encoding, and a query
//! signature over `SAMLRequest=…&RelayState=…&SigAlg=…` (or `SAMLResponse=…`).

#![allow(dead_code)]

use std::io::{Read as _, Write as _};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::sign::{Signer, Verifier};
use openssl::x509::X509;
use portcullis_domain::SpKeyPair;
use portcullis_sso::saml::SpConfig;
use url::form_urlencoded::byte_serialize;

use super::saml_fixture::*;

pub const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
pub const ECDSA_SHA1: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1";
pub const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
pub const RESPONDER: &str = "urn:oasis:names:tc:SAML:2.0:status:Responder";
pub const REQUESTER: &str = "urn:oasis:names:tc:SAML:2.0:status:Requester";
pub const PARTIAL_LOGOUT: &str = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout";
pub const IDP_SLO: &str = "https://idp.example.test/saml/slo";
/// The id of the logout request the SP sent and waits an answer for.
pub const PENDING: &str = "_0123456789abcdef0123456789abcdef";

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap()
}

pub fn skew() -> Duration {
    Duration::seconds(60)
}

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The IdP's `LogoutResponse`, each field mutable.
#[derive(Clone)]
pub struct ResponseXml {
    pub id: String,
    pub in_response_to: Option<String>,
    pub issuer: Option<String>,
    pub destination: Option<String>,
    pub issue_instant: DateTime<Utc>,
    pub status: String,
    /// A second-level status code inside the top-level one.
    pub inner_status: Option<String>,
    /// Put right after `<samlp:LogoutResponse …>`'s start tag closes, before the Issuer.
    pub prolog: String,
}

impl ResponseXml {
    /// A successful answer to [`PENDING`], addressed to `sp`'s SLO URL.
    pub fn valid(sp: &SpConfig) -> Self {
        Self {
            id: "_idp-response-1".into(),
            in_response_to: Some(PENDING.into()),
            issuer: Some(IDP_ENTITY.into()),
            destination: Some(sp.slo_url.clone()),
            issue_instant: now(),
            status: SUCCESS.into(),
            inner_status: None,
            prolog: String::new(),
        }
    }

    pub fn xml(&self) -> String {
        let mut attrs = String::new();
        if let Some(i) = &self.in_response_to {
            attrs.push_str(&format!(r#" InResponseTo="{i}""#));
        }
        if let Some(d) = &self.destination {
            attrs.push_str(&format!(r#" Destination="{d}""#));
        }
        let issuer = self
            .issuer
            .as_ref()
            .map(|i| format!("<saml:Issuer>{i}</saml:Issuer>"))
            .unwrap_or_default();
        let status = match &self.inner_status {
            Some(inner) => format!(
                r#"<samlp:StatusCode Value="{}"><samlp:StatusCode Value="{inner}"/></samlp:StatusCode>"#,
                self.status
            ),
            None => format!(r#"<samlp:StatusCode Value="{}"/>"#, self.status),
        };
        format!(
            concat!(
                r#"{prolog}<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
                r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" "#,
                r#"IssueInstant="{issued}"{attrs}>{issuer}<samlp:Status>{status}</samlp:Status>"#,
                r#"</samlp:LogoutResponse>"#,
            ),
            prolog = self.prolog,
            id = self.id,
            issued = ts(self.issue_instant),
            attrs = attrs,
            issuer = issuer,
            status = status,
        )
    }
}

/// The IdP's own `LogoutRequest`, each field mutable.
#[derive(Clone)]
pub struct RequestXml {
    pub id: Option<String>,
    pub version: String,
    pub issuer: Option<String>,
    pub destination: Option<String>,
    pub issue_instant: DateTime<Utc>,
    pub not_on_or_after: Option<DateTime<Utc>>,
    /// The subject element(s), as XML.
    pub subject: String,
    pub session_indexes: Vec<String>,
}

impl RequestXml {
    /// A request to sign alice out of session `_s1`, addressed to `sp`'s SLO URL.
    pub fn valid(sp: &SpConfig) -> Self {
        Self {
            id: Some("_idp-request-1".into()),
            version: "2.0".into(),
            issuer: Some(IDP_ENTITY.into()),
            destination: Some(sp.slo_url.clone()),
            issue_instant: now(),
            not_on_or_after: Some(now() + Duration::minutes(10)),
            subject: format!(
                r#"<saml:NameID Format="{EMAIL_FORMAT}">alice@acme.test</saml:NameID>"#
            ),
            session_indexes: vec!["_s1".into()],
        }
    }

    pub fn xml(&self) -> String {
        let mut attrs = String::new();
        if let Some(i) = &self.id {
            attrs.push_str(&format!(r#" ID="{i}""#));
        }
        if let Some(d) = &self.destination {
            attrs.push_str(&format!(r#" Destination="{d}""#));
        }
        if let Some(t) = self.not_on_or_after {
            attrs.push_str(&format!(r#" NotOnOrAfter="{}""#, ts(t)));
        }
        let issuer = self
            .issuer
            .as_ref()
            .map(|i| format!("<saml:Issuer>{i}</saml:Issuer>"))
            .unwrap_or_default();
        let indexes: String = self
            .session_indexes
            .iter()
            .map(|i| format!("<samlp:SessionIndex>{i}</samlp:SessionIndex>"))
            .collect();
        format!(
            concat!(
                r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
                r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" Version="{version}" "#,
                r#"IssueInstant="{issued}"{attrs}>{issuer}{subject}{indexes}</samlp:LogoutRequest>"#,
            ),
            version = self.version,
            issued = ts(self.issue_instant),
            attrs = attrs,
            issuer = issuer,
            subject = self.subject,
            indexes = indexes,
        )
    }
}

/// `application/x-www-form-urlencoded`, as the binding's parameters are.
pub fn url_encode(value: &str) -> String {
    byte_serialize(value.as_bytes()).collect()
}

pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// The binding's encoding of a message: raw DEFLATE, base64, URL-encoding.
pub fn encode_message(xml: &str) -> String {
    url_encode(&STANDARD.encode(deflate(xml.as_bytes())))
}

/// The inverse of [`encode_message`], for a raw parameter value.
pub fn decode_message(raw: &str) -> String {
    let deflated = STANDARD.decode(decoded(raw)).unwrap();
    let mut xml = String::new();
    DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

/// How the IdP signs the query.
#[derive(Clone, Copy)]
pub enum Sign {
    /// Not at all.
    No,
    /// With this key and `SigAlg`, the signature as OpenSSL makes it (DER for ECDSA).
    With(&'static Key, &'static str),
    /// ECDSA as XML Signature defines it: `r || s`, each padded to the curve's size.
    RawEcdsa(&'static Key, &'static str),
}

fn digest_of(sig_alg: &str) -> MessageDigest {
    match sig_alg.rsplit_once('-').map(|(_, d)| d) {
        Some("sha1") => MessageDigest::sha1(),
        Some("sha384") => MessageDigest::sha384(),
        Some("sha512") => MessageDigest::sha512(),
        _ => MessageDigest::sha256(),
    }
}

/// The query an IdP sends: `param` with the already encoded `message`, the RelayState,
/// and the signature over the three as they appear.
pub fn query_with(param: &str, message: &str, relay_state: Option<&str>, sign: Sign) -> String {
    let mut query = format!("{param}={message}");
    if let Some(relay_state) = relay_state {
        query.push_str(&format!("&RelayState={}", url_encode(relay_state)));
    }
    let (key, sig_alg, raw_ecdsa) = match sign {
        Sign::No => return query,
        Sign::With(key, sig_alg) => (key, sig_alg, false),
        Sign::RawEcdsa(key, sig_alg) => (key, sig_alg, true),
    };
    query.push_str(&format!("&SigAlg={}", url_encode(sig_alg)));
    let mut signer = Signer::new(digest_of(sig_alg), &key.key).unwrap();
    signer.update(query.as_bytes()).unwrap();
    let mut signature = signer.sign_to_vec().unwrap();
    if raw_ecdsa {
        let der = EcdsaSig::from_der(&signature).unwrap();
        signature = [
            der.r().to_vec_padded(32).unwrap(),
            der.s().to_vec_padded(32).unwrap(),
        ]
        .concat();
    }
    query.push_str(&format!(
        "&Signature={}",
        url_encode(&STANDARD.encode(signature))
    ));
    query
}

/// The query of `xml` as the IdP sends it as `param`.
pub fn query(param: &str, xml: &str, relay_state: Option<&str>, sign: Sign) -> String {
    query_with(param, &encode_message(xml), relay_state, sign)
}

/// A `LogoutResponse` signed by the IdP with RSA-SHA256, with RelayState `back-1`.
pub fn idp_response(xml: &ResponseXml) -> String {
    query(
        "SAMLResponse",
        &xml.xml(),
        Some("back-1"),
        Sign::With(idp_key(), RSA_SHA256),
    )
}

/// A `LogoutRequest` signed by the IdP with RSA-SHA256, with RelayState `idp relay/1`.
pub fn idp_request(xml: &RequestXml) -> String {
    query(
        "SAMLRequest",
        &xml.xml(),
        Some("idp relay/1"),
        Sign::With(idp_key(), RSA_SHA256),
    )
}

/// Whether the query signature of a redirect from the SP (`param=…&RelayState=…&SigAlg=…`
/// as sent) verifies with `key`'s certificate, using RSA-SHA256.
pub fn sp_signature_verifies(url: &str, param: &str, key: &SpKeyPair) -> bool {
    let params = raw_params(url);
    let mut octets = format!("{param}={}", raw(&params, param));
    if params.iter().any(|(k, _)| k == "RelayState") {
        octets.push_str(&format!("&RelayState={}", raw(&params, "RelayState")));
    }
    octets.push_str(&format!("&SigAlg={}", raw(&params, "SigAlg")));
    assert_eq!(decoded(raw(&params, "SigAlg")), RSA_SHA256);
    let signature = STANDARD.decode(decoded(raw(&params, "Signature"))).unwrap();
    let cert = X509::from_der(&STANDARD.decode(&key.certificate).unwrap()).unwrap();
    let public = cert.public_key().unwrap();
    let mut verifier = Verifier::new(MessageDigest::sha256(), &public).unwrap();
    verifier.update(octets.as_bytes()).unwrap();
    verifier.verify(&signature).unwrap_or(false)
}
