"""``/api/auth/oidc``: single sign-on through the bureau's OpenID Connect provider.

``GET /api/auth/oidc/login?next=/…`` sends the browser to the provider; the provider sends it
back to ``GET /api/auth/oidc/callback``, where :func:`onemap.access.oidc.finish` proves the
person and a session starts exactly as after a password login (same cookies, same CSRF token,
``via`` "oidc"), before the browser is sent on to ``next`` (a path of this site only). A login
that proves nobody is a 401 ``{code, detail}`` saying why, recorded in the audit as
``login_failed``. Both routes answer 404 while single sign-on is not configured.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from onemap.access import oidc, sessions
from onemap.config import Settings
from onemap.mapserver.auth_api import set_cookies, source_of


def _off() -> JSONResponse:
    return JSONResponse({"code": "NotFound", "detail": "single sign-on is not configured "
                         "(ONEMAP_OIDC_ISSUER)"}, status_code=404)


def oidc_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/api/auth/oidc", tags=["auth"])

    @router.get("/login", summary="Log in through the identity provider (redirects there)",
                responses={302: {"description": "to the identity provider"},
                           404: {"description": "single sign-on is not configured"},
                           502: {"description": "the identity provider cannot be read"}})
    async def login(next: str = "/") -> Response:  # noqa: A002 (the parameter's public name)
        if not oidc.enabled(settings):
            return _off()
        try:
            url = await run_in_threadpool(oidc.start, settings, next)
        except oidc.OidcError as exc:  # the provider is down: not the client's mistake
            return JSONResponse({"code": "ProviderUnavailable", "detail": str(exc)}, 502)
        return RedirectResponse(url, status_code=302)

    @router.get("/callback", summary="Where the identity provider sends the browser back",
                responses={302: {"description": "logged in: on to the page asked for"},
                           401: {"description": "the answer proves nobody (why, in detail)"},
                           404: {"description": "single sign-on is not configured"}})
    async def callback(request: Request) -> Response:
        if not oidc.enabled(settings):
            return _off()
        params = {k: v for k, v in request.query_params.items() if len(v) <= 4096}
        state = request.scope.setdefault("state", {})
        state["audit"] = {"action": "login_failed", "via": "oidc", "outcome": "failed",
                          "detail": {"reason": ""}}
        try:
            user, next_url = await run_in_threadpool(oidc.finish, settings, params)
        except oidc.OidcError as exc:
            state["audit"]["detail"]["reason"] = str(exc)
            return JSONResponse({"code": "LoginFailed", "detail": str(exc)}, status_code=401)
        token, session = await run_in_threadpool(sessions.start, settings, user.name,
                                                 source_of(request), "oidc")
        state["audit"] = {"action": "login", "user": user.name, "via": "oidc",
                          "outcome": "ok", "detail": {"roles": list(user.roles),
                                                      "region": user.region}}
        response = RedirectResponse(next_url, status_code=302)
        set_cookies(response, settings, token, session)
        return response

    return router
