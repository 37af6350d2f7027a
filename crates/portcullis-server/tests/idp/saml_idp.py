"""A tiny SAML 2.0 IdP on pysaml2 for Portcullis' end-to-end tests.

It signs with RSA-SHA256 and SHA-256 digests (pysaml2's default is SHA-1, which
Portcullis refuses), authenticates a configured test user without asking, and answers
with pysaml2's auto-submitting HTML form (HTTP-POST binding) to the SP's ACS. It
remembers every sign-in it issued (SP entity id, NameID, SessionIndex) for Single
Logout; every AuthnStatement carries a SessionIndex.

    python saml_idp.py --port P --entity-id URL --key key.pem --cert cert.pem \
        --sp-metadata sp.xml --email alice@example.test [--name "Alice"] \
        [--want-signed-requests] [--transient] [--sign-response] \
        [--encrypt {aes256-cbc,aes128-gcm}] [--encrypt-unsigned] [--verbose]

With --want-signed-requests the IdP refuses AuthnRequests that are not signed on the
HTTP-Redirect binding, or whose signature does not verify with a signing certificate
in the SP's metadata (pysaml2 rebuilds SAMLRequest=..&RelayState=..&SigAlg=.. and
checks the Signature parameter over it).

With --transient the NameID is a new transient value in every response instead of the
email address.

With --sign-response the Response element is signed too (the assertion always is).

With --encrypt ALG the assertion is signed, then encrypted into an EncryptedAssertion
for the encryption certificate in the SP's metadata (<md:KeyDescriptor
use="encryption">, or one without use): the key with
http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p (SHA-1 digest, MGF1 with SHA-1), the
assertion with http://www.w3.org/2001/04/xmlenc#aes256-cbc (aes256-cbc) or
http://www.w3.org/2009/xmlenc11#aes128-gcm (aes128-gcm). pysaml2 on its own would use
3DES. The EncryptedKey sits inside the EncryptedData's ds:KeyInfo. If the SP publishes
no encryption certificate the IdP answers HTTP 500 rather than send the assertion in
the clear. With --encrypt-unsigned (negative tests) the assertion is NOT signed and
neither is the Response, but it is encrypted all the same (with --encrypt's algorithm,
aes256-cbc without it); it cannot be combined with --sign-response.

Single Logout, HTTP-Redirect binding both ways, query signatures RSA-SHA256 (the SP's
signing certificate is the one of its metadata's <md:KeyDescriptor use="signing">, its
SLO URL the HTTP-Redirect <md:SingleLogoutService> of its metadata):

- SP-initiated: GET /slo with a SAMLRequest. The query signature must verify over the
  octets SAMLRequest=..[&RelayState=..]&SigAlg=.. exactly as they appear in the query
  (SAML bindings 3.4.4.1; SigAlg RSA-SHA256, -384 or -512), the LogoutRequest must
  carry Destination = {base}/slo; else HTTP 400 with a message. The remembered sessions
  of that SP and NameID (and NameID Format, when given) end, only those of the
  SessionIndex values when the request names any (none matching is no error), and the
  IdP answers 302 to the SP's SLO URL with a Success
  LogoutResponse (Destination, InResponseTo; no XML signature) as SAMLResponse, the
  RelayState echoed, SigAlg and Signature.
- IdP-initiated: GET /idp-logout?sp=.. sends a LogoutRequest (Issuer, Destination = SP
  SLO URL, NameID with its Format, SessionIndex; no XML signature) for the most recent
  remembered session with that SP: 302 to the SP's SLO URL with SAMLRequest, SigAlg and
  Signature (no Signature with unsigned=1; RelayState only with relay_state=..). The
  SP's LogoutResponse comes back to GET /slo with a SAMLResponse: its query signature
  must verify, its Issuer be that SP, its InResponseTo the request sent (each request
  is answered once), its Destination {base}/slo; else HTTP 400. The page (HTTP 200)
  says "IdP logout finished: <top-level status code URI>"; on Success the session
  ends.

Refusals answer HTTP 400 with "IdP refused: <why>", other failures HTTP 500 with
"IdP error: <exception>" (text/plain).

Routes:
    GET /sso?SAMLRequest=...&RelayState=...   SP-initiated (HTTP-Redirect binding in)
    GET /idp-initiated?sp=<SP entity id>      an unsolicited response (IdP-initiated)
    GET /slo?SAMLRequest=...&RelayState=...&SigAlg=...&Signature=...
                                              SP-initiated logout (302 to the SP)
    GET /slo?SAMLResponse=...&SigAlg=...&Signature=...
                                              the SP's answer to /idp-logout
    GET /idp-logout?sp=<SP entity id>[&unsigned=1][&relay_state=...]
                                              IdP-initiated logout (302 to the SP)
    GET /sessions                             remembered live sessions, JSON:
                                              [{"sp", "name_id", "session_index"}]
    GET /metadata                             this IdP's metadata (SSO and SLO)
    GET /health                               "ok"
"""

