"""The right-hand dock: one tab per analysis panel (dashboard, emergency, ecology, haze).

Tabs switch in the browser (a clientside callback), so opening a panel costs no round trip; a
click on the open tab folds the dock away to give the map the whole window.

Only the open panel is laid out with the page. The others are laid out the first time their tab
opens (one callback each, in the language shown then): a panel's first callbacks — reading
incidents, stations, hours — would otherwise run at every page load for a panel most visits
never open, and delay the map and the dashboard behind them.
"""

from __future__ import annotations

import itertools

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from onemap.app.i18n import pick, t
from onemap.app.panels import Panel, PanelContext, panel_lang, panels
from onemap.config import Settings

_uid = itertools.count()


def text(key: str, lang: str, tag: type = html.Span, **kw: object) -> html.Div:
    """A static label the language switch rewrites: id ``{"type": "om-text", "key": key:n}``."""
    return tag(t(key, lang), id={"type": "om-text", "key": f"{key}:{next(_uid)}"}, **kw)


def dock(panels: list[Panel], lang: str, context: PanelContext) -> html.Div:
    """The tab bar and every panel's body; the first panel is open."""
    first = panels[0].id if panels else None
    tabs = [html.Button(pick(*p.title, lang), id={"type": "om-tab", "panel": p.id}, n_clicks=0,
                        className="om-tab" + (" om-tab-active" if p.id == first else ""),
                        **{"data-panel": p.id})
            for p in panels]
    bodies = [html.Div(p.layout(lang, context) if p.id == first else [],
                       id={"type": "om-tab-body", "panel": p.id},
                       className="om-tab-body", **{"data-panel": p.id},
                       style={"display": "block" if p.id == first else "none"})
              for p in panels]
    laid = [dcc.Store(id={"type": kind, "panel": p.id}, data=p.id == first)
            for p in panels for kind in ("om-tab-laid", "om-tab-want")]
    return html.Div([
        dcc.Store(id="om-dock", data={"open": first}), *laid,
        html.Div(tabs, className="om-tabs"),
        html.Div(bodies, className="om-dock-bodies"),
    ], id="om-dock-root", className="om-dock" + (" om-dock-open" if first else ""))


def tab_titles(panels: list[Panel], lang: str) -> list[str]:
    return [pick(*p.title, lang) for p in panels]


def register_dock_callbacks(app: dash.Dash, settings: Settings) -> None:
    """Tab switching (browser side); a panel laid out when its tab first opens."""
    for p in panels()[1:]:
        _lay_out_when_opened(app, settings, p)
    app.clientside_callback(
        ClientsideFunction("onemap_dock", "switchTab"),
        Output("om-dock", "data"),
        Output({"type": "om-tab", "panel": ALL}, "className"),
        Output({"type": "om-tab-body", "panel": ALL}, "style"),
        Output("om-dock-root", "className"),
        Input({"type": "om-tab", "panel": ALL}, "n_clicks"),
        State("om-dock", "data"),
        prevent_initial_call=True,
    )


def _lay_out_when_opened(app: dash.Dash, settings: Settings, panel: Panel) -> None:
    """Lay ``panel`` out the first time its tab opens (then never again: its state stays).
    The browser decides when (``onemap_dock.wantPanel``): switching tabs asks nothing of the
    server once every panel was laid out."""
    laid = {"type": "om-tab-laid", "panel": panel.id}
    want = {"type": "om-tab-want", "panel": panel.id}
    app.clientside_callback(
        ClientsideFunction("onemap_dock", "wantPanel"),
        Output(want, "data"), Input("om-dock", "data"), State(laid, "data"),
        prevent_initial_call=True)

    @app.callback(
        Output({"type": "om-tab-body", "panel": panel.id}, "children"), Output(laid, "data"),
        Input(want, "data"), State("om-lang", "value"), State("om-specs", "data"),
        prevent_initial_call=True)
    def lay_out(wanted, lang, specs):  # type: ignore[no-untyped-def]
        if not wanted:
            raise PreventUpdate
        lang = lang or "zh"
        return [dcc.Store(id=panel_lang(panel.id), data=lang),
                panel.layout(lang, PanelContext(settings, specs or []))], True

    # The panel's language store follows the page's; it fires once when the panel is laid
    # out, which draws the panel's map results in that language (see panels.panel_lang).
    app.clientside_callback(
        "function (lang) { return lang || 'zh'; }",
        Output(panel_lang(panel.id), "data"), Input("om-lang", "value"))
