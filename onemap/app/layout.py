"""The page: a full-window map, the grouped layer list (with the raster rows and the upload
form) on the left and the legend bottom right.

The layout is a function so the layer list is read from the server's catalogue on each page load
(a layer imported a minute ago shows up on reload; a raster uploaded in the page shows up at
once). No GeoJSON is embedded: the panes start empty and the toggle callback adds GeoJSON
components whose ``url`` the browser fetches itself.
"""

from __future__ import annotations

import dash_leaflet as dl
from dash import dcc, html

from onemap.app import (
    errorwords,
    live,
    mobile,
    report,
    screen,
    search,
    statictext,
    timebar,
    tools,
    urlstate,
)
from onemap.app.dock import dock
from onemap.app.i18n import DEFAULT_LANG, GROUPS, group_title, page_strings, pick, t
from onemap.app.layers import basemap, data_today, fn, layer_component, pane
from onemap.app.login import account_box
from onemap.app.panels import Panel, PanelContext
from onemap.app.raster_list import raster_rows
from onemap.app.sources import Sources
from onemap.app.upload import upload_panel

#: The group whose rows are rasters (with sliders) rather than a plain checklist.
RASTER_GROUP = "remote_sensing"

CENTER = [31.6, 117.45]  # Chaohu basin (lat, lon)
ZOOM = 9


def group_options(specs: list[dict], group: str, lang: str) -> list[dict]:
    """Checklist options of one group: a layer title per row, value = layer id."""
    return [{"label": _label(s, lang), "value": s["id"]} for s in specs if s["group"] == group]


def _label(spec: dict, lang: str) -> str | html.Span:
    """A layer's title; a layer drawn from vector tiles says how big it is and that it is
    counted where dense."""
    title = pick(spec["title"], spec["title_en"], lang)
    if not spec.get("tiles_url"):
        return title
    note = t("view_layer_note", lang, count=f"{spec['count']:,}")
    return html.Span([title, html.Span(note, className="om-layer-note")])


def _raster_group(specs: list[dict], lang: str) -> html.Div:
    """Always present, even when empty, so an uploaded raster has a place to appear."""
    return html.Div([
        html.Div(group_title(RASTER_GROUP, lang), id={"type": "om-group-title",
                                                       "group": RASTER_GROUP},
                 className="om-group-title"),
        html.Div(raster_rows(specs, lang), id="om-rs-list", className="om-rs-list"),
    ], className="om-group", **{"data-group": RASTER_GROUP})


def _layer_list(specs: list[dict], lang: str) -> list:
    blocks = []
    for group in GROUPS:
        if group == RASTER_GROUP:
            blocks.append(_raster_group(specs, lang))
            continue
        options = group_options(specs, group, lang)
        if not options:
            continue
        blocks.append(html.Div([
            html.Div(group_title(group, lang), id={"type": "om-group-title", "group": group},
                     className="om-group-title"),
            dcc.Checklist(
                id={"type": "om-group", "group": group}, options=options,
                value=[s["id"] for s in specs if s["group"] == group and s["default_on"]],
                className="om-checklist", inputClassName="om-check",
                labelClassName="om-check-label"),
        ], className="om-group", **{"data-group": group}))
    return blocks


def _drawn(empty: dl.Pane, spec: dict, lang: str, tile_basemap: bool,
           today: str | None) -> dl.Pane:
    """A vector layer on by default is in the page drawn already: the browser reads its data
    as soon as the page is laid out, not after the layer callback's first answer (which then
    finds it drawn and leaves it; a link that turns it off removes it)."""
    if spec.get("default_on"):
        empty.children = [layer_component(spec, lang, tile_basemap, today)]
    return empty


def _messages(sources: Sources, lang: str) -> list:
    out = [html.Div(t(key, lang, error=err), className="om-error") for key, err in sources.errors]
    if not sources.layers and not sources.errors:
        out.append(html.Div(t("no_layers", lang), className="om-note"))
    return out


