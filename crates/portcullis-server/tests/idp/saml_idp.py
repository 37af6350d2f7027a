"""A tiny SAML 2.0 IdP on pysaml2 for Portcullis' end-to-end tests.

It signs with RSA-SHA256 and SHA-256 digests (pysaml2's default is SHA-1, which
Portcullis refuses), authenticates a configured test user without asking, and answers
with pysaml2's auto-submitting HTML form (HTTP-POST binding) to the SP's ACS.

    python saml_idp.py --port P --entity-id URL --key key.pem --cert cert.pem \
        --sp-metadata sp.xml --email alice@example.test [--name "Alice"] \
        [--want-signed-requests]

With --want-signed-requests the IdP refuses AuthnRequests that are not signed on the
HTTP-Redirect binding, or whose signature does not verify with a signing certificate
in the SP's metadata (pysaml2 rebuilds SAMLRequest=..&RelayState=..&SigAlg=.. and
checks the Signature parameter over it).

Routes:
    GET /sso?SAMLRequest=...&RelayState=...   SP-initiated (HTTP-Redirect binding in)
    GET /idp-initiated?sp=<SP entity id>      an unsolicited response (IdP-initiated)
    GET /metadata                             this IdP's metadata
"""

import argparse
import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import (
    NAME_FORMAT_URI,
    NAMEID_FORMAT_EMAILADDRESS,
    NAMEID_FORMAT_TRANSIENT,
    NameID,
)
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


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
    return Server(config=config)


def respond(idp, args, sp_entity_id, destination, in_response_to, relay_state):
    identity = {"mail": [args.email], "displayName": [args.name or args.email]}
    if args.transient:
        # A one-time value per response, as SAML Core §8.3.8 describes.
        name_id = NameID(format=NAMEID_FORMAT_TRANSIENT, text="_" + secrets.token_hex(16))
    else:
        name_id = NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=args.email)
    response = idp.create_authn_response(
        identity=identity,
        in_response_to=in_response_to,
        destination=destination,
        sp_entity_id=sp_entity_id,
        name_id=name_id,
        userid=args.email,
        authn={"class_ref": PASSWORD_PROTECTED},
        sign_response=False,
        sign_assertion=True,
        sign_alg=SIG_RSA_SHA256,
        digest_alg=DIGEST_SHA256,
    )
    http_args = idp.apply_binding(
        BINDING_HTTP_POST, str(response), destination, relay_state, response=True
    )
    return http_args["data"]


def make_handler(idp, args):
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
                            resp_args["sp_entity_id"],
                            resp_args["destination"],
                            resp_args["in_response_to"],
                            query.get("RelayState", ""),
                        ),
                    )
                elif url.path == "/idp-initiated":
                    sp = query["sp"]
                    acs = idp.metadata.assertion_consumer_service(sp, BINDING_HTTP_POST)[0]
                    self.send(200, respond(idp, args, sp, acs["location"], None, ""))
                elif url.path == "/metadata":
                    self.send(200, create_metadata_string(None, idp.config, 4, None, None, None, None, None).decode(), "application/samlmetadata+xml")
                elif url.path == "/health":
                    self.send(200, "ok", "text/plain")
                else:
                    self.send(404, "not found", "text/plain")
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
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    idp = build_server(args)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(idp, args))
    print(f"saml_idp listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
