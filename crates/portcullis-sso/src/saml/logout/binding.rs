//! Receiving a logout message on the HTTP-Redirect binding (SAML bindings §3.4): the raw
//! query is split into parameters, the query signature is verified over the octets as
//! received, and only then is the message decoded (base64, a capped raw inflate, UTF-8)
//! and screened.

use std::io::Read as _;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use flate2::read::DeflateDecoder;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Public};
use openssl::sign::Verifier;
use portcullis_domain::SamlSettings;
use samael::crypto::AllowedSignatureAlgorithm;

use super::super::guard::{screen, MAX_DECODED_RESPONSE, MAX_ENCODED_RESPONSE};
use super::super::sp::{normalize_certificate, ALLOWED_ALGORITHMS};
use super::super::SamlRejection;

/// Which message the SLO URL expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Message {
    /// `SAMLRequest`: an IdP-initiated `LogoutRequest`.
    Request,
    /// `SAMLResponse`: the IdP's `LogoutResponse`.
    Response,
}

impl Message {
    fn parameter(self) -> &'static str {
        match self {
            Self::Request => "SAMLRequest",
            Self::Response => "SAMLResponse",
        }
    }

    fn other(self) -> Self {
        match self {
            Self::Request => Self::Response,
            Self::Response => Self::Request,
        }
    }
}

/// A message whose query signature verified, decoded and screened.
#[derive(Debug)]
pub(super) struct Received {
    /// The XML, not yet parsed.
    pub xml: String,
    /// The `RelayState`, percent-decoded.
    pub relay_state: Option<String>,
}

/// One query parameter: its decoded name and its value exactly as received.
struct Parameter<'q> {
    name: String,
    raw: &'q str,
}

/// Checks the query signature of `raw_query` with the IdP's certificates, then decodes
/// the `message` parameter.
pub(super) fn receive(
    settings: &SamlSettings,
    raw_query: &str,
    message: Message,
) -> Result<Received, SamlRejection> {
    if raw_query.len() > MAX_ENCODED_RESPONSE {
        return Err(SamlRejection::TooLarge {
            limit: MAX_ENCODED_RESPONSE,
        });
    }
    let parameters = split(raw_query)?;
    let raw = |name: &str| parameters.iter().find(|p| p.name == name).map(|p| p.raw);
    let encoded =
        raw(message.parameter()).ok_or(SamlRejection::MissingParameter(message.parameter()))?;
    if raw(message.other().parameter()).is_some() {
        return Err(SamlRejection::Malformed(
            "both SAMLRequest and SAMLResponse".into(),
        ));
    }
    let relay_state = raw("RelayState");

    // The signature first: nothing of an unauthenticated message is inflated or parsed.
    let signature = raw("Signature").ok_or(SamlRejection::Unsigned)?;
    let sig_alg =
        raw("SigAlg").ok_or_else(|| SamlRejection::Malformed("Signature without SigAlg".into()))?;
    let (digest, key_type) = algorithm(&decode(sig_alg)?)?;
    let mut octets = format!("{}={encoded}", message.parameter());
    if let Some(relay_state) = relay_state {
        octets.push_str(&format!("&RelayState={relay_state}"));
    }
    octets.push_str(&format!("&SigAlg={sig_alg}"));
    let signature = STANDARD
        .decode(decode(signature)?)
        .map_err(|_| SamlRejection::Malformed("Signature is not base64".into()))?;
    let keys = idp_keys(settings)?;
    if !keys
        .iter()
        .filter(|key| key.id() == key_type)
        .any(|key| verifies(key, digest, octets.as_bytes(), &signature))
    {
        return Err(SamlRejection::BadSignature);
    }

    let deflated = STANDARD
        .decode(decode(encoded)?)
        .map_err(|_| SamlRejection::Malformed("not base64".into()))?;
    let xml = String::from_utf8(inflate(&deflated)?)
        .map_err(|_| SamlRejection::Malformed("not UTF-8".into()))?;
    screen(&xml)?;
    Ok(Received {
        xml,
        relay_state: relay_state.map(decode).transpose()?,
    })
}

