//! Builds SAML responses the way an IdP does, signed with xmlsec through samael and
//! encrypted with OpenSSL, so the attack corpus can mutate genuinely signed (and
//! encrypted) documents. Shared by the tests and the bench.

#![allow(dead_code)]

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::md::{Md, MdRef};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use openssl::symm::{Cipher, Crypter, Mode};
use openssl::x509::{X509NameBuilder, X509};
use portcullis_domain::{AssertionEncryption, IdpId, SamlSettings, SpEncryptionKeys, SpKeyPair};
use portcullis_sso::saml::{sp_key_pair, SpConfig, SpKeyUse};
use samael::crypto::{Crypto, CryptoProvider};

pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
pub const IDP_ENTITY: &str = "https://idp.example.test/saml/metadata";
pub const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
pub const MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
pub const OAEP11: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
pub const RSA_1_5: &str = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";
pub const MGF1SHA256: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha256";
pub const TRIPLE_DES: &str = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc";
/// The content encryptions the SP decrypts: AES-128/256 in CBC, then in GCM mode.
pub const CONTENTS: [&str; 4] = [AES128_CBC, AES256_CBC, AES128_GCM, AES256_GCM];
pub const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
pub const AES256_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
pub const AES128_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes128-gcm";
pub const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";

/// A signing key with its self-signed certificate (base64 DER).
pub struct Key {
    pub key: PKey<Private>,
    pub cert_b64: String,
    pub cert_pem: String,
}

fn make_key(key: PKey<Private>, cn: &str) -> Key {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut builder = X509::builder().unwrap();
    builder.set_version(2).unwrap();
    builder
        .set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    builder.set_subject_name(&name).unwrap();
    builder.set_issuer_name(&name).unwrap();
    builder.set_pubkey(&key).unwrap();
    builder
        .set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    builder
        .set_not_after(&Asn1Time::days_from_now(365).unwrap())
        .unwrap();
    builder.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = builder.build();
    Key {
        key,
        cert_b64: STANDARD.encode(cert.to_der().unwrap()),
        cert_pem: String::from_utf8(cert.to_pem().unwrap()).unwrap(),
    }
}

fn rsa(cn: &str) -> Key {
    make_key(PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(), cn)
}

/// The IdP's real key.
pub fn idp_key() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| rsa("idp"))
}

/// Another key: an attacker's, or the IdP's next key during a rollover.
pub fn other_key() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| rsa("other"))
}

/// An ECDSA P-256 key.
pub fn ec_key() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        make_key(
            PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap(),
            "ec",
        )
    })
}

/// The SP's encryption key, which the test IdP encrypts assertions to.
pub fn sp_encryption_key() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| rsa("sp-encryption"))
}

/// An SP encryption key pair of IdP `n` around `key`, as Portcullis makes it.
pub fn sp_encryption_pair(key: &PKey<Private>, n: u128, now: DateTime<Utc>) -> SpKeyPair {
    sp_key_pair(key, idp_id(n), SpKeyUse::Encryption, [0x5e; 16], now).unwrap()
}

/// [`settings`] with encrypted assertions `mode`, decrypted with [`sp_encryption_key`]
/// (IdP 1's pair, no previous one); also the key the IdP encrypts to.
pub fn encrypting_settings(
    certs: &[&Key],
    mode: AssertionEncryption,
    now: DateTime<Utc>,
) -> (SamlSettings, &'static PKey<Private>) {
    let key = &sp_encryption_key().key;
    let mut settings = settings(certs);
    settings.encrypted_assertions = mode;
    settings.sp_encryption_keys = Some(SpEncryptionKeys {
        current: sp_encryption_pair(key, 1, now),
        previous: None,
    });
    (settings, key)
}

pub fn idp_id(n: u128) -> IdpId {
    IdpId::from_uuid(uuid::Uuid::from_u128(n))
}

pub fn settings(certs: &[&Key]) -> SamlSettings {
    SamlSettings {
        idp_entity_id: IDP_ENTITY.into(),
        sso_url: "https://idp.example.test/saml/sso".into(),
        signing_certificates: certs.iter().map(|k| k.cert_b64.clone()).collect(),
        idp_initiated: false,
        metadata_url: None,
        metadata_xml: None,
        email_attribute: None,
        name_attribute: None,
        sign_authn_requests: false,
        sp_signing_key: None,
        encrypted_assertions: portcullis_domain::AssertionEncryption::Off,
        sp_encryption_keys: None,
        slo_url: None,
    }
}

pub fn sp(n: u128) -> SpConfig {
    SpConfig::for_idp("https://portcullis.test", idp_id(n))
}

