"""``/api/auth``: log in and out, who am I, change my password, my API keys.

A login proves a password once and gives the browser a session cookie (HttpOnly, SameSite=Lax,
Secure behind https) and the session's CSRF token (in the answer and in a script-readable
cookie); every later request of that browser, to any route, acts as the user (see
mapserver.auth). A failed login says the same thing whatever the cause — unknown user, wrong
password, disabled or locked account — so it tells an attacker nothing; the cause goes to the
audit only.

For the audit (mapserver.auditing records every state-changing request), the login route puts
``{"user", "via", "outcome", "detail": {"reason"}}`` on ``scope["state"]["audit"]``: the name
that was tried, "ok" or "failed", and the cause of a failure (recorded as ``login_failed``).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from onemap.access import accounts, oidc, policy, sessions
from onemap.access.principal import Principal
from onemap.config import Settings
from onemap.mapserver.auth import principal_of
from onemap.mapserver.errors import error_responses

#: Longest user name or password a login reads (argon2 hashes any length; this bounds work).
MAX_FIELD = 1024
LOGIN_FAILED = "wrong user name or password"


class Refused(Exception):
    """A request about accounts that cannot be done: answered ``{code, detail}`` with
    ``status`` (registered on the app by :func:`include_account_routes`)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def refused(exc: Exception) -> Refused:
    """The answer to an error of onemap.access: 409 taken, 404 unknown, 422 invalid."""
    if isinstance(exc, accounts.AccountExists):
        return Refused(409, "AccountExists", str(exc))
    if isinstance(exc, accounts.NoSuchAccount | KeyError):
        what = str(exc) if not isinstance(exc, KeyError) else f"no such id {exc.args[0]!r}"
        return Refused(404, "NotFound", what)
    return Refused(422, "InvalidParameter", str(exc))