import argparse
import base64
import binascii
import html
import json
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlparse

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.response import StatusError
from saml2.s_utils import UnsupportedBinding, sid
from saml2.saml import (
    NAME_FORMAT_URI,
    NAMEID_FORMAT_EMAILADDRESS,
    NAMEID_FORMAT_TRANSIENT,
    Assertion,
    NameID,
)
from saml2.server import Server
from saml2.sigver import (
    RSA_OAEP_MGF1P,
    SIGNER_ALGS,
    extract_rsa_key_from_x509_cert,
    get_pem_wrapped_unwrapped,
    make_temp,
    pem_format,
    pre_encryption_part,
)
from saml2.xmldsig import (
    DIGEST_SHA256,
    SIG_RSA_SHA256,
    SIG_RSA_SHA384,
    SIG_RSA_SHA512,
)

PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"

# --encrypt: the EncryptedData's algorithm and xmlsec1's --session-key for it.
CONTENT_ENCRYPTION = {
    "aes256-cbc": ("http://www.w3.org/2001/04/xmlenc#aes256-cbc", "aes-256"),
    "aes128-gcm": ("http://www.w3.org/2009/xmlenc11#aes128-gcm", "aes-128"),
}

# Query signatures accepted from the SP (never SHA-1).
QUERY_SIGNATURE_ALGORITHMS = (SIG_RSA_SHA256, SIG_RSA_SHA384, SIG_RSA_SHA512)


class Refused(Exception):
    """A message the IdP refuses: HTTP 400 with this message."""


class TestIdp(Server):
    """pysaml2's Server, encrypting with the chosen algorithms and remembering the
    SessionIndex of the assertion it builds."""

    def __init__(self, config, content_encryption):
        super().__init__(config=config)
        self.content_encryption = content_encryption
        self.local = threading.local()

    def setup_assertion(self, *args, **kwargs):
        assertion = super().setup_assertion(*args, **kwargs)
        if isinstance(assertion, Assertion):
            for statement in assertion.authn_statement:
                if not statement.session_index:
                    statement.session_index = sid()
            self.local.assertion = assertion
        return assertion

    def take_session_index(self):
        """The SessionIndex of the assertion this thread built last, or None (pysaml2
        answered with an error Response)."""
        assertion = getattr(self.local, "assertion", None)
        self.local.assertion = None
        if assertion is None or not assertion.authn_statement:
            return None
        return assertion.authn_statement[0].session_index

    def _encrypt_assertion(self, encrypt_cert, sp_entity_id, response, node_xpath=None):
        # pysaml2's own takes pre_encryption_part's default (3DES) and xmlsec1's
        # --session-key des-192; the same steps with the algorithms chosen here.
        algorithm, session_key = CONTENT_ENCRYPTION[self.content_encryption]
        if encrypt_cert:
            certs = [(None, encrypt_cert)]
        else:
            certs = self.metadata.certs(sp_entity_id, "any", "encryption")
        if not certs:
            raise RuntimeError(f"no encryption certificate for {sp_entity_id}")
        cert_name, cert = certs[0]
        wrapped, unwrapped = get_pem_wrapped_unwrapped(cert)
        cert_file = make_temp(
            wrapped.encode("ascii"), decode=False, delete_tmpfiles=self.config.delete_tmpfiles
        )
        template = pre_encryption_part(
            msg_enc=algorithm,
            key_enc=RSA_OAEP_MGF1P,
            key_name=cert_name,
            encrypt_cert=unwrapped,
        )
        return self.sec.encrypt_assertion(
            response, cert_file.name, template, key_type=session_key, node_xpath=node_xpath
        )