/// samael checks some times against the wall clock, so fixtures are built around it.
#[allow(clippy::disallowed_methods)]
pub fn wall_clock() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp(now.timestamp(), 0).unwrap()
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Everything an IdP puts into a response, each field mutable by a test.
#[derive(Clone)]
pub struct Params {
    pub response_id: String,
    pub assertion_id: String,
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub response_issue_instant: DateTime<Utc>,
    pub response_issuer: String,
    pub status: String,
    pub assertion_issue_instant: DateTime<Utc>,
    pub assertion_issuer: String,
    pub name_id: String,
    pub name_id_format: String,
    pub recipient: Option<String>,
    pub sc_in_response_to: Option<String>,
    pub sc_not_on_or_after: Option<DateTime<Utc>>,
    pub not_before: Option<DateTime<Utc>>,
    pub not_on_or_after: Option<DateTime<Utc>>,
    /// `None`: no AudienceRestriction at all.
    pub audience: Option<String>,
    pub conditions: bool,
    pub attributes: Vec<(String, String)>,
    pub sign_assertion: bool,
    pub sign_response: bool,
    pub signature_algorithm: &'static str,
    pub digest_algorithm: &'static str,
    pub key: &'static Key,
}

impl Params {
    /// A valid SP-initiated answer to request `_req1` for `sp`.
    pub fn valid(sp: &SpConfig, now: DateTime<Utc>) -> Self {
        Self {
            response_id: "_resp1".into(),
            assertion_id: "_assert1".into(),
            destination: Some(sp.acs_url.clone()),
            in_response_to: Some("_req1".into()),
            response_issue_instant: now,
            response_issuer: IDP_ENTITY.into(),
            status: "urn:oasis:names:tc:SAML:2.0:status:Success".into(),
            assertion_issue_instant: now,
            assertion_issuer: IDP_ENTITY.into(),
            name_id: "alice@acme.test".into(),
            name_id_format: EMAIL_FORMAT.into(),
            recipient: Some(sp.acs_url.clone()),
            sc_in_response_to: Some("_req1".into()),
            sc_not_on_or_after: Some(now + Duration::minutes(5)),
            not_before: Some(now - Duration::minutes(1)),
            not_on_or_after: Some(now + Duration::minutes(5)),
            audience: Some(sp.entity_id.clone()),
            conditions: true,
            attributes: vec![
                ("email".into(), "alice@acme.test".into()),
                ("displayName".into(), "Alice Liddell".into()),
            ],
            sign_assertion: true,
            sign_response: false,
            signature_algorithm: RSA_SHA256,
            digest_algorithm: SHA256,
            key: idp_key(),
        }
    }

    /// An unsolicited (IdP-initiated) response.
    pub fn unsolicited(sp: &SpConfig, now: DateTime<Utc>) -> Self {
        Self {
            in_response_to: None,
            sc_in_response_to: None,
            ..Self::valid(sp, now)
        }
    }

    fn signature_template(&self, id: &str) -> String {
        format!(
            concat!(
                r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>"#,
                r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
                r##"<ds:SignatureMethod Algorithm="{sig}"/><ds:Reference URI="#{id}"><ds:Transforms>"##,
                r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#,
                r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>"#,
                r#"<ds:DigestMethod Algorithm="{digest}"/><ds:DigestValue></ds:DigestValue></ds:Reference>"#,
                r#"</ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data>"#,
                r#"<ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"#,
            ),
            sig = self.signature_algorithm,
            digest = self.digest_algorithm,
            id = id,
            cert = self.key.cert_b64,
        )
    }

