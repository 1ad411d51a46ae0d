"""A real HTTP(S) server on 127.0.0.1 in a thread, for tests of what a client connects to.

It records every request (path and headers) and, over TLS, the name the client sent as SNI.
Answers come from ``routes`` (path -> (status, headers)); other paths answer 200 "ok". A
``respond(path, headers) -> (status, headers, body)`` answers every request instead (a server
that checks credentials, or answers JSON).
"""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Seen:
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)


class LoopbackServer:
    def __init__(self, routes: dict[str, tuple[int, dict[str, str]]] | None = None,
                 tls: ssl.SSLContext | None = None,
                 respond: Callable[[str, dict[str, str]], tuple[int, dict[str, str], bytes]]
                 | None = None) -> None:
        self.seen = Seen()
        seen, answers = self.seen, routes or {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.requests.append((self.path, dict(self.headers)))
                if respond is not None:
                    status, headers, body = respond(self.path, dict(self.headers))
                else:
                    (status, headers), body = answers.get(self.path, (200, {})), b"ok"
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            tls.sni_callback = lambda sock, name, ctx: seen.sni.append(name)
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def self_signed(hostname: str, directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context whose certificate names ``hostname`` only, and the file to trust it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