class Sessions:
    """The sign-ins issued, and the IdP-initiated LogoutRequests awaiting an answer."""

    def __init__(self):
        self.lock = threading.Lock()
        self.live = []
        self.pending = {}

    def add(self, sp, name_id, session_index):
        with self.lock:
            self.live.append(
                {
                    "sp": sp,
                    "name_id": name_id.text,
                    "format": name_id.format,
                    "session_index": session_index,
                }
            )

    def listing(self):
        with self.lock:
            return [
                {"sp": s["sp"], "name_id": s["name_id"], "session_index": s["session_index"]}
                for s in self.live
            ]

    def latest(self, sp):
        with self.lock:
            for session in reversed(self.live):
                if session["sp"] == sp:
                    return dict(session)
        return None

    def end(self, sp, name_id, name_id_format, session_indexes):
        """Ends the sessions of `sp` and `name_id` (of those SessionIndex values when
        any are given); returns how many ended."""

        def matches(s):
            return (
                s["sp"] == sp
                and s["name_id"] == name_id
                and (not name_id_format or s["format"] == name_id_format)
                and (not session_indexes or s["session_index"] in session_indexes)
            )

        with self.lock:
            before = len(self.live)
            self.live = [s for s in self.live if not matches(s)]
            return before - len(self.live)

    def expect_answer(self, request_id, session):
        with self.lock:
            self.pending[request_id] = session

    def answered(self, request_id):
        with self.lock:
            return self.pending.pop(request_id, None)


def build_server(args):
    base = f"http://127.0.0.1:{args.port}"
    config = IdPConfig()
    config.load(
        {
            "entityid": args.entity_id,
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(f"{base}/sso", BINDING_HTTP_REDIRECT)],
                        "single_logout_service": [(f"{base}/slo", BINDING_HTTP_REDIRECT)],
                    },
                    "name_id_format": [
                        NAMEID_FORMAT_TRANSIENT if args.transient else NAMEID_FORMAT_EMAILADDRESS
                    ],
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 5},
                            "name_form": NAME_FORMAT_URI,
                            "attribute_restrictions": None,
                        }
                    },
                    "sign_response": False,
                    "sign_assertion": True,
                    "want_authn_requests_signed": args.want_signed_requests,
                }
            },
            "key_file": args.key,
            "cert_file": args.cert,
            "xmlsec_binary": args.xmlsec,
            "metadata": {"local": args.sp_metadata},
            "signing_algorithm": SIG_RSA_SHA256,
            "digest_algorithm": DIGEST_SHA256,
        }
    )
    return TestIdp(config, args.encrypt or "aes256-cbc")


def respond(idp, args, sessions, sp_entity_id, destination, in_response_to, relay_state):
    identity = {"mail": [args.email], "displayName": [args.name or args.email]}
    if args.transient:
        # A one-time value per response, as SAML Core §8.3.8 describes.
        name_id = NameID(format=NAMEID_FORMAT_TRANSIENT, text="_" + secrets.token_hex(16))
    else:
        name_id = NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=args.email)
    encrypt = bool(args.encrypt or args.encrypt_unsigned)
    if encrypt and not idp.has_encrypt_cert_in_metadata(sp_entity_id):
        # pysaml2 would silently send the assertion in the clear.
        raise RuntimeError(f"--encrypt, but the metadata of {sp_entity_id} has no encryption key")
    response = idp.create_authn_response(
        identity=identity,
        in_response_to=in_response_to,
        destination=destination,
        sp_entity_id=sp_entity_id,
        name_id=name_id,
        userid=args.email,
        authn={"class_ref": PASSWORD_PROTECTED},
        sign_response=args.sign_response,
        sign_assertion=not args.encrypt_unsigned,
        encrypt_assertion=encrypt,
        sign_alg=SIG_RSA_SHA256,
        digest_alg=DIGEST_SHA256,
    )
    session_index = idp.take_session_index()
    if session_index is not None:
        sessions.add(sp_entity_id, name_id, session_index)
    http_args = idp.apply_binding(
        BINDING_HTTP_POST, str(response), destination, relay_state, response=True
    )
    return http_args["data"]


def raw_query_parameters(raw_query):
    """The query's parameters with their values exactly as sent (still URL-encoded)."""
    parameters = {}
    for piece in raw_query.split("&"):
        name, _, value = piece.partition("=")
        if name in parameters:
            raise Refused(f"{name} appears twice in the query")
        parameters[name] = value
    return parameters


