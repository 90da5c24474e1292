"""Authentication at the server's edge: every request acts as the principal it proves.

An ASGI middleware (not a FastAPI dependency) so that pygeoapi's mounted app, titiler's
routes and ours all run under the same principal: it is put on ``scope["state"]`` (read by
routes as ``request.state.principal``) and in the context variable of
:mod:`onemap.access.context` (read by pygeoapi's provider and process manager).

A browser is known by its session cookie (:mod:`onemap.access.sessions`); an API key or Basic
credentials in the request win over it. A cookie that opens no session (logged out, timed
out) is ignored: the browser sees the public map and the app offers a login. Every
state-changing request that the cookie authenticates must carry the session's CSRF token in
``X-CSRF-Token`` — checked here and nowhere else, for our routes, pygeoapi's, titiler's and the
Dash callbacks alike; requests with a key or Basic credentials cannot be sent by another
site's page with the user's rights and need none.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from onemap.access import context, sessions
from onemap.access.authn import BadCredentials, authenticate
from onemap.access.principal import ANONYMOUS, Principal
from onemap.config import Settings

CHALLENGE = b'Basic realm="OneMap", charset="UTF-8"'
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Writes a session needs no CSRF token for: logging in acts on no one's session (a stale
#: cookie must not stop a login; SameOriginWrites keeps other sites' pages out).
CSRF_EXEMPT = frozenset({("POST", "/api/auth/login")})


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
        found: list[sessions.Session] = []

        def session() -> Principal | None:
            token = sessions.token_of(headers.get("cookie", ""))
            live = sessions.resolve(self.settings, token) if token else None
            if live is None:
                return None
            found.append(live)
            return live.principal

        try:
            principal = authenticate(self.settings, headers, session=session)
        except BadCredentials as exc:
            # for the audit (mapserver.auditing): a failed login, with who was claimed and why
            scope.setdefault("state", {})["audit"] = {
                "action": "login_failed", "user": exc.user, "via": exc.via,
                "detail": {"reason": exc.reason}}
            await self._refuse(send, exc)
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal
        state["session"] = found[0] if found else None
        if (found and scope["method"] in WRITES
                and (scope["method"], scope["path"]) not in CSRF_EXEMPT
                and not found[0].csrf_ok(headers.get(sessions.CSRF_HEADER.lower()))):
            await _json(send, 403, {"code": "CsrfFailed",
                                    "detail": f"a change made with a login session needs the "
                                              f"session's {sessions.CSRF_HEADER} header "
                                              "(reload the page)"})
            return
        context.set_current(principal)
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send, exc: BadCredentials) -> None:
        await _json(send, 401, {"code": "Unauthenticated",
                                "detail": "invalid credentials: check the user name and API key"},
                    [(b"www-authenticate", CHALLENGE)])


async def _json(send: Send, status: int, doc: dict, extra: list | None = None) -> None:
    body = json.dumps(doc).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})