def _refused_answer(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    return JSONResponse({"code": exc.code, "detail": exc.detail}, status_code=exc.status)


def source_of(request: Request) -> str:
    """The caller's address (uvicorn applies X-Forwarded-For from a trusted proxy)."""
    return request.client.host if request.client else ""


def who(principal: Principal, session: sessions.Session | None = None) -> dict[str, Any]:
    """What the app and scripts learn about the caller (never a secret but the CSRF token of
    the caller's own session)."""
    if principal.anonymous:
        return {"anonymous": True, "user": "", "roles": [], "region": None, "via": "anonymous"}
    doc = {"anonymous": False, "user": principal.user, "roles": sorted(principal.roles),
           "region": principal.region, "via": principal.via}
    if session is not None:
        doc["csrf"] = session.csrf
    return doc


def set_cookies(response: Response, settings: Settings, token: str,
                session: sessions.Session) -> None:
    """The session cookie (HttpOnly, Lax: a link from the intranet portal arrives logged in)
    and the CSRF cookie (readable by the page's scripts, Strict); browser-session cookies:
    the server's timeouts decide how long they open anything."""
    secure = sessions.secure(settings)
    response.set_cookie(sessions.COOKIE, token, httponly=True, samesite="lax", secure=secure,
                        path="/")
    response.set_cookie(sessions.CSRF_COOKIE, session.csrf, httponly=False, samesite="strict",
                        secure=secure, path="/")


def clear_cookies(response: Response, settings: Settings) -> None:
    secure = sessions.secure(settings)
    response.delete_cookie(sessions.COOKIE, path="/", secure=secure, httponly=True,
                           samesite="lax")
    response.delete_cookie(sessions.CSRF_COOKIE, path="/", secure=secure, samesite="strict")


async def _credentials(request: Request) -> tuple[str, str]:
    """``user`` and ``password`` from a JSON object or a form; 400 when they are missing."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        data: Any = dict(await request.form())
    else:
        try:
            data = json.loads(await request.body() or b"null")
        except (ValueError, UnicodeDecodeError):
            raise Refused(400, "InvalidParameter", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "InvalidParameter", 'send {"user": …, "password": …}')
    user, password = data.get("user"), data.get("password")
    if not isinstance(user, str) or not isinstance(password, str) or not user or not password:
        raise Refused(400, "InvalidParameter", "user and password are both required")
    if len(user) > MAX_FIELD or len(password) > MAX_FIELD:
        raise Refused(400, "InvalidParameter", f"user and password: at most {MAX_FIELD} "
                      "characters")
    return user.strip(), password


LOGIN_BODY = {"required": True, "content": {
    media: {"schema": {"type": "object", "required": ["user", "password"],
                       "properties": {"user": {"type": "string", "maxLength": MAX_FIELD},
                                      "password": {"type": "string", "maxLength": MAX_FIELD}}}}
    for media in ("application/json", "application/x-www-form-urlencoded")}}


class PasswordChange(BaseModel):
    current: str = Field(min_length=1, max_length=MAX_FIELD)
    new: str = Field(min_length=1, max_length=MAX_FIELD)


class KeyRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)


def key_doc(key: accounts.Key) -> dict[str, Any]:
    return {"id": key.id, "user": key.user, "name": key.name, "created": key.created,
            "last_used": key.last_used, "revoked": key.revoked}


def _signed_in(request: Request) -> Principal:
    principal = principal_of(request)
    if principal.anonymous:
        raise policy.Unauthenticated("this needs a login")
    return principal


#: Decided before the body is read: anonymous learns 401, not what the body lacked.
SIGNED_IN = Depends(_signed_in)


def auth_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/api/auth", tags=["auth"],
                       responses=error_responses(401, 403, 422))

    @router.post("/login", openapi_extra={"requestBody": LOGIN_BODY},
                 summary="Log in with a password: sets the session cookie")
    async def login(request: Request) -> JSONResponse:
        user, password = await _credentials(request)
        state = request.scope.setdefault("state", {})
        state["audit"] = {"user": user, "via": "session", "outcome": "failed",
                          "detail": {"reason": ""}}
        try:
            found = await run_in_threadpool(accounts.login, settings, user, password)
        except accounts.LoginFailed as exc:
            state["audit"]["detail"]["reason"] = exc.reason
            return JSONResponse({"code": "LoginFailed", "detail": LOGIN_FAILED}, 401)
        token, session = await run_in_threadpool(sessions.start, settings, found.name,
                                                 source_of(request))
        state["audit"]["outcome"] = "ok"
        response = JSONResponse(who(session.principal, session))
        set_cookies(response, settings, token, session)
        return response

    @router.post("/logout", summary="End this browser's session")
    def logout(request: Request) -> JSONResponse:
        token = sessions.token_of(request.headers.get("cookie", ""))
        ended = sessions.end(settings, token) if token else False
        response = JSONResponse({"logged_out": ended})
        clear_cookies(response, settings)
        return response

    @router.get("/me", summary="Who the request acts as")
    def me(request: Request) -> dict[str, Any]:
        doc = who(principal_of(request), request.scope.get("state", {}).get("session"))
        # where a visitor logs in through the identity provider, when single sign-on is on
        doc["sso"] = "/api/auth/oidc/login" if oidc.enabled(settings) else None
        return doc

    @router.post("/password", summary="Change my password (needs the current one)",
                 dependencies=[SIGNED_IN])
    def password(request: Request, body: PasswordChange) -> JSONResponse:
        principal = _signed_in(request)
        try:
            accounts.login(settings, principal.user, body.current)
        except accounts.LoginFailed:
            raise Refused(403, "LoginFailed", "the current password is wrong") from None
        try:
            accounts.change(settings, principal.user, password=body.new)  # ends its sessions
        except accounts.AccountError as exc:
            raise refused(exc) from None
        if principal.via not in ("session", "oidc"):
            return JSONResponse(who(principal))
        token, session = sessions.start(settings, principal.user, source_of(request),
                                        principal.via)
        response = JSONResponse(who(session.principal, session))
        set_cookies(response, settings, token, session)
        return response

    @router.get("/keys", summary="My API keys (never the keys themselves)",
                 dependencies=[SIGNED_IN])
    def my_keys(request: Request) -> dict[str, Any]:
        principal = _signed_in(request)
        return {"keys": [key_doc(k) for k in accounts.keys(settings, principal.user)]}

    @router.post("/keys", status_code=201, summary="A new API key of mine, shown once",
                 dependencies=[SIGNED_IN])
    def new_key(request: Request, body: KeyRequest) -> dict[str, Any]:
        principal = _signed_in(request)
        try:
            key, secret = accounts.create_key(settings, principal.user, body.name)
        except accounts.AccountError as exc:
            raise refused(exc) from None
        return {**key_doc(key), "key": secret}

    @router.delete("/keys/{key_id}", summary="Revoke one of my API keys",
                 dependencies=[SIGNED_IN])
    def revoke(request: Request, key_id: str) -> dict[str, Any]:
        principal = _signed_in(request)
        try:
            return key_doc(accounts.revoke_key(settings, key_id, principal.user))
        except accounts.AccountError as exc:
            raise refused(exc) from None

    return router


def include_account_routes(app: FastAPI, settings: Settings) -> None:
    """``/api/auth`` and ``/api/admin`` on ``app``, with their error answers."""
    from onemap.mapserver.admin_api import admin_router

    app.add_exception_handler(Refused, _refused_answer)
    app.include_router(auth_router(settings))
    app.include_router(admin_router(settings))
