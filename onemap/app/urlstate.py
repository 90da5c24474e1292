"""The map state in the page URL (being built: issue 6)."""

from __future__ import annotations

import dash
from dash import dcc

from onemap.config import Settings


def location() -> dcc.Location:
    return dcc.Location(id="om-url", refresh=False)


def register(app: dash.Dash, settings: Settings) -> None:
    return None
