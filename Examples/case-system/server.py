#!/usr/bin/python3
"""The example case system's backend: serves this folder's page and signs the assertions its page hands to Tongban.

A real case system's backend signs an assertion only for the operator signed in to it; this stand-in signs one for
a fixed operator (--operator-id, --operator-name) to whoever asks, which is enough to show the protocol:

  GET /assertion  →  {"assertion": "<JWT>"}
  JWT header {"alg": "ES256", "typ": "JWT"}; claims iss (this server's origin, http://127.0.0.1:PORT), sub, name,
  aud "tongban", iat, exp (iat + 120 s), jti; signature ES256 over P-256, raw r||s, base64url without padding.

Tongban trusts the key through api.caseSystemKeys (TONGBAN_API_CASE_SYSTEM_KEYS), a list of PEM public keys:
--public-key-out writes this server's. The key is made at start unless --key names a PEM private key (made there
when the file does not exist yet, so a demo keeps one key across runs).

usage: server.py [--bind 127.0.0.1] [--port 8809 | 0] [--key FILE] [--public-key-out PATH]
                 [--operator-id clerk-007] [--operator-name 王小明]
Prints "case-system: listening on http://HOST:PORT" once it answers. Python 3 with python3-cryptography (Debian).
"""
import argparse
import base64
import functools
import http.server
import json
import os
import socket
import sys
import tempfile
import time
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ASSERTION_LIFETIME_SECONDS = 120
HERE = os.path.dirname(os.path.abspath(__file__))


def base64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def write_atomically(path, data, mode=0o644):
    """Writes the whole file or nothing: whoever waits for it never reads half of it."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".case-system-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def load_or_make_key(path):
    if path is None:
        return ec.generate_private_key(ec.SECP256R1())
    if os.path.exists(path):
        try:
            with open(path, "rb") as file:
                key = serialization.load_pem_private_key(file.read(), password=None)
        except (OSError, ValueError, TypeError) as error:
            raise SystemExit(f"case-system: cannot use {path} as the signing key (a PEM private key without password): {error}")
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise SystemExit(f"case-system: {path} is not a P-256 private key (ES256 needs one)")
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    write_atomically(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()), mode=0o600)
    return key


class Signer:
    def __init__(self, key, issuer, operator_id, operator_name):
        self.key = key
        self.issuer = issuer
        self.operator_id = operator_id
        self.operator_name = operator_name

    def assertion(self):
        now = int(time.time())
        header = {"alg": "ES256", "typ": "JWT"}
        claims = {"iss": self.issuer, "sub": self.operator_id, "name": self.operator_name, "aud": "tongban",
                  "iat": now, "exp": now + ASSERTION_LIFETIME_SECONDS, "jti": str(uuid.uuid4())}
        encode = lambda value: base64url(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        signing_input = f"{encode(header)}.{encode(claims)}".encode("ascii")
        # cryptography signs DER (SEQUENCE of r, s); a JWS carries r and s as two 32-byte big-endian numbers.
        r, s = decode_dss_signature(self.key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return f"{signing_input.decode('ascii')}.{base64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


class Handler(http.server.SimpleHTTPRequestHandler):
    signer = None  # set on the subclass made in main()

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/assertion":
            body = json.dumps({"assertion": self.signer.assertion()}).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
            return
        if not path.endswith("/") and os.path.splitext(path)[1] not in (".html", ".js", ".css", ".png", ".svg", ".ico"):
            self.send_error(404)  # the page and its assets only: not this script, nor a key someone put here
            return
        super().do_GET()

    def end_headers(self):
        if self.path.split("?", 1)[0] != "/assertion":
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format, *args):
        sys.stderr.write("case-system: %s - %s\n" % (self.address_string(), format % args))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8809, help="0: any free port")
    parser.add_argument("--key", help="PEM P-256 private key to sign with (made there if missing); default: a new one per run")
    parser.add_argument("--public-key-out", help="where to write the public key (PEM) for Tongban's api.caseSystemKeys")
    parser.add_argument("--operator-id", default="clerk-007")
    parser.add_argument("--operator-name", default="王小明")
    arguments = parser.parse_args()

    key = load_or_make_key(arguments.key)
    handler = type("CaseSystemHandler", (Handler,), {})
    server_class = http.server.ThreadingHTTPServer
    if ":" in arguments.bind:
        server_class = type("ThreadingHTTPServer6", (server_class,), {"address_family": socket.AF_INET6})
    server = server_class((arguments.bind, arguments.port), functools.partial(handler, directory=HERE))
    server.daemon_threads = True
    host = arguments.bind if ":" not in arguments.bind else f"[{arguments.bind}]"
    origin = f"http://{host}:{server.server_address[1]}"
    handler.signer = Signer(key, origin, arguments.operator_id, arguments.operator_name)
    if arguments.public_key_out:
        write_atomically(arguments.public_key_out, key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    print(f"case-system: listening on {origin}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
