"""Authentication at the server's edge: every request acts as the principal it proves.

An ASGI middleware (not a FastAPI dependency) so that pygeoapi's mounted app, titiler's
routes and ours all run under the same principal: it is put on ``scope["state"]`` (read by
routes as ``request.state.principal``) and in the context variable of
:mod:`onemap.access.context` (read by pygeoapi's provider and process manager).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from onemap.access import context
from onemap.access.authn import BadCredentials, authenticate
from onemap.access.principal import ANONYMOUS, Principal
from onemap.config import Settings

CHALLENGE = b'Basic realm="OneMap", charset="UTF-8"'


def principal_of(request_or_scope) -> Principal:  # noqa: ANN001 (Request or scope)
    """The principal of a request (anonymous when the middleware did not run)."""
    state = getattr(request_or_scope, "state", None)
    if state is not None:
        return getattr(state, "principal", ANONYMOUS)
    return request_or_scope.get("state", {}).get("principal", ANONYMOUS)


class Authenticate:
    """Resolve credentials once per request; a bad one is a 401 with a Basic challenge."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        try:
            principal = authenticate(self.settings, headers)
        except BadCredentials as exc:
            # for the audit (mapserver.auditing): a failed login, with who was claimed and why
            scope.setdefault("state", {})["audit"] = {
                "action": "login_failed", "user": exc.user, "via": exc.via,
                "detail": {"reason": exc.reason}}
            await self._refuse(send, exc)
            return
        scope.setdefault("state", {})["principal"] = principal
        context.set_current(principal)
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send, exc: BadCredentials) -> None:
        body = json.dumps({"code": "Unauthenticated",
                           "detail": "invalid credentials: check the user name and API key"
                           }).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", CHALLENGE)]})
        await send({"type": "http.response.body", "body": body})