/// Splits a raw query at `&` and each pair at its first `=`, keeping values as received.
/// A parameter named twice is refused: which of the two the signature covers and which
/// one is read must never differ.
fn split(raw_query: &str) -> Result<Vec<Parameter<'_>>, SamlRejection> {
    let mut parameters: Vec<Parameter<'_>> = Vec::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(name)?;
        if parameters.iter().any(|p| p.name == name) {
            return Err(SamlRejection::DuplicateParameter(name));
        }
        parameters.push(Parameter { name, raw });
    }
    Ok(parameters)
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte, and the
/// bytes must be UTF-8. A broken escape is refused rather than kept as text.
fn decode(raw: &str) -> Result<String, SamlRejection> {
    let broken = || SamlRejection::Malformed("invalid percent-encoding".into());
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw.bytes();
    while let Some(b) = rest.next() {
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = rest.next().and_then(hex_digit).ok_or_else(broken)?;
                let low = rest.next().and_then(hex_digit).ok_or_else(broken)?;
                bytes.push(high << 4 | low);
            }
            b => bytes.push(b),
        }
    }
    String::from_utf8(bytes).map_err(|_| SamlRejection::Malformed("not UTF-8".into()))
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The digest and key type of an allowed `SigAlg`; anything else (SHA-1 above all) is a
/// [`SamlRejection::WeakAlgorithm`].
fn algorithm(sig_alg: &str) -> Result<(MessageDigest, Id), SamlRejection> {
    use AllowedSignatureAlgorithm as A;
    let weak = || SamlRejection::WeakAlgorithm(sig_alg.to_owned());
    let allowed = ALLOWED_ALGORITHMS
        .iter()
        .find(|a| a.signature_uri() == sig_alg)
        .ok_or_else(weak)?;
    Ok(match allowed {
        A::RsaSha256 => (MessageDigest::sha256(), Id::RSA),
        A::RsaSha384 => (MessageDigest::sha384(), Id::RSA),
        A::RsaSha512 => (MessageDigest::sha512(), Id::RSA),
        A::EcdsaSha256 => (MessageDigest::sha256(), Id::EC),
        A::EcdsaSha384 => (MessageDigest::sha384(), Id::EC),
        A::EcdsaSha512 => (MessageDigest::sha512(), Id::EC),
        _ => return Err(weak()),
    })
}

/// The public keys of the IdP's signing certificates. Without one nothing can verify.
fn idp_keys(settings: &SamlSettings) -> Result<Vec<PKey<Public>>, SamlRejection> {
    let keys = settings
        .signing_certificates
        .iter()
        .filter(|c| !c.trim().is_empty())
        .map(|c| {
            let der = normalize_certificate(c)
                .ok()
                .and_then(|b64| STANDARD.decode(b64).ok())?;
            openssl::x509::X509::from_der(&der).ok()?.public_key().ok()
        })
        .collect::<Option<Vec<_>>>()
        .ok_or(SamlRejection::MissingCertificate)?;
    if keys.is_empty() {
        return Err(SamlRejection::MissingCertificate);
    }
    Ok(keys)
}

/// Whether `signature` over `octets` verifies with `key`. An ECDSA signature may come as
/// DER (OpenSSL, samael) or as the fixed-size `r || s` that XML Signature defines for the
/// `ecdsa-sha*` URIs (RFC 4051 §3.3, Java IdPs); both are tried.
fn verifies(key: &PKey<Public>, digest: MessageDigest, octets: &[u8], signature: &[u8]) -> bool {
    let check = |signature: &[u8]| {
        Verifier::new(digest, key)
            .and_then(|mut verifier| {
                verifier.update(octets)?;
                verifier.verify(signature)
            })
            .unwrap_or(false)
    };
    if check(signature) {
        return true;
    }
    key.id() == Id::EC && ecdsa_der(key, signature).is_some_and(|der| check(&der))
}

