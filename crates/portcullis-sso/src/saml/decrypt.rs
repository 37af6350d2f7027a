//! Decrypting an `EncryptedAssertion` (XML Encryption 1.1) with the SP's encryption keys,
//! through OpenSSL: the content key is transported with RSA-OAEP (SHA-1 to SHA-512
//! digests, MGF1 with SHA-1 to SHA-512), the assertion encrypted with AES-128 or AES-256
//! in CBC or GCM mode, the algorithms Okta, Entra ID, Keycloak and pysaml2 send.
//!
//! Refused by name: RSA PKCS#1 v1.5 key transport (Bleichenbacher's padding oracle) and
//! every other content algorithm (3DES among them). Every failure to decrypt — another
//! SP key, a broken OAEP or CBC padding, a GCM tag that does not verify, a key of the wrong
//! length, a plaintext that is not an assertion — is the same [`SamlRejection::Undecryptable`],
//! so an answer never tells a padding error from any other (no oracle).
//!
//! The ACS calls it through `verify` after checking the Response's signature, when
//! there is one, and verifies the decrypted assertion like any other.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use openssl::md::{Md, MdRef};
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode};
use roxmltree::{Document, Node};

use super::SamlRejection;

const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const XENC11: &str = "http://www.w3.org/2009/xmlenc11#";
const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

/// The largest ciphertext decrypted, in bytes (base64-decoded); an assertion is a few
/// kilobytes, and a response is capped well below this before it is decoded.
pub const MAX_CIPHERTEXT: usize = 256 * 1024;

/// At most this many `EncryptedKey` elements are tried, each with each SP key.
const MAX_ENCRYPTED_KEYS: usize = 4;

/// How the content key travels: RSA-OAEP with these digests.
struct Oaep {
    digest: &'static MdRef,
    mgf: &'static MdRef,
}

/// How the assertion is encrypted.
#[derive(Clone, Copy)]
enum Content {
    Cbc(fn() -> Cipher, usize),
    Gcm(fn() -> Cipher, usize),
}

fn refused(algorithm: &str) -> SamlRejection {
    SamlRejection::EncryptionAlgorithmRefused(algorithm.chars().take(100).collect())
}

fn digest(uri: &str) -> Result<&'static MdRef, SamlRejection> {
    Ok(match uri {
        "http://www.w3.org/2000/09/xmldsig#sha1" => Md::sha1(),
        "http://www.w3.org/2001/04/xmlenc#sha256" => Md::sha256(),
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => Md::sha384(),
        "http://www.w3.org/2001/04/xmlenc#sha512" => Md::sha512(),
        other => return Err(refused(other)),
    })
}

fn mgf(uri: &str) -> Result<&'static MdRef, SamlRejection> {
    Ok(match uri.strip_prefix(XENC11) {
        Some("mgf1sha1") => Md::sha1(),
        Some("mgf1sha224") => Md::sha224(),
        Some("mgf1sha256") => Md::sha256(),
        Some("mgf1sha384") => Md::sha384(),
        Some("mgf1sha512") => Md::sha512(),
        _ => return Err(refused(uri)),
    })
}

fn content(uri: &str) -> Result<Content, SamlRejection> {
    Ok(match uri {
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => Content::Cbc(Cipher::aes_128_cbc, 16),
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => Content::Cbc(Cipher::aes_256_cbc, 32),
        "http://www.w3.org/2009/xmlenc11#aes128-gcm" => Content::Gcm(Cipher::aes_128_gcm, 16),
        "http://www.w3.org/2009/xmlenc11#aes256-gcm" => Content::Gcm(Cipher::aes_256_gcm, 32),
        other => return Err(refused(other)),
    })
}

fn child<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| {
        c.is_element() && c.tag_name().namespace() == Some(ns) && c.tag_name().name() == name
    })
}

