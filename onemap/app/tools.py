"""Map tools: measuring, coordinates, export (being built: issue 6)."""

from __future__ import annotations

import dash

from onemap.config import Settings


def map_controls(lang: str) -> list:
    return []


def register(app: dash.Dash, settings: Settings) -> None:
    return None
