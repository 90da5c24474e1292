"""The header's account corner: a login button and form for visitors, the user's name and a
logout button once logged in.

An admin (``/api/auth/me`` lists the admin role) also gets a link to the admin page
(onemap.app.admin) in the map's language; nobody else sees it, and the page itself asks the
server again (the link is a convenience, not the guard).

The form is posted by the browser itself (``assets/login.js``: ``POST /api/auth/login``, same
origin), so the session cookie lands in the browser, not in the app; the page then reloads and
is built again as the user (the layer list, the panels), because every call the app makes to
the server carries the browser's cookie (onemap.app.serverhttp). Who is logged in is asked of
the server (``GET /api/auth/me``) while the page is built; the app keeps no account state.
"""

from __future__ import annotations

import dash
import requests
from dash import ALL, Input, Output, State, ctx, dcc, html

from onemap.app import serverhttp
from onemap.app.dock import text
from onemap.app.i18n import add_strings
from onemap.config import Settings

#: The admin page, below the app's base path (onemap.app.admin.PATH).
ADMIN_PATH = "admin/"

TIMEOUT_S = 5.0
ANONYMOUS = {"anonymous": True, "user": "", "roles": [], "region": None, "sso": None}

add_strings(
    {"login_open": "登录", "login_user": "用户名", "login_password": "密码",
     "login_submit": "登录", "login_failed": "用户名或密码错误",
     "login_unavailable": "暂时无法登录，请稍后再试", "logout": "退出",
     "login_signed_in": "当前用户", "login_sso": "统一身份认证登录",
     "login_admin": "系统管理"},
    {"login_open": "Log in", "login_user": "User name", "login_password": "Password",
     "login_submit": "Log in", "login_failed": "Wrong user name or password",
     "login_unavailable": "Login is not available now; try again later", "logout": "Log out",
     "login_signed_in": "Signed in as", "login_sso": "Single sign-on",
     "login_admin": "Admin"},
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
            *([html.A(text("login_admin", lang), id={"type": "om-admin-link", "n": 0},
                      href=admin_href(base, lang), className="om-account-button om-account-link")]
              if "admin" in (me.get("roles") or []) else []),
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


def admin_href(base: str, lang: str) -> str:
    """The admin page in ``lang`` (its ``?lang=`` works as the map's)."""
    return f"{base}{ADMIN_PATH}" + ("?lang=en" if lang == "en" else "")


def register_admin_link(app: dash.Dash) -> None:
    """The admin link follows the language switch (there is no link for non-admins: the
    pattern then matches nothing). Not at page load: the link is drawn for the page's first
    language, and a ``?lang=`` of the URL is a switch."""

    @app.callback(
        Output({"type": "om-admin-link", "n": ALL}, "href"),
        Input("om-lang", "value"),
        State("om-config", "data"),
        prevent_initial_call=True,
    )
    def admin_link(lang, config):  # type: ignore[no-untyped-def]
        base = (config or {}).get("base") or "/"
        return [admin_href(base, lang)] * len(ctx.outputs_list)