fn algorithm<'a>(node: Node<'a, '_>) -> Result<&'a str, SamlRejection> {
    child(node, XENC, "EncryptionMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .ok_or_else(|| SamlRejection::Malformed("an encryption method is missing".into()))
}

fn cipher_value(node: Node<'_, '_>) -> Result<Vec<u8>, SamlRejection> {
    let text: String = child(node, XENC, "CipherData")
        .and_then(|d| child(d, XENC, "CipherValue"))
        .and_then(|v| v.text())
        .ok_or_else(|| SamlRejection::Malformed("a cipher value is missing".into()))?
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if text.len() > MAX_CIPHERTEXT / 3 * 4 + 4 {
        return Err(SamlRejection::TooLarge {
            limit: MAX_CIPHERTEXT,
        });
    }
    STANDARD
        .decode(text)
        .map_err(|_| SamlRejection::Malformed("a cipher value is not base64".into()))
}

/// The key transport an `EncryptedKey` names (RSA-OAEP only).
fn oaep(encrypted_key: Node<'_, '_>) -> Result<Oaep, SamlRejection> {
    let method = child(encrypted_key, XENC, "EncryptionMethod")
        .ok_or_else(|| SamlRejection::Malformed("an encryption method is missing".into()))?;
    let uri = method.attribute("Algorithm").unwrap_or_default();
    let digest_of = |m: Node<'_, '_>| match child(m, DSIG, "DigestMethod") {
        Some(d) => digest(d.attribute("Algorithm").unwrap_or_default()),
        None => Ok(Md::sha1()),
    };
    match uri.strip_prefix(XENC) {
        Some("rsa-oaep-mgf1p") => Ok(Oaep {
            digest: digest_of(method)?,
            mgf: Md::sha1(),
        }),
        _ if uri == format!("{XENC11}rsa-oaep") => Ok(Oaep {
            digest: digest_of(method)?,
            mgf: match child(method, XENC11, "MGF") {
                Some(m) => mgf(m.attribute("Algorithm").unwrap_or_default())?,
                None => Md::sha1(),
            },
        }),
        // PKCS#1 v1.5 (`rsa-1_5`) and anything else.
        _ => Err(refused(uri)),
    }
}

/// The content key: `None` for any failure, all alike.
fn unwrap_key(key: &PKey<Private>, how: &Oaep, wrapped: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut ctx = PkeyCtx::new(key).ok()?;
    ctx.decrypt_init().ok()?;
    ctx.set_rsa_padding(Padding::PKCS1_OAEP).ok()?;
    ctx.set_rsa_oaep_md(how.digest).ok()?;
    ctx.set_rsa_mgf1_md(how.mgf).ok()?;
    let mut out = Vec::new();
    ctx.decrypt_to_vec(wrapped, &mut out).ok()?;
    (out.len() == len).then_some(out)
}

/// The plaintext: `None` for any failure, all alike.
fn decrypt_content(how: Content, key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    match how {
        Content::Cbc(cipher, _) => {
            // IV, then whole blocks; XML Encryption's padding: the last byte says how many
            // bytes (1 to 16) to drop, whatever they hold (ISO 10126).
            if data.len() < 32 || !data.len().is_multiple_of(16) {
                return None;
            }
            let (iv, body) = data.split_at(16);
            let mut crypter = Crypter::new(cipher(), Mode::Decrypt, key, Some(iv)).ok()?;
            crypter.pad(false);
            let mut out = vec![0; body.len() + 16];
            let n = crypter.update(body, &mut out).ok()?;
            let m = crypter.finalize(&mut out[n..]).ok()?;
            out.truncate(n + m);
            let pad = usize::from(*out.last()?);
            if !(1..=16).contains(&pad) || pad > out.len() {
                return None;
            }
            out.truncate(out.len() - pad);
            Some(out)
        }
        Content::Gcm(cipher, _) => {
            // 12-byte IV, ciphertext, 16-byte tag.
            if data.len() < 12 + 16 {
                return None;
            }
            let (iv, rest) = data.split_at(12);
            let (body, tag) = rest.split_at(rest.len() - 16);
            let mut crypter = Crypter::new(cipher(), Mode::Decrypt, key, Some(iv)).ok()?;
            crypter.pad(false);
            let mut out = vec![0; body.len() + 16];
            let n = crypter.update(body, &mut out).ok()?;
            crypter.set_tag(tag).ok()?;
            let m = crypter.finalize(&mut out[n..]).ok()?;
            out.truncate(n + m);
            Some(out)
        }
    }
}

/// The assertion inside `encrypted_assertion` (the XML of a `saml:EncryptedAssertion`
/// element), decrypted with whichever of `keys` (the SP's current and previous encryption
/// keys) its content key was encrypted to. The assertion is returned as text, to be
/// verified like any other: decrypting proves nothing about who wrote it.
pub fn decrypt_assertion(
    encrypted_assertion: &str,
    keys: &[PKey<Private>],
) -> Result<String, SamlRejection> {
    let doc = Document::parse(encrypted_assertion).map_err(|e| match e {
        roxmltree::Error::DtdDetected => SamlRejection::DoctypeRefused,
        other => SamlRejection::Malformed(other.to_string()),
    })?;
    decrypt_element(doc.root_element(), keys)
}

/// [`decrypt_assertion`] for an `EncryptedAssertion` element of a parsed response.
pub(crate) fn decrypt_element(
    root: Node<'_, '_>,
    keys: &[PKey<Private>],
) -> Result<String, SamlRejection> {
    if root.tag_name().namespace() != Some(SAML) || root.tag_name().name() != "EncryptedAssertion" {
        return Err(SamlRejection::Malformed("not an EncryptedAssertion".into()));
    }
    let data = child(root, XENC, "EncryptedData")
        .ok_or_else(|| SamlRejection::Malformed("no EncryptedData".into()))?;
    let how = content(algorithm(data)?)?;
    let key_len = match how {
        Content::Cbc(_, len) | Content::Gcm(_, len) => len,
    };
    let ciphertext = cipher_value(data)?;
    // The content key travels in the EncryptedData's KeyInfo, or beside it (Entra ID).
    let wrapped: Vec<Node<'_, '_>> = root
        .descendants()
        .filter(|n| {
            n.is_element()
                && n.tag_name().namespace() == Some(XENC)
                && n.tag_name().name() == "EncryptedKey"
        })
        .take(MAX_ENCRYPTED_KEYS + 1)
        .collect();
    if wrapped.is_empty() || wrapped.len() > MAX_ENCRYPTED_KEYS {
        return Err(SamlRejection::Malformed(
            "an encrypted assertion needs one to four EncryptedKey elements".into(),
        ));
    }
    let transports = wrapped
        .iter()
        .map(|k| Ok((oaep(*k)?, cipher_value(*k)?)))
        .collect::<Result<Vec<_>, SamlRejection>>()?;
    let plaintext = transports
        .iter()
        .flat_map(|(how_key, value)| keys.iter().map(move |k| (k, how_key, value)))
        .find_map(|(key, how_key, value)| {
            let content_key = unwrap_key(key, how_key, value, key_len)?;
            decrypt_content(how, &content_key, &ciphertext)
        })
        .ok_or(SamlRejection::Undecryptable)?;
    let text = String::from_utf8(plaintext).map_err(|_| SamlRejection::Undecryptable)?;
    let inner = Document::parse(&text).map_err(|_| SamlRejection::Undecryptable)?;
    let element = inner.root_element();
    if element.tag_name().namespace() != Some(SAML) || element.tag_name().name() != "Assertion" {
        return Err(SamlRejection::Undecryptable);
    }
    Ok(text)
}
