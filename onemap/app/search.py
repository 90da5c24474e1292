"""The search box of the layer panel (being built: issue 6)."""

from __future__ import annotations

import dash
from dash import html

from onemap.config import Settings


def search_box(lang: str) -> html.Div:
    return html.Div(id="om-search", className="om-search")


def register(app: dash.Dash, settings: Settings) -> None:
    return None