def verify_query_signature(raw_query, kind, certs):
    """Checks the HTTP-Redirect signature (SAML bindings 3.4.4.1) over
    `kind`=..[&RelayState=..]&SigAlg=.. as the octets appear in the query, with one of
    `certs` (pysaml2's (name, base64 DER) pairs)."""
    parameters = raw_query_parameters(raw_query)
    if "Signature" not in parameters or "SigAlg" not in parameters:
        raise Refused(f"{kind} is not signed (no SigAlg and Signature in the query)")
    sig_alg = unquote_plus(parameters["SigAlg"])
    if sig_alg not in QUERY_SIGNATURE_ALGORITHMS:
        raise Refused(f"SigAlg {sig_alg} refused (RSA-SHA256, -384 or -512 only)")
    try:
        signature = base64.b64decode(unquote_plus(parameters["Signature"]), validate=True)
    except binascii.Error:
        raise Refused("Signature is not base64")
    signed = "&".join(
        f"{name}={parameters[name]}" for name in (kind, "RelayState", "SigAlg") if name in parameters
    ).encode("ascii")
    if not certs:
        raise Refused("the SP's metadata has no signing certificate")
    signer = SIGNER_ALGS[sig_alg]
    for _, cert in certs:
        if signer.verify(signed, signature, extract_rsa_key_from_x509_cert(pem_format(cert))):
            return
    raise Refused(f"the {kind} signature does not verify with the SP's signing certificate")


def sp_slo_url(idp, sp):
    try:
        services = idp.metadata.single_logout_service(sp, BINDING_HTTP_REDIRECT, "spsso")
    except KeyError:
        raise Refused(f"unknown SP {sp}")
    except UnsupportedBinding:
        services = []
    if not services:
        raise Refused(f"the metadata of {sp} has no HTTP-Redirect SingleLogoutService")
    return services[0]["location"]


def signing_certs(idp, sp):
    try:
        return idp.metadata.certs(sp, "spsso", "signing")
    except KeyError:
        raise Refused(f"unknown SP {sp}")


def location_of(http_args):
    return dict(http_args["headers"])["Location"]


def sp_logout_request(idp, sessions, slo_url, raw_query, query, verbose):
    """SP-initiated logout: verifies the LogoutRequest, ends the sessions, and returns
    where to send the browser with the signed LogoutResponse."""
    try:
        request = idp.parse_logout_request(
            query["SAMLRequest"],
            BINDING_HTTP_REDIRECT,
            relay_state=query.get("RelayState"),
            sigalg=query.get("SigAlg"),
            signature=query.get("Signature"),
        )
    except Exception as e:
        raise Refused(f"LogoutRequest refused: {e!r}")
    if request is None or request.message is None:
        raise Refused("LogoutRequest refused: unreadable")
    message = request.message
    sp = request.sender()
    verify_query_signature(raw_query, "SAMLRequest", signing_certs(idp, sp))
    if message.destination != slo_url:
        raise Refused(f"LogoutRequest Destination {message.destination!r} is not {slo_url}")
    sp_slo_url(idp, sp)  # a clear refusal when the SP publishes none
    if message.name_id is None or not message.name_id.text:
        raise Refused("LogoutRequest without a NameID (EncryptedID is not supported)")
    session_indexes = [s.text.strip() for s in message.session_index if s.text]
    ended = sessions.end(
        sp, message.name_id.text.strip(), message.name_id.format, session_indexes
    )
    if verbose:
        sys.stderr.write(f"saml_idp: LogoutRequest from {sp} ended {ended} session(s)\n")
    response = idp.create_logout_response(message, [BINDING_HTTP_REDIRECT], sign=False)
    http_args = idp.apply_binding(
        BINDING_HTTP_REDIRECT,
        str(response),
        response.destination,
        query.get("RelayState", ""),
        response=True,
        sign=True,
        sigalg=SIG_RSA_SHA256,
    )
    return location_of(http_args)


def sp_logout_response(idp, sessions, slo_url, raw_query, query):
    """The SP's answer to an IdP-initiated LogoutRequest: the page's text."""
    try:
        xml = idp.unravel(query["SAMLResponse"], BINDING_HTTP_REDIRECT, "logout_response")
        message = samlp.logout_response_from_string(xml)
    except Exception as e:
        raise Refused(f"LogoutResponse unreadable: {e!r}")
    if message is None or message.issuer is None or not message.issuer.text:
        raise Refused("LogoutResponse without an Issuer")
    sp = message.issuer.text.strip()
    verify_query_signature(raw_query, "SAMLResponse", signing_certs(idp, sp))
    try:
        # Version, IssueInstant, an XML signature if any; a status other than Success
        # raises, and is reported below.
        idp.parse_logout_request_response(query["SAMLResponse"], BINDING_HTTP_REDIRECT)
    except StatusError:
        pass
    except Exception as e:
        raise Refused(f"LogoutResponse refused: {e!r}")
    if message.destination != slo_url:
        raise Refused(f"LogoutResponse Destination {message.destination!r} is not {slo_url}")
    session = sessions.answered(message.in_response_to)
    if session is None:
        raise Refused(f"LogoutResponse InResponseTo {message.in_response_to!r} answers no request")
    if session["sp"] != sp:
        raise Refused(f"LogoutResponse from {sp}, but the request went to {session['sp']}")
    if message.status is None or message.status.status_code is None:
        raise Refused("LogoutResponse without a status")
    status = message.status.status_code.value
    if status == samlp.STATUS_SUCCESS:
        sessions.end(sp, session["name_id"], session["format"], [session["session_index"]])
    return f"IdP logout finished: {status}"