def page(sources: Sources, basemap_url: str, basemap_attribution: str,
         base: str = "/", panels: list[Panel] | None = None,
         context: PanelContext | None = None, me: dict | None = None) -> html.Div:
    """The whole page for one page load (``base``: the app's path as the browser sees it).

    ``panels`` are the dock's analysis panels (none: no dock), laid out with ``context``;
    ``me`` who the browser is logged in as (``/api/auth/me``; None: anonymous).
    """
    lang = DEFAULT_LANG
    specs = sources.to_store()
    panels = panels or []
    map_children: list = []
    if basemap_url:
        map_children.append(basemap(basemap_url, basemap_attribution))
    extent = timebar.page_extent()
    today = data_today(extent.to_store() if extent else None)
    map_children += [_drawn(pane(s), s, lang, bool(basemap_url), today)
                     for s in specs if s["kind"] != "raster"]
    # Raster panes live in their own group so an upload can rebuild them without touching
    # the vector layers already drawn.
    map_children.append(dl.LayerGroup([pane(s) for s in specs if s["kind"] == "raster"],
                                      id="om-raster-panes"))
    for p in panels:  # result layers of the analysis panels, above the data
        map_children += p.map_layers()
    map_children.append(dl.ScaleControl(position="bottomleft", imperial=False))
    map_children += tools.map_controls(lang)
    panel = html.Div([
        html.Div([
            html.Div([
                html.Div(t("app_title", lang), id="om-title", className="om-title"),
                html.Div(t("app_subtitle", lang), id="om-subtitle", className="om-subtitle"),
            ]),
            html.Div([
                dcc.RadioItems(id="om-lang", value=lang, inline=True, className="om-lang",
                               options=[{"label": "中文", "value": "zh"},
                                        {"label": "EN", "value": "en"}]),
                account_box(me or {}, lang, base),
            ], className="om-header-side"),
        ], className="om-header"),
        search.search_box(lang),
        html.Div(t("layers", lang), id="om-layers-heading", className="om-heading"),
        html.Div(_messages(sources, lang), id="om-messages"),
        html.Div(_layer_list(specs, lang), id="om-layer-list", className="om-layer-list"),
        upload_panel(lang),
    ], id="om-panel", className="om-panel")
    return html.Div([
        urlstate.location(),
        dcc.Store(id="om-specs", data=specs),
        dcc.Store(id="om-config", data={"tile_basemap": bool(basemap_url),
                                        "errors": sources.errors, "base": base}),
        # What a click on the map asks pixel values of (written by the layer callback, read
        # by assets/rasters.js through a clientside callback into om-js-sink).
        dcc.Store(id="om-visible-rasters", data={"lang": lang, "rasters": []}),
        dcc.Store(id="om-js-sink"),
        dcc.Store(id="om-tiles-sink"),  # the big layers on the map (assets/tiles.js)
        statictext.store(),  # both languages' labels, for the switch in the browser
        # Where to move the map: {"bounds": [minx, miny, maxx, maxy]} or {"center": [lat, lon],
        # "zoom": z}, optionally with "layers": [layer ids to switch on]. Written by panels and
        # the search box (allow_duplicate), read by one callback in dashapp.
        dcc.Store(id="om-goto"),
        # Vector layers' opacity (%) by layer id, set in the legend (assets/opacity.js).
        dcc.Store(id="om-vector-opacity", data={}),
        dcc.Store(id="om-page-strings", data=page_strings()),
        dcc.Store(id="om-title-sink"),
        dl.MapContainer(id="om-map", center=CENTER, zoom=ZOOM, minZoom=4, maxZoom=18,
                        children=map_children, className="om-map",
                        eventHandlers={"preclick": fn("rasterClick")},
                        style={"position": "absolute", "inset": 0}),
        panel,
        timebar.timebar(lang, specs, extent),
        live.ticker(specs, me, base),
        *([dock(panels, lang, context)] if panels and context else []),
        # focusable: it scrolls when long, and a keyboard must be able to scroll it too; named
        # by a hidden word the language switch rewrites
        html.Div(id="om-legend", className="om-legend", tabIndex="0", role="region",
                 **{"aria-labelledby": "om-legend-name"}),
        html.Span(t("legend", lang), id="om-legend-name", hidden=True),
        mobile.where_sheet(specs, base, lang),
        report.report_sheet(specs, me, base, lang),
        errorwords.element(),
        *([screen.screen_head(specs, context.settings, base, lang)] if context else []),
        mobile.sheet_bar(lang),  # phones and tablets: the sheets' buttons
    ], id="om-root", className="om-root")
