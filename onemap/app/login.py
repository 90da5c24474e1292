"""The header's account corner: a login button and form for visitors, the user's name and a
logout button once logged in.

The form is posted by the browser itself (``assets/login.js``: ``POST /api/auth/login``, same
origin), so the session cookie lands in the browser, not in the app; the page then reloads and
is built again as the user (the layer list, the panels), because every call the app makes to
the server carries the browser's cookie (onemap.app.serverhttp). Who is logged in is asked of
the server (``GET /api/auth/me``) while the page is built; the app keeps no account state.
"""

from __future__ import annotations

import requests
from dash import dcc, html

from onemap.app import serverhttp
from onemap.app.dock import text
from onemap.app.i18n import add_strings
from onemap.config import Settings

TIMEOUT_S = 5.0
ANONYMOUS = {"anonymous": True, "user": "", "roles": [], "region": None, "sso": None}

add_strings(
    {"login_open": "登录", "login_user": "用户名", "login_password": "密码",
     "login_submit": "登录", "login_failed": "用户名或密码错误",
     "login_unavailable": "暂时无法登录，请稍后再试", "logout": "退出",
     "login_signed_in": "当前用户", "login_sso": "统一身份认证登录"},
    {"login_open": "Log in", "login_user": "User name", "login_password": "Password",
     "login_submit": "Log in", "login_failed": "Wrong user name or password",
     "login_unavailable": "Login is not available now; try again later", "logout": "Log out",
     "login_signed_in": "Signed in as", "login_sso": "Single sign-on"},
)


def whoami(settings: Settings) -> dict:
    """The server's ``/api/auth/me`` for the browser being served (anonymous when the server
    cannot say: the page then offers a login, and shows only what anonymous visitors see)."""
    from onemap.app.sources import internal_url

    try:
        doc = serverhttp.get_json(f"{internal_url(settings)}/api/auth/me", timeout=TIMEOUT_S)
    except (requests.RequestException, ValueError):
        return dict(ANONYMOUS)
    if not isinstance(doc, dict):
        return dict(ANONYMOUS)
    return doc if doc.get("user") else {**ANONYMOUS, "sso": doc.get("sso")}


def account_box(me: dict, lang: str, base: str) -> html.Div:
    """The account corner for ``me`` (an ``/api/auth/me`` answer)."""
    if me.get("user"):
        roles = ", ".join(me.get("roles") or [])
        where = f" · {me['region']}" if me.get("region") else ""
        return html.Div([
            html.Span(me["user"], id="om-account-name", className="om-account-name",
                      title=f"{roles}{where}"),
            html.Button(text("logout", lang), id="om-logout", className="om-account-button",
                        type="button"),
        ], id="om-account", className="om-account", **{"data-base": base})
    return html.Div([
        html.Button(text("login_open", lang), id="om-login-open",
                    className="om-account-button", type="button"),
        html.Form([
            text("login_user", lang, html.Label, htmlFor="om-login-user"),
            dcc.Input(id="om-login-user", type="text", autoComplete="username", value="",
                      debounce=True),
            text("login_password", lang, html.Label, htmlFor="om-login-password"),
            dcc.Input(id="om-login-password", type="password", autoComplete="current-password",
                      value="", debounce=True),
            html.Button(text("login_submit", lang), id="om-login-submit", type="submit",
                        className="om-account-button"),
            html.Div(text("login_failed", lang), id="om-login-failed",
                     className="om-login-error", hidden=True),
            html.Div(text("login_unavailable", lang), id="om-login-unavailable",
                     className="om-login-error", hidden=True),
            *([text("login_sso", lang, html.A, className="om-login-sso",
                    href=f"{base.rstrip('/')}{me['sso']}")] if me.get("sso") else []),
        ], id="om-login-form", className="om-login-form", hidden=True),
    ], id="om-account", className="om-account", **{"data-base": base})