def idp_logout(idp, sessions, query):
    """IdP-initiated logout: where to send the browser with the LogoutRequest."""
    sp = query.get("sp")
    if not sp:
        raise Refused("sp is missing")
    session = sessions.latest(sp)
    if session is None:
        raise Refused(f"no session with {sp}")
    destination = sp_slo_url(idp, sp)
    request_id, request = idp.create_logout_request(
        destination,
        sp,
        name_id=NameID(format=session["format"], text=session["name_id"]),
        session_indexes=[session["session_index"]],
        sign=False,
    )
    http_args = idp.apply_binding(
        BINDING_HTTP_REDIRECT,
        str(request),
        destination,
        query.get("relay_state", ""),
        response=False,
        sign=query.get("unsigned") != "1",
        sigalg=SIG_RSA_SHA256,
    )
    sessions.expect_answer(request_id, session)
    return location_of(http_args)


def make_handler(idp, args, sessions):
    slo_url = f"http://127.0.0.1:{args.port}/slo"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):  # quiet unless asked
            if args.verbose:
                sys.stderr.write(fmt % a + "\n")

        def send(self, status, body, content_type="text/html; charset=utf-8"):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def redirect(self, location):
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            try:
                if url.path == "/sso":
                    request = idp.parse_authn_request(
                        query["SAMLRequest"],
                        BINDING_HTTP_REDIRECT,
                        relay_state=query.get("RelayState"),
                        sigalg=query.get("SigAlg"),
                        signature=query.get("Signature"),
                    )
                    resp_args = idp.response_args(request.message, [BINDING_HTTP_POST])
                    self.send(
                        200,
                        respond(
                            idp,
                            args,
                            sessions,
                            resp_args["sp_entity_id"],
                            resp_args["destination"],
                            resp_args["in_response_to"],
                            query.get("RelayState", ""),
                        ),
                    )
                elif url.path == "/idp-initiated":
                    sp = query["sp"]
                    acs = idp.metadata.assertion_consumer_service(sp, BINDING_HTTP_POST)[0]
                    self.send(200, respond(idp, args, sessions, sp, acs["location"], None, ""))
                elif url.path == "/slo":
                    if "SAMLRequest" in query:
                        self.redirect(
                            sp_logout_request(idp, sessions, slo_url, url.query, query, args.verbose)
                        )
                    elif "SAMLResponse" in query:
                        page = sp_logout_response(idp, sessions, slo_url, url.query, query)
                        self.send(200, f"<!DOCTYPE html><p>{html.escape(page)}</p>\n")
                    else:
                        raise Refused("neither SAMLRequest nor SAMLResponse")
                elif url.path == "/idp-logout":
                    self.redirect(idp_logout(idp, sessions, query))
                elif url.path == "/sessions":
                    self.send(200, json.dumps(sessions.listing()), "application/json")
                elif url.path == "/metadata":
                    self.send(200, create_metadata_string(None, idp.config, 4, None, None, None, None, None).decode(), "application/samlmetadata+xml")
                elif url.path == "/health":
                    self.send(200, "ok", "text/plain")
                else:
                    self.send(404, "not found", "text/plain")
            except Refused as e:  # the test reads the message
                self.send(400, f"IdP refused: {e}", "text/plain")
            except Exception as e:  # the test reads the message
                self.send(500, f"IdP error: {e!r}", "text/plain")

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--entity-id", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--sp-metadata", action="append", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--name")
    parser.add_argument("--xmlsec", default="/usr/bin/xmlsec1")
    parser.add_argument("--want-signed-requests", action="store_true")
    parser.add_argument("--transient", action="store_true")
    parser.add_argument("--sign-response", action="store_true")
    parser.add_argument("--encrypt", choices=sorted(CONTENT_ENCRYPTION))
    parser.add_argument("--encrypt-unsigned", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if args.encrypt_unsigned and args.sign_response:
        parser.error("--encrypt-unsigned sends an unsigned Response; drop --sign-response")
    idp = build_server(args)
    sessions = Sessions()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(idp, args, sessions))
    print(f"saml_idp listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
