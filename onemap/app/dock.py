"""The right-hand dock: one tab per analysis panel (dashboard, emergency, ecology, haze).

Tabs switch in the browser (a clientside callback), so opening a panel costs no round trip; a
click on the open tab folds the dock away to give the map the whole window.
"""

from __future__ import annotations

import itertools

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, dcc, html

from onemap.app.i18n import pick, t
from onemap.app.panels import Panel, PanelContext

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
    bodies = [html.Div(p.layout(lang, context), id={"type": "om-tab-body", "panel": p.id},
                       className="om-tab-body", **{"data-panel": p.id},
                       style={"display": "block" if p.id == first else "none"})
              for p in panels]
    return html.Div([
        dcc.Store(id="om-dock", data={"open": first}),
        html.Div(tabs, className="om-tabs"),
        html.Div(bodies, className="om-dock-bodies"),
    ], id="om-dock-root", className="om-dock" + (" om-dock-open" if first else ""))


def tab_titles(panels: list[Panel], lang: str) -> list[str]:
    return [pick(*p.title, lang) for p in panels]


def register_dock_callbacks(app: dash.Dash) -> None:
    """Tab switching (browser side)."""
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
