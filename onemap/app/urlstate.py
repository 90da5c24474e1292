"""The map state in the page URL, so that a link reproduces what its sender saw.

``/?lang=en&z=11&lat=31.71234&lon=117.30123&layers=air_stations,rivers&t=2025-01-22T00:00Z``

* ``lang`` — ``zh`` or ``en``;
* ``z``, ``lat``, ``lon`` — the map's zoom and centre (WGS 84 degrees);
* ``layers`` — every layer that is on (vector checklists and raster rows), comma-separated;
  ``layers=`` (empty) means all off;
* ``t`` — the hour of the time bar in UTC (absent: the latest data).

The browser keeps the URL current (``assets/urlstate.js``: ``history.replaceState``, debounced,
so panning creates no history entries). On page load :func:`parse_search` reads it and one
callback applies it to the view, the layer toggles, the time bar and the language. A value that
is not valid (unknown layer, zoom out of range, a time outside the data, a language we do not
have) is ignored and the default stays: a mistyped link still opens the map, never an error.
Parameters this module does not know are kept, so other parts of the page may add their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import parse_qs

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from onemap.app.i18n import LANGS
from onemap.app.timebar import Extent, iso, parse_time
from onemap.config import Settings

#: The zooms the map allows (layout: minZoom, maxZoom).
MIN_ZOOM, MAX_ZOOM = 4, 18


@dataclass
class UrlState:
    """What a link asks for; None: not given or not valid (keep the default)."""

    lang: str | None = None
    zoom: int | None = None
    center: tuple[float, float] | None = None  # (lat, lon)
    layers: list[str] | None = None
    time: str | None = None  # ISO UTC, on the hour, inside the data


def _first(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0].strip() if values else None


def _number(text: str | None, low: float, high: float) -> float | None:
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) and low <= value <= high else None


def parse_search(search: str | None, layer_ids: list[str] | set[str],
                 extent: Extent | None) -> UrlState:
    """The state a URL query string asks for, every invalid part dropped."""
    query = parse_qs((search or "").lstrip("?"), keep_blank_values=True)
    out = UrlState()
    lang = _first(query, "lang")
    if lang in LANGS:
        out.lang = lang
    zoom = _number(_first(query, "z"), MIN_ZOOM, MAX_ZOOM)
    if zoom is not None:
        out.zoom = round(zoom)
    lat, lon = _number(_first(query, "lat"), -85, 85), _number(_first(query, "lon"), -180, 180)
    if lat is not None and lon is not None:
        out.center = (lat, lon)
    layers = _first(query, "layers")
    if layers is not None:
        asked = [lid.strip() for lid in layers.split(",") if lid.strip()]
        known = [lid for lid in asked if lid in layer_ids]
        if known or not asked:  # all unknown: a broken link, not "switch everything off"
            out.layers = list(dict.fromkeys(known))
    when = parse_time(_first(query, "t"))
    if when is not None and extent is not None and extent.start <= when <= extent.end:
        out.time = iso(when)
    return out


def viewport(state: UrlState, center: object, zoom: object) -> dict | None:
    """The map move a link asks for (None: stay); a zoom alone keeps the current centre."""
    if state.center is None and state.zoom is None:
        return None
    if state.center is not None:
        where = list(state.center)
    elif isinstance(center, dict) and "lat" in center and "lng" in center:
        where = [center["lat"], center["lng"]]
    elif isinstance(center, list | tuple) and len(center) == 2:
        where = list(center)
    else:
        return None
    z = state.zoom if state.zoom is not None else zoom
    if not isinstance(z, int | float):
        return None
    return {"center": where, "zoom": z, "transition": "setView", "options": {"animate": False}}


def layer_values(state: UrlState, specs: list[dict], groups: list[str],
                 rasters: list[str]) -> tuple[list, list]:
    """Checklist values per group and per raster row for the link's layers (None: defaults)."""
    if state.layers is None:
        return [dash.no_update] * len(groups), [dash.no_update] * len(rasters)
    on = set(state.layers)
    group_of = {s["id"]: s["group"] for s in specs}
    per_group = [[lid for lid in state.layers if group_of.get(lid) == g] for g in groups]
    per_raster = [[lid] if lid in on else [] for lid in rasters]
    return per_group, per_raster


def location() -> html.Div:
    """The URL (``om-url``) and the flag that says the page has applied it (``om-url-ready``).

    The URL is written only after the link's state was applied, or the defaults of the first
    render would overwrite the link before it is read.
    """
    return html.Div([dcc.Location(id="om-url", refresh=False),
                     dcc.Store(id="om-url-go"),
                     dcc.Store(id="om-url-ready", data=False),
                     dcc.Store(id="om-url-sink")], id="om-url-state")


def register(app: dash.Dash, settings: Settings) -> None:
    """Apply the URL once per page load (Python); keep it current (browser).

    The link is applied only after the layer callback has answered its first call (the legend
    is then drawn): that first call draws the default layers, and a second call started while
    it is still on its way would compare against panes not yet drawn and leave a default layer
    on screen that the link switched off. ``assets/urlstate.js`` watches for the legend in
    the page and then writes the query string into ``om-url-go``, which ``apply`` reads.
    """
    app.clientside_callback(
        ClientsideFunction("onemap_urlstate", "gate"),
        Output("om-url-go", "data"),
        Input("om-url", "search"),
        State("om-url-ready", "data"),
    )

    @app.callback(
        Output("om-map", "viewport", allow_duplicate=True),
        Output({"type": "om-group", "group": ALL}, "value", allow_duplicate=True),
        Output({"type": "om-raster-on", "layer": ALL}, "value", allow_duplicate=True),
        Output("om-lang", "value", allow_duplicate=True),
        Output("om-map-time", "data", allow_duplicate=True),
        Output("om-url-ready", "data"),
        Input("om-url-go", "data"),
        State("om-url-ready", "data"),
        State("om-specs", "data"),
        State("om-tb-extent", "data"),
        State("om-map", "center"),
        State("om-map", "zoom"),
        State("om-lang", "value"),
        prevent_initial_call=True,
    )
    def apply(search, ready, specs, extent, center, zoom, lang):  # type: ignore[no-untyped-def]
        if ready or search is None:
            raise PreventUpdate
        specs = specs or []
        state = parse_search(search, {s["id"] for s in specs}, Extent.from_store(extent))
        groups = [o["id"]["group"] for o in ctx.outputs_list[1]]
        rasters = [o["id"]["layer"] for o in ctx.outputs_list[2]]
        per_group, per_raster = layer_values(state, specs, groups, rasters)
        view = viewport(state, center, zoom)
        return (view if view is not None else dash.no_update, per_group, per_raster,
                state.lang if state.lang and state.lang != lang else dash.no_update,
                state.time if state.time else dash.no_update, True)

    app.clientside_callback(
        ClientsideFunction("onemap_urlstate", "write"),
        Output("om-url-sink", "data"),
        Input("om-url-ready", "data"),
        Input("om-map", "center"),
        Input("om-map", "zoom"),
        Input({"type": "om-group", "group": ALL}, "value"),
        Input({"type": "om-raster-on", "layer": ALL}, "value"),
        Input("om-map-time", "data"),
        Input("om-lang", "value"),
    )
