"""The map's time bar (being built: issue 6)."""

from __future__ import annotations

import dash
from dash import dcc, html

from onemap.config import Settings


def timebar(lang: str, specs: list[dict]) -> html.Div:
    return html.Div([dcc.Store(id="om-map-time")], id="om-timebar", className="om-timebar")


def register(app: dash.Dash, settings: Settings) -> None:
    return None
