"""The Ecology panel of the dock (being built: issue 6)."""

from __future__ import annotations

import dash
from dash import html

from onemap.app.panels import Panel, PanelContext
from onemap.config import Settings


def layout(lang: str, context: PanelContext) -> html.Div:
    return html.Div(className="om-panel-body")


def register(app: dash.Dash, settings: Settings) -> None:
    return None


PANEL = Panel("ecology", ("生态", "Ecology"), layout, register)
