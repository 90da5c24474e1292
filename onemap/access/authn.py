"""Who is calling: the principal an HTTP request's credentials prove.

GIS clients and scripts send an API key, as ``Authorization: Bearer <key>``, an ``X-API-Key``
header, or HTTP Basic with the user name and the key as password (what QGIS's and GDAL's
"basic" authentication send: ``GDAL_HTTP_USERPWD=user:key``). The web app's session cookie is
checked by :mod:`onemap.access.sessions`. No credentials: anonymous. Credentials that do not
hold are an error (401), never a silent fall back to anonymous, so a client with a revoked key
learns it instead of seeing less.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping

from onemap.access import accounts
from onemap.access.principal import ANONYMOUS, Principal
from onemap.config import Settings

API_KEY_HEADER = "x-api-key"


class BadCredentials(PermissionError):
    """The request carried credentials that prove nobody (401). ``reason`` and ``user`` are
    for the audit; the message is the same for every cause."""

    def __init__(self, reason: str, user: str = "", via: str = "key") -> None:
        super().__init__("invalid credentials")
        self.reason = reason
        self.user = user
        self.via = via


def _basic(value: str) -> tuple[str, str]:
    try:
        raw = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise BadCredentials("malformed Basic credentials", via="basic") from None
    user, sep, secret = raw.partition(":")
    if not sep:
        raise BadCredentials("malformed Basic credentials", via="basic")
    return user, secret


def authenticate(settings: Settings, headers: Mapping[str, str],
                 session: Callable[[], Principal | None] | None = None) -> Principal:
    """The principal of a request with these (lower-case) ``headers``; ``session`` resolves
    the web app's session cookie, when the request has one. BadCredentials on bad ones."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    scheme = scheme.lower()
    try:
        if scheme == "bearer" and value.strip():
            user, key = accounts.check_key(settings, value.strip())
            return user.principal("key", key.name)
        if scheme == "basic":
            name, secret = _basic(value)
            user, key = accounts.check_key(settings, secret, name)
            return user.principal("basic", key.name)
        if auth:
            raise BadCredentials(f"unsupported Authorization scheme {scheme!r}")
        if headers.get(API_KEY_HEADER):
            user, key = accounts.check_key(settings, headers[API_KEY_HEADER].strip())
            return user.principal("key", key.name)
    except accounts.LoginFailed as exc:
        raise BadCredentials(exc.reason, exc.user,
                             "basic" if scheme == "basic" else "key") from None
    if session is not None:
        found = session()
        if found is not None:
            return found
    return ANONYMOUS