/// A fixed-size `r || s` ECDSA signature for `key`'s curve, as DER.
fn ecdsa_der(key: &PKey<Public>, signature: &[u8]) -> Option<Vec<u8>> {
    let ec = key.ec_key().ok()?;
    let mut order = BigNum::new().ok()?;
    let mut context = BigNumContext::new().ok()?;
    ec.group().order(&mut order, &mut context).ok()?;
    let size = usize::try_from(order.num_bytes()).ok()?;
    if signature.len() != 2 * size {
        return None;
    }
    let (r, s) = signature.split_at(size);
    let r = BigNum::from_slice(r).ok()?;
    let s = BigNum::from_slice(s).ok()?;
    EcdsaSig::from_private_components(r, s).ok()?.to_der().ok()
}

/// Inflates raw DEFLATE, refusing output over [`MAX_DECODED_RESPONSE`] without ever
/// holding more than one byte beyond it: a deflate bomb stops at the cap.
fn inflate(deflated: &[u8]) -> Result<Vec<u8>, SamlRejection> {
    let cap = MAX_DECODED_RESPONSE + 1;
    let mut inflated = Vec::new();
    DeflateDecoder::new(deflated)
        .take(u64::try_from(cap).unwrap_or(u64::MAX))
        .read_to_end(&mut inflated)
        .map_err(|_| SamlRejection::Malformed("not DEFLATE".into()))?;
    if inflated.len() > MAX_DECODED_RESPONSE {
        return Err(SamlRejection::TooLarge {
            limit: MAX_DECODED_RESPONSE,
        });
    }
    Ok(inflated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        let check = |raw: &str, expected: Option<&str>| {
            assert_eq!(decode(raw).ok().as_deref(), expected, "{raw:?}");
        };
        check("abc", Some("abc"));
        check("a+b", Some("a b"));
        check("a%2Bb%2b", Some("a+b+"));
        check("%C3%A9", Some("é"));
        check("%", None);
        check("%4", None);
        check("%zz", None);
        // `u8::from_str_radix` would take `+1` as a number; a broken escape it is.
        check("%+1", None);
        check("%FF", None);
    }

    #[test]
    fn splitting_keeps_raw_values_and_refuses_duplicates() {
        let parameters = split("a=1%2B&&b&c=x=y&").unwrap();
        let pairs: Vec<_> = parameters
            .iter()
            .map(|p| (p.name.as_str(), p.raw))
            .collect();
        assert_eq!(pairs, [("a", "1%2B"), ("b", ""), ("c", "x=y")]);
        assert_eq!(
            split("SigAlg=x&Signature=y&SigAlg=x").err(),
            Some(SamlRejection::DuplicateParameter("SigAlg".into()))
        );
        // The same name spelled with an escape is the same parameter.
        assert_eq!(
            split("RelayState=a&Relay%53tate=b").err(),
            Some(SamlRejection::DuplicateParameter("RelayState".into()))
        );
    }

    #[test]
    fn inflating_is_capped() {
        use std::io::Write as _;
        let deflate = |data: &[u8]| {
            let mut encoder =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            encoder.write_all(data).unwrap();
            encoder.finish().unwrap()
        };
        assert_eq!(inflate(&deflate(b"<a/>")).unwrap(), b"<a/>");
        let at_cap = vec![b' '; MAX_DECODED_RESPONSE];
        assert_eq!(
            inflate(&deflate(&at_cap)).unwrap().len(),
            MAX_DECODED_RESPONSE
        );
        // 64 MiB of spaces deflate to about 64 KiB.
        let bomb = deflate(&vec![b' '; 64 << 20]);
        assert!(bomb.len() < MAX_ENCODED_RESPONSE);
        assert_eq!(
            inflate(&bomb),
            Err(SamlRejection::TooLarge {
                limit: MAX_DECODED_RESPONSE
            })
        );
        assert!(matches!(
            inflate(b"not deflate at all"),
            Err(SamlRejection::Malformed(_))
        ));
    }
}
