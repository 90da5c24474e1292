"""The admin page at ``<base>admin/``: a Dash app of its own on the map app's Flask server.

Its own app (not a view of the map page) so that it has its own layout, callbacks and
assets, and an admin can bookmark it; on the same Flask server so that it is served, guarded
and given its Content-Security-Policy exactly like the map (its only inline scripts are the
ones the map has too: Dash's renderer and the label switch of :mod:`onemap.app.statictext`).

Whether the page shows anything is the server's decision: the layout asks
``/api/admin/users`` as the browser's user, and an anonymous visitor (401) or a user without
the admin role (403) gets that refusal in words and no section at all. Everything after that
is read and written through ``/api/admin`` by the sections' callbacks (onemap.app.admin.api).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate
from flask import Flask

from onemap.app import serverhttp, statictext
from onemap.app.admin import api, audit, keys, rules, users
from onemap.app.admin.text import TABS
from onemap.app.dock import text
from onemap.app.i18n import DEFAULT_LANG, LANGS, STRINGS, t
from onemap.app.login import ADMIN_PATH, whoami
from onemap.app.sources import base_path
from onemap.config import Settings

#: Where the page is, below the app's base path.
PATH = ADMIN_PATH
ASSETS = Path(__file__).resolve().parent / "assets"
#: The map's accessibility fixes of Dash's markup (its radio lists, unnamed sliders), loaded
#: from where the map serves them, versioned like the map's own assets.
A11Y = Path(__file__).resolve().parents[1] / "assets" / "a11y.js"


def header(lang: str, base: str, me: dict) -> html.Div:
    who = [text("adm_signed_in", lang), " ", html.Strong(me["user"], id="adm-me")] \
        if me.get("user") else []
    return html.Div([
        html.Div(text("adm_title", lang, html.H1), className="adm-title"),
        html.Div(who, className="adm-who"),
        dcc.RadioItems(id="om-lang", value=lang, inline=True, className="adm-lang",
                       options=[{"label": "中文", "value": "zh"},
                                {"label": "EN", "value": "en"}]),
        html.A(text("adm_back", lang), id="adm-back", href=base, className="adm-back"),
    ], className="adm-header")


def refusal(answer: api.Answer, lang: str, base: str) -> html.Div:
    """What a visitor the server refused sees instead of the sections."""
    if answer.status == 401:
        words = [text("adm_need_login", lang), " ",
                 text("adm_go_login", lang, html.A, href=base, className="adm-link")]
    elif answer.status == 403:
        words = [text("adm_admins_only", lang)]
    else:
        status = f"HTTP {answer.status}" if answer.status else "—"
        words = [text("adm_unavailable", lang), f" ({status}): {answer.detail}"]
    return html.Div(words, id="adm-refused", className="adm-refused", role="alert")


def sections(lang: str, answer: api.Answer, names: dict[str, str]) -> html.Div:
    """The tab bar and the four sections (the first open)."""
    listed = answer.doc if isinstance(answer.doc, dict) else {}
    roles = [str(r) for r in listed.get("roles") or []]
    bodies = {"users": users.section(lang, api.listed(answer, "users"), roles),
              "keys": keys.section(lang), "rules": rules.section(lang, roles),
              "audit": audit.section(lang)}
    return html.Div([
        dcc.Store(id="adm-tab", data=TABS[0]),
        html.Datalist([html.Option(value=code, label=name) for code, name in
                       sorted(names.items())], id="adm-regions"),
        html.Div([html.Button(text(f"adm_tab_{tab}", lang), n_clicks=0, type="button",
                              id={"type": "adm-tab-button", "tab": tab}, role="tab",
                              className="adm-tab" + (" adm-tab-on" if tab == TABS[0] else ""),
                              **{"data-tab": tab})
                  for tab in TABS], className="adm-tabs", role="tablist"),
        *[html.Div(bodies[tab], id={"type": "adm-section", "tab": tab}, className="adm-section",
                   hidden=tab != TABS[0], role="tabpanel", **{"data-tab": tab})
          for tab in TABS],
    ], id="adm-main")


def layout(settings: Settings) -> html.Div:
    """The page for one browser: the sections for an admin, the refusal for anyone else."""
    lang, base = DEFAULT_LANG, base_path(settings)
    answer = api.call(settings, "GET", api.path("users"))
    body = sections(lang, answer, api.region_names(settings)) if answer.ok \
        else refusal(answer, lang, base)
    return html.Div([
        dcc.Location(id="adm-url", refresh=False),
        statictext.store(),
        dcc.Store(id="adm-page", data={"base": base, "titles": {
            lang: STRINGS[lang]["adm_page_title"] for lang in LANGS}}),
        dcc.Store(id="adm-title-sink"),
        header(lang, base, whoami(settings)),
        body,
    ], className="adm-root")


def register(app: dash.Dash, settings: Settings) -> None:
    statictext.register(app)
    for section in (users, keys, rules, audit):
        section.register(app, settings)

    @app.callback(Output("om-lang", "value"), Input("adm-url", "search"))
    def lang_from_url(search):  # type: ignore[no-untyped-def]
        """``?lang=en`` as on the map (an unknown value: the default stays)."""
        asked = (parse_qs((search or "").lstrip("?")).get("lang") or [""])[0]
        if asked not in LANGS:
            raise PreventUpdate
        return asked

    @app.callback(
        Output("adm-tab", "data"),
        Output({"type": "adm-tab-button", "tab": ALL}, "className"),
        Output({"type": "adm-section", "tab": ALL}, "hidden"),
        Input({"type": "adm-tab-button", "tab": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def switch(_clicks):  # type: ignore[no-untyped-def]
        tab = ctx.triggered_id["tab"] if isinstance(ctx.triggered_id, dict) else TABS[0]
        return (tab, ["adm-tab" + (" adm-tab-on" if x == tab else "") for x in TABS],
                [x != tab for x in TABS])

    # The tab's title, <html lang>, the URL's lang= and the link back to the map follow the
    # language (assets/admin.js).
    app.clientside_callback(
        ClientsideFunction("onemap_admin", "apply"),
        Output("adm-title-sink", "data"),
        Output("adm-back", "href"),
        Input("om-lang", "value"),
        State("adm-page", "data"),
    )


def create_admin(settings: Settings, server: Flask, index: str) -> dash.Dash:
    """The admin page's Dash app on ``server`` (the map app's Flask), at ``<base>admin/``;
    ``index`` is the map's HTML template."""
    app = dash.Dash(
        __name__,
        server=server,
        title=t("adm_page_title", DEFAULT_LANG),
        update_title=None,
        serve_locally=True,
        assets_folder=str(ASSETS),
        external_scripts=[f"{base_path(settings)}assets/{A11Y.name}?m={A11Y.stat().st_mtime:.0f}"],
        routes_pathname_prefix="/" + PATH,
        requests_pathname_prefix=base_path(settings) + PATH,
        suppress_callback_exceptions=True,
        csrf_token_name=serverhttp.CSRF_COOKIE,
        csrf_header_name=serverhttp.CSRF_HEADER,
    )
    app.index_string = index
    app.layout = lambda: layout(settings)
    register(app, settings)
    return app
