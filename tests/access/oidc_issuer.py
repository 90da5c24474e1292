"""A real OpenID Connect provider for the tests: pyop (IdentityPython's OP library) behind a
small Flask app on a free 127.0.0.1 port.

Discovery, JWKS, the authorization endpoint (PKCE and nonce checked by pyop), the token
endpoint (client authentication, code exchange, an RS256-signed ID token). It speaks HTTPS
only (as OpenID Connect requires of an issuer), with a certificate for 127.0.0.1 made for the
run, which the client trusts through ``ONEMAP_OIDC_CA_FILE`` (``Issuer.ca_file``). The one
shortcut is the provider's own login page: the person to log in is set on :class:`Issuer` by
the test (``issuer.person``) instead of being typed into a form, since that page is the
provider's business, not the protocol's.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from Cryptodome.PublicKey import RSA
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask, jsonify, redirect, request
from jwkest.jwk import RSAKey
from pyop.authz_state import AuthorizationState
from pyop.exceptions import InvalidAuthenticationRequest, OAuthError
from pyop.provider import Provider
from pyop.subject_identifier import HashBasedSubjectIdentifierFactory
from pyop.userinfo import Userinfo
from werkzeug.serving import make_server

from tests.server import free_port


@dataclass
class Issuer:
    """A running provider: ``url`` is its issuer; ``people`` user id → ID token claims;
    ``person`` who logs in at the next authorization request."""

    url: str
    client_id: str
    client_secret: str
    ca_file: str
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    person: str = ""


def _app(issuer: Issuer, redirect_uris: list[str]) -> Flask:
    key = RSAKey(key=RSA.generate(2048), alg="RS256", kid="test-signing-key")
    config = {
        "issuer": issuer.url, "authorization_endpoint": f"{issuer.url}/authorize",
        "token_endpoint": f"{issuer.url}/token", "jwks_uri": f"{issuer.url}/jwks",
        "response_types_supported": ["code"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "scopes_supported": ["openid", "profile"], "code_challenge_methods_supported": ["S256"],
    }
    clients = {issuer.client_id: {
        "client_secret": issuer.client_secret, "redirect_uris": redirect_uris,
        "response_types": ["code"], "token_endpoint_auth_method": "client_secret_basic"}}
    provider = Provider(key, config, AuthorizationState(HashBasedSubjectIdentifierFactory("s")),
                        clients, Userinfo(issuer.people))
    app = Flask("oidc-issuer")

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Any:
        return jsonify(provider.provider_configuration.to_dict())

    @app.get("/jwks")
    def jwks() -> Any:
        return jsonify(provider.jwks)

    @app.get("/authorize")
    def authorize() -> Any:
        try:
            req = provider.parse_authentication_request(urlencode(request.args))
        except InvalidAuthenticationRequest as exc:
            return jsonify(error="invalid_request", error_description=str(exc)), 400
        resp = provider.authorize(req, issuer.person)
        return redirect(resp.request(req["redirect_uri"]), 302)

    @app.post("/token")
    def token() -> Any:
        try:
            resp = provider.handle_token_request(
                request.get_data(as_text=True), dict(request.headers),
                extra_id_token_claims=lambda user, _client: dict(issuer.people[user]))
        except OAuthError as exc:
            return jsonify(error=exc.oauth_error, error_description=str(exc)), 400
        return app.response_class(resp.to_json(), mimetype="application/json")

    return app


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(
                ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextmanager
def running_issuer(redirect_uris: list[str], folder: Path, client_id: str = "onemap",
                   client_secret: str = "s3cret-of-the-test") -> Iterator[Issuer]:
    """A provider on a free port that accepts ``client_id`` with ``redirect_uris``; its
    certificate is written to ``folder``."""
    port = free_port()
    cert, key = _certificate(folder)
    issuer = Issuer(f"https://127.0.0.1:{port}", client_id, client_secret, str(cert))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server = make_server("127.0.0.1", port, _app(issuer, redirect_uris), threaded=True,
                         ssl_context=tls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        thread.join(10)
