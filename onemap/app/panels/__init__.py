"""The analysis panels of the map's right-hand dock, one module per panel.

Each module defines ``PANEL``, a :class:`Panel`: its tab title, the layout of its body for one
language, the callbacks it registers, and the (initially empty) map layers it draws results
into. :mod:`onemap.app.dock` lays the tabs out and the app registers every panel's callbacks,
so adding a panel is adding a module here and its id to :data:`PANEL_IDS`.

A panel is an OGC client like the rest of the app: it runs processes through
:mod:`onemap.app.jobs` and reads items with :mod:`onemap.app.ogcclient`; it never imports the
server, the analyses or the store.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import dash
from dash.development.base_component import Component

from onemap.config import Settings

#: Tab order in the dock; the first is open when the page loads.
PANEL_IDS: tuple[str, ...] = ("dashboard", "emergency", "ecology", "haze")


@dataclass(frozen=True)
class PanelContext:
    """What a panel's layout may use: the server settings and the page's layer specs."""

    settings: Settings
    specs: list[dict]


@dataclass(frozen=True)
class Panel:
    """One tab of the dock."""

    id: str
    title: tuple[str, str]  # (zh, en)
    layout: Callable[[str, PanelContext], Component]
    register: Callable[[dash.Dash, Settings], None]
    #: Components added to the map (result panes/layers), drawn above the data layers.
    map_layers: Callable[[], list[Component]] = field(default=lambda: [])


def panel_lang(panel_id: str) -> dict[str, str]:
    """The id of a store inside a panel that follows the page's language (``om-lang``).

    Panels other than the first are laid out only when opened (:mod:`onemap.app.dock`); a
    callback that writes to the map (always there) and reads the panel's own components must
    take the language from here, not from ``om-lang``: a language switch before the panel was
    ever opened would otherwise fire it with those components missing."""
    return {"type": "om-panel-lang", "panel": panel_id}


def panels() -> list[Panel]:
    """Every panel, in tab order."""
    return [importlib.import_module(f"onemap.app.panels.{pid}").PANEL for pid in PANEL_IDS]
