//! Encrypted assertions made here with OpenSSL as an IdP makes them, then decrypted; and
//! every refusal, including that a broken padding answers like another key.

use std::sync::OnceLock;

use openssl::rsa::Rsa;

use super::*;

const ASSERTION: &str = r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" IssueInstant="2026-12-06T00:00:00Z"><saml:Issuer>https://idp.example.test</saml:Issuer></saml:Assertion>"#;

const MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const OAEP11: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const MGF1SHA256: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha256";
const CONTENTS: [&str; 4] = [
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
    "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    "http://www.w3.org/2009/xmlenc11#aes128-gcm",
    "http://www.w3.org/2009/xmlenc11#aes256-gcm",
];

fn keys() -> &'static (PKey<Private>, PKey<Private>) {
    static KEYS: OnceLock<(PKey<Private>, PKey<Private>)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = || PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        (key(), key())
    })
}

fn random(n: usize) -> Vec<u8> {
    let mut b = vec![0; n];
    openssl::rand::rand_bytes(&mut b).unwrap();
    b
}

/// How the test IdP encrypts.
struct Spec<'a> {
    transport: &'a str,
    digest: Option<&'a str>,
    mgf: Option<&'a str>,
    content: &'a str,
    padding: Padding,
}

impl Spec<'_> {
    fn oaep(content: &str) -> Spec<'_> {
        Spec {
            transport: MGF1P,
            digest: None,
            mgf: None,
            content,
            padding: Padding::PKCS1_OAEP,
        }
    }
}

fn md_of(uri: Option<&str>, default: &'static MdRef) -> &'static MdRef {
    match uri {
        Some(SHA256) | Some(MGF1SHA256) => Md::sha256(),
        _ => default,
    }
}

/// Encrypts `plain` to `to` as `spec` says, as a `saml:EncryptedAssertion`.
fn encrypt(plain: &str, to: &PKey<Private>, spec: &Spec<'_>) -> String {
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
        r#"<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="{content}"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="{transport}">{digest}{mgf}</xenc:EncryptionMethod><xenc:CipherData><xenc:CipherValue>{key}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{data}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>"#,
        content = spec.content,
        transport = spec.transport,
        key = STANDARD.encode(wrapped),
        data = STANDARD.encode(data),
    )
}

#[test]
fn every_offered_algorithm_decrypts() {
    let (sp, _) = keys();
    for content in CONTENTS {
        for (transport, digest, mgf) in [
            (MGF1P, None, None),
            (MGF1P, Some(SHA256), None),
            (OAEP11, Some(SHA256), Some(MGF1SHA256)),
            (OAEP11, None, None),
        ] {
            let spec = Spec {
                transport,
                digest,
                mgf,
                ..Spec::oaep(content)
            };
            let xml = encrypt(ASSERTION, sp, &spec);
            assert_eq!(
                decrypt_assertion(&xml, std::slice::from_ref(sp)).as_deref(),
                Ok(ASSERTION),
                "{content} {transport} {digest:?} {mgf:?}"
            );
        }
    }
}

#[test]
fn another_key_and_broken_paddings_and_tags_answer_alike() {
    let (sp, other) = keys();
    let cbc = encrypt(ASSERTION, sp, &Spec::oaep(CONTENTS[1]));
    let gcm = encrypt(ASSERTION, sp, &Spec::oaep(CONTENTS[3]));
    // Encrypted to another key.
    let foreign = decrypt_assertion(&cbc, std::slice::from_ref(other)).unwrap_err();
    assert_eq!(foreign, SamlRejection::Undecryptable);
    // During a rollover the previous key is tried too.
    assert!(decrypt_assertion(&cbc, &[other.clone(), sp.clone()]).is_ok());
    // The last ciphertext byte changed: the padding (or its length byte) breaks.
    let tamper = |xml: &str| {
        let start = xml.rfind("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len();
        let end = xml[start..].find('<').unwrap() + start;
        let mut bytes = STANDARD.decode(&xml[start..end]).unwrap();
        *bytes.last_mut().unwrap() ^= 0x5a;
        format!("{}{}{}", &xml[..start], STANDARD.encode(bytes), &xml[end..])
    };
    for broken in [tamper(&cbc), tamper(&gcm)] {
        let e = decrypt_assertion(&broken, std::slice::from_ref(sp)).unwrap_err();
        assert_eq!(e, foreign);
        assert_eq!(e.to_string(), foreign.to_string());
        assert_eq!(e.reason(), foreign.reason());
    }
    // A plaintext that is no assertion is no different.
    let not_an_assertion = encrypt("<x/>", sp, &Spec::oaep(CONTENTS[0]));
    assert_eq!(
        decrypt_assertion(&not_an_assertion, std::slice::from_ref(sp)),
        Err(SamlRejection::Undecryptable)
    );
}

#[test]
fn weak_and_unknown_algorithms_are_refused_by_name() {
    let (sp, _) = keys();
    let pkcs1 = Spec {
        transport: "http://www.w3.org/2001/04/xmlenc#rsa-1_5",
        padding: Padding::PKCS1,
        ..Spec::oaep(CONTENTS[0])
    };
    let xml = encrypt(ASSERTION, sp, &pkcs1);
    assert!(matches!(
        decrypt_assertion(&xml, std::slice::from_ref(sp)),
        Err(SamlRejection::EncryptionAlgorithmRefused(a)) if a.ends_with("rsa-1_5")
    ));
    let triple_des = encrypt(ASSERTION, sp, &Spec::oaep(CONTENTS[0])).replace(
        CONTENTS[0],
        "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
    );
    assert!(matches!(
        decrypt_assertion(&triple_des, std::slice::from_ref(sp)),
        Err(SamlRejection::EncryptionAlgorithmRefused(a)) if a.ends_with("tripledes-cbc")
    ));
    let md5 = Spec {
        digest: Some("http://www.w3.org/2001/04/xmldsig-more#md5"),
        ..Spec::oaep(CONTENTS[0])
    };
    let xml = encrypt(ASSERTION, sp, &md5);
    assert!(matches!(
        decrypt_assertion(&xml, std::slice::from_ref(sp)),
        Err(SamlRejection::EncryptionAlgorithmRefused(_))
    ));
}

#[test]
fn oversize_doctype_and_foreign_documents_are_refused() {
    let (sp, _) = keys();
    let xml = encrypt(ASSERTION, sp, &Spec::oaep(CONTENTS[0]));
    let start = xml.rfind("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len();
    let end = xml[start..].find('<').unwrap() + start;
    let huge = format!(
        "{}{}{}",
        &xml[..start],
        STANDARD.encode(vec![0u8; MAX_CIPHERTEXT + 16]),
        &xml[end..]
    );
    assert!(matches!(
        decrypt_assertion(&huge, std::slice::from_ref(sp)),
        Err(SamlRejection::TooLarge { .. })
    ));
    let doctype = format!("<!DOCTYPE x [<!ENTITY e \"e\">]>{xml}");
    assert_eq!(
        decrypt_assertion(&doctype, std::slice::from_ref(sp)),
        Err(SamlRejection::DoctypeRefused)
    );
    assert!(matches!(
        decrypt_assertion(ASSERTION, std::slice::from_ref(sp)),
        Err(SamlRejection::Malformed(_))
    ));
}