    /// The assertion, signed when `sign_assertion` (self-contained namespaces, so it can
    /// be moved around for wrapping attacks).
    pub fn assertion(&self) -> String {
        let mut conditions = String::new();
        if self.conditions {
            let mut attrs = String::new();
            if let Some(t) = self.not_before {
                attrs.push_str(&format!(r#" NotBefore="{}""#, ts(t)));
            }
            if let Some(t) = self.not_on_or_after {
                attrs.push_str(&format!(r#" NotOnOrAfter="{}""#, ts(t)));
            }
            let audience = self
                .audience
                .as_ref()
                .map(|a| {
                    format!(
                        "<saml:AudienceRestriction><saml:Audience>{a}</saml:Audience></saml:AudienceRestriction>"
                    )
                })
                .unwrap_or_default();
            conditions = format!("<saml:Conditions{attrs}>{audience}</saml:Conditions>");
        }
        let mut sc = String::new();
        if let Some(r) = &self.recipient {
            sc.push_str(&format!(r#" Recipient="{r}""#));
        }
        if let Some(i) = &self.sc_in_response_to {
            sc.push_str(&format!(r#" InResponseTo="{i}""#));
        }
        if let Some(t) = self.sc_not_on_or_after {
            sc.push_str(&format!(r#" NotOnOrAfter="{}""#, ts(t)));
        }
        let attributes: String = self
            .attributes
            .iter()
            .map(|(n, v)| {
                format!(r#"<saml:Attribute Name="{n}"><saml:AttributeValue>{v}</saml:AttributeValue></saml:Attribute>"#)
            })
            .collect();
        let statement = if attributes.is_empty() {
            String::new()
        } else {
            format!("<saml:AttributeStatement>{attributes}</saml:AttributeStatement>")
        };
        let signature = if self.sign_assertion {
            self.signature_template(&self.assertion_id)
        } else {
            String::new()
        };
        let xml = format!(
            concat!(
                r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{issued}">"#,
                r#"<saml:Issuer>{issuer}</saml:Issuer>{signature}"#,
                r#"<saml:Subject><saml:NameID Format="{format}">{name_id}</saml:NameID>"#,
                r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
                r#"<saml:SubjectConfirmationData{sc}/></saml:SubjectConfirmation></saml:Subject>"#,
                r#"{conditions}<saml:AuthnStatement AuthnInstant="{issued}" SessionIndex="{id}">"#,
                r#"<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>"#,
                r#"</saml:AuthnStatement>{statement}</saml:Assertion>"#,
            ),
            id = self.assertion_id,
            issued = ts(self.assertion_issue_instant),
            issuer = self.assertion_issuer,
            signature = signature,
            format = self.name_id_format,
            name_id = self.name_id,
            sc = sc,
            conditions = conditions,
            statement = statement,
        );
        if self.sign_assertion {
            sign(&xml, self.key)
        } else {
            xml
        }
    }

    /// The full response around `assertion` (normally [`Params::assertion`]).
    pub fn response_around(&self, assertion: &str) -> String {
        let mut attrs = String::new();
        if let Some(d) = &self.destination {
            attrs.push_str(&format!(r#" Destination="{d}""#));
        }
        if let Some(i) = &self.in_response_to {
            attrs.push_str(&format!(r#" InResponseTo="{i}""#));
        }
        let signature = if self.sign_response {
            self.signature_template(&self.response_id)
        } else {
            String::new()
        };
        let xml = format!(
            concat!(
                r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" "#,
                r#"ID="{id}" Version="2.0" IssueInstant="{issued}"{attrs}>"#,
                r#"<saml:Issuer>{issuer}</saml:Issuer>{signature}"#,
                r#"<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>{assertion}</samlp:Response>"#,
            ),
            id = self.response_id,
            issued = ts(self.response_issue_instant),
            attrs = attrs,
            issuer = self.response_issuer,
            signature = signature,
            status = self.status,
            assertion = assertion,
        );
        if self.sign_response {
            sign(&xml, self.key)
        } else {
            xml
        }
    }

    /// The whole response XML.
    pub fn xml(&self) -> String {
        self.response_around(&self.assertion())
    }

    /// The whole response as the `SAMLResponse` form value.
    pub fn b64(&self) -> String {
        b64(&self.xml())
    }

    /// The whole response with [`Params::assertion`] (signed when `sign_assertion`)
    /// encrypted to `to` as `spec` says; the Response is signed when `sign_response`.
    pub fn encrypted_xml(&self, to: &PKey<Private>, spec: &Spec<'_>) -> String {
        self.response_around(&encrypt(&self.assertion(), to, spec))
    }
}

pub fn random(n: usize) -> Vec<u8> {
    let mut b = vec![0; n];
    openssl::rand::rand_bytes(&mut b).unwrap();
    b
}

/// How the test IdP encrypts: key transport (with its OAEP digest and MGF when named),
/// content encryption, and the RSA padding actually used.
#[derive(Clone, Copy)]
pub struct Spec<'a> {
    pub transport: &'a str,
    pub digest: Option<&'a str>,
    pub mgf: Option<&'a str>,
    pub content: &'a str,
    pub padding: Padding,
}

impl Spec<'_> {
    /// RSA-OAEP (`rsa-oaep-mgf1p`, SHA-1 defaults) around `content`, as most IdPs send.
    pub fn oaep(content: &str) -> Spec<'_> {
        Spec {
            transport: MGF1P,
            digest: None,
            mgf: None,
            content,
            padding: Padding::PKCS1_OAEP,
        }
    }
}

pub fn md_of(uri: Option<&str>, default: &'static MdRef) -> &'static MdRef {
    match uri {
        Some(SHA256) | Some(MGF1SHA256) => Md::sha256(),
        _ => default,
    }
}

/// Encrypts `plain` to `to` as `spec` says, as a `saml:EncryptedAssertion` (the content
/// key in the EncryptedData's KeyInfo; CBC with XML Encryption's random padding).
pub fn encrypt(plain: &str, to: &PKey<Private>, spec: &Spec<'_>) -> String {
    let gcm = spec.content.ends_with("gcm");
    let key_len = if spec.content.contains("256") { 32 } else { 16 };
    let cipher = match (key_len, gcm) {
        (16, false) => Cipher::aes_128_cbc(),
        (32, false) => Cipher::aes_256_cbc(),
        (16, true) => Cipher::aes_128_gcm(),
        _ => Cipher::aes_256_gcm(),
    };
    let content_key = random(key_len);
    let data = if gcm {
        let iv = random(12);
        let mut c = Crypter::new(cipher, Mode::Encrypt, &content_key, Some(&iv)).unwrap();
        let mut out = vec![0; plain.len() + 16];
        let n = c.update(plain.as_bytes(), &mut out).unwrap();
        let m = c.finalize(&mut out[n..]).unwrap();
        out.truncate(n + m);
        let mut tag = vec![0; 16];
        c.get_tag(&mut tag).unwrap();
        [iv, out, tag].concat()
    } else {
        let iv = random(16);
        let pad = 16 - plain.len() % 16;
        let mut padded = plain.as_bytes().to_vec();
        padded.extend(random(pad - 1));
        padded.push(pad as u8);
        let mut c = Crypter::new(cipher, Mode::Encrypt, &content_key, Some(&iv)).unwrap();
        c.pad(false);
        let mut out = vec![0; padded.len() + 16];
        let n = c.update(&padded, &mut out).unwrap();
        let m = c.finalize(&mut out[n..]).unwrap();
        out.truncate(n + m);
        [iv, out].concat()
    };
    let mut ctx = PkeyCtx::new(to).unwrap();
    ctx.encrypt_init().unwrap();
    ctx.set_rsa_padding(spec.padding).unwrap();
    if spec.padding == Padding::PKCS1_OAEP {
        ctx.set_rsa_oaep_md(md_of(spec.digest, Md::sha1())).unwrap();
        ctx.set_rsa_mgf1_md(md_of(spec.mgf, Md::sha1())).unwrap();
    }
    let mut wrapped = Vec::new();
    ctx.encrypt_to_vec(&content_key, &mut wrapped).unwrap();
    let digest = spec.digest.map_or(String::new(), |d| {
        format!(
            r#"<ds:DigestMethod xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Algorithm="{d}"/>"#
        )
    });
    let mgf = spec.mgf.map_or(String::new(), |m| {
        format!(r#"<xenc11:MGF xmlns:xenc11="http://www.w3.org/2009/xmlenc11#" Algorithm="{m}"/>"#)
    });
    format!(
        concat!(
            r#"<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">"#,
            r#"<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element">"#,
            r#"<xenc:EncryptionMethod Algorithm="{content}"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">"#,
            r#"<xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="{transport}">{digest}{mgf}</xenc:EncryptionMethod>"#,
            r#"<xenc:CipherData><xenc:CipherValue>{key}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>"#,
            r#"<xenc:CipherData><xenc:CipherValue>{data}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>"#,
        ),
        content = spec.content,
        transport = spec.transport,
        digest = digest,
        mgf = mgf,
        key = STANDARD.encode(wrapped),
        data = STANDARD.encode(data),
    )
}

/// The bytes of the last `CipherValue` in `xml` (the content's, in [`encrypt`]'s
/// output), changed by `change`.
pub fn with_content_ciphertext(xml: &str, change: impl FnOnce(&mut Vec<u8>)) -> String {
    let start = xml.rfind("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len();
    let end = xml[start..].find('<').unwrap() + start;
    let mut bytes = STANDARD.decode(&xml[start..end]).unwrap();
    change(&mut bytes);
    format!("{}{}{}", &xml[..start], STANDARD.encode(bytes), &xml[end..])
}

/// Signs the first signature template in `xml` with `key` (xmlsec through samael).
pub fn sign(xml: &str, key: &Key) -> String {
    let der = key.key.private_key_to_der().unwrap();
    let signed = Crypto::sign_xml(xml, &der).unwrap();
    strip_declaration(&signed)
}

pub fn strip_declaration(xml: &str) -> String {
    let xml = xml.trim();
    match xml.strip_prefix("<?xml") {
        Some(rest) => rest[rest.find("?>").unwrap() + 2..].trim().to_owned(),
        None => xml.to_owned(),
    }
}

pub fn b64(xml: &str) -> String {
    STANDARD.encode(xml)
}

/// The query parameters of a raw query (or URL), exactly as sent, in order.
pub fn raw_params(url_or_query: &str) -> Vec<(String, String)> {
    let query = url_or_query
        .split_once('?')
        .map_or(url_or_query, |(_, q)| q);
    query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

pub fn raw<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    &params.iter().find(|(k, _)| k == name).unwrap().1
}

pub fn names(params: &[(String, String)]) -> Vec<&str> {
    params.iter().map(|(k, _)| k.as_str()).collect()
}

/// A URL-encoded value, decoded.
pub fn decoded(raw: &str) -> String {
    url::form_urlencoded::parse(format!("v={raw}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned()
}
