"""The search box of the layer panel: a station, a section, a company or a code → go there.

The search runs on the server, through the same OGC API QGIS uses: ``items?q=…`` (OGC API
Features Part 9 text search) on each searchable layer, a few hits each, so a national source
inventory is searched without sending it anywhere. Choosing a hit moves the map to it and
switches its layer on (``om-goto``).
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from onemap.app.i18n import add_strings, pick, t
from onemap.app.ogcclient import OgcError, items
from onemap.config import Settings

#: Families searched, in the order their hits are listed, and the field that names a feature.
SEARCHED: dict[str, tuple[str, str]] = {
    "air_stations": ("name", "station_id"), "water_sections": ("name", "section_id"),
    "pollution_sources": ("name", "source_id"), "incidents": ("title", "incident_id")}
HITS_PER_LAYER = 6
MIN_CHARS = 2

add_strings(
    zh={"srch_placeholder": "搜索站点、断面、企业名称或编码…", "srch_none": "未找到“{q}”。",
        "srch_short": "请至少输入 {n} 个字符。", "srch_error": "搜索失败：{error}"},
    en={"srch_placeholder": "Search stations, sections, companies or codes…",
        "srch_none": "Nothing found for “{q}”.", "srch_short": "Type at least {n} characters.",
        "srch_error": "Search failed: {error}"})


def search_box(lang: str) -> html.Div:
    return html.Div([
        dcc.Input(id="om-search-input", type="search", value="", debounce=0.4,
                  placeholder=t("srch_placeholder", lang), autoComplete="off",
                  className="om-search-input"),
        html.Div(id="om-search-hits", className="om-search-hits"),
        dcc.Store(id="om-search-found", data=[]),
    ], id="om-search", className="om-search")


def searched_layers(specs: list[dict]) -> list[dict]:
    """The page's vector layers that can be searched, in :data:`SEARCHED` order."""
    order = list(SEARCHED)
    found = [s for s in specs if s.get("kind") == "vector" and s.get("family") in SEARCHED]
    return sorted(found, key=lambda s: (order.index(s["family"]), s["id"]))


def hits(settings: Settings, query: str, specs: list[dict]) -> list[dict[str, Any]]:
    """Up to :data:`HITS_PER_LAYER` matches per searchable layer: what the list shows."""
    out = []
    for spec in searched_layers(specs):
        name_field, code_field = SEARCHED[spec["family"]]
        doc = items(settings, spec["id"], q=query, limit=HITS_PER_LAYER)
        for f in doc.get("features") or []:
            p = f.get("properties") or {}
            coords = (f.get("geometry") or {}).get("coordinates") or []
            if len(coords) < 2 or not isinstance(coords[0], int | float):
                continue
            out.append({"layer": spec["id"], "title": spec["title"],
                        "title_en": spec.get("title_en") or "",
                        "name": str(p.get(name_field) or ""), "code": str(p.get(code_field) or
                                                                          f.get("id") or ""),
                        "lon": coords[0], "lat": coords[1]})
    return out


def hit_list(found: list[dict], query: str, lang: str) -> list:
    if not found:
        return [html.Div(t("srch_none", lang, q=query), className="om-note")]
    rows = []
    for i, h in enumerate(found):
        # Names are Chinese data; an English screen shows the code (as the panels do).
        label = f"{h['name']} · {h['code']}" if lang == "zh" else h["code"]
        rows.append(html.Button([html.Span(pick(h["title"], h["title_en"], lang),
                                           className="om-search-layer"),
                                 html.Span(label, className="om-search-name")],
                                id={"type": "om-search-hit", "i": i}, n_clicks=0,
                                className="om-search-hit"))
    return rows


def register(app: dash.Dash, settings: Settings) -> None:
    @app.callback(
        Output("om-search-hits", "children"), Output("om-search-found", "data"),
        Input("om-search-input", "value"), Input("om-lang", "value"),
        State("om-specs", "data"), prevent_initial_call=True)
    def search(query, lang, specs):  # type: ignore[no-untyped-def]
        lang, query = lang or "zh", (query or "").strip()
        if not query:
            return [], []
        if len(query) < MIN_CHARS:
            return [html.Div(t("srch_short", lang, n=MIN_CHARS), className="om-note")], []
        try:
            found = hits(settings, query, specs or [])
        except OgcError as err:
            return [html.Div(t("srch_error", lang, error=err.code), className="om-error")], []
        return hit_list(found, query, lang), found

    @app.callback(
        Output("om-goto", "data", allow_duplicate=True),
        Output("om-search-hits", "children", allow_duplicate=True),
        Input({"type": "om-search-hit", "i": ALL}, "n_clicks"),
        State("om-search-found", "data"), prevent_initial_call=True)
    def choose(clicks, found):  # type: ignore[no-untyped-def]
        trig = ctx.triggered_id
        if not isinstance(trig, dict) or not any(clicks or []):
            raise PreventUpdate
        found = found or []
        if not 0 <= trig["i"] < len(found):
            raise PreventUpdate
        h = found[trig["i"]]
        return {"center": [h["lat"], h["lon"]], "zoom": 15, "layers": [h["layer"]]}, []

    @app.callback(Output("om-search-input", "placeholder"), Input("om-lang", "value"),
                  prevent_initial_call=True)
    def placeholder(lang):  # type: ignore[no-untyped-def]
        return t("srch_placeholder", lang or "zh")
