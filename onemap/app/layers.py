"""dash-leaflet components for one layer: a GeoJSON fetched by the browser or a titiler tile layer.

Styling is data, not code: ``onemap.styles.leaflet_style`` (colours by class, AQI breaks) and the
popup labels travel to the browser in the GeoJSON ``hideout``; the functions that read them
(``window.onemap.*``) live in ``assets/onemap.js``. Each layer draws into its own Leaflet pane so
the z-order stays fixed however layers are toggled, and so tests can find a layer in the DOM.
"""

from __future__ import annotations

import dash_leaflet as dl
from dash.development.base_component import Component

from onemap.app import timebar
from onemap.app.i18n import pick, t
from onemap.app.labels import POLLUTANTS, POPUP_STRINGS, popup_spec
from onemap.app.live import ALARMS, DEVICES, readings_spec
from onemap.styles.symbology import AQI_LEVELS, NO_DATA_COLOR, leaflet_style

#: The samples of the water sections (a section popup lists its recent classes).
SAMPLES_TABLE = "water_samples"
#: How many recent samples a section popup lists.
HISTORY_SAMPLES = 24
#: Cluster bubble colours, one per clustered family.
CLUSTER_COLORS = {"pollution_sources": "#C62828", "outlets": "#6D4C41",
                  "sensitive_receptors": "#6A1B9A"}
EMPTY = {"type": "FeatureCollection", "features": []}
#: Leaflet.VectorGrid (package.json), served by the server from node_modules, never a CDN.
VECTORGRID_JS = "static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"
#: Base layers that would swallow every click if interactive.
NON_INTERACTIVE = frozenset({"admin_boundaries"})


def pane_name(layer_id: str) -> str:
    """The Leaflet pane of a layer (its element gets the class ``leaflet-<name>-pane``)."""
    return f"om-{layer_id}"


def fn(name: str) -> dict:
    """A reference to a function of ``window.onemap`` (dash-leaflet resolves ``variable``)."""
    return {"variable": f"onemap.{name}"}


def hideout(spec: dict, lang: str, tile_basemap: bool, today: str | None = None) -> dict:
    """Everything the JS needs to draw and describe one vector layer, JSON-serialisable.

    ``today`` is the data's last day (:func:`data_today`), against which a source popup judges
    its permit.
    """
    family = spec["family"]
    style = leaflet_style(family)
    if family == "admin_boundaries" and tile_basemap:
        style.update(fill=False)  # the tile basemap shows through; keep only the outlines
    out = {
        "family": family,
        "lang": lang,
        "layer_title": pick(spec["title"], spec["title_en"], lang),
        "style": style,
        "popup": popup_spec(family, lang),
        "interactive": family not in NON_INTERACTIVE,
        "cluster_color": CLUSTER_COLORS.get(family, "#455A64"),
        # Place names for counties only: city polygons would stack a second label on top.
        "label_field": "name" if family == "admin_boundaries" else "",
        "label_skip": {"admin_level": ["province", "city"]},
        "strings": {k: t(k, lang) for k in ("aqi", "aqi_level", "primary_pollutant", "time",
                                            "chart_title", "chart_loading", "chart_empty",
                                            "chart_error",
                                            "no_data", *POPUP_STRINGS.get(family, ()))},
    }
    # Fetches of a popup go to the same server, relative to the page (like the layer's own URL).
    base = spec.get("url", "").split("ogc/collections/")[0] or "/"
    if family == "water_sections":
        out["history"] = {"url": f"{base}ogc/collections/{SAMPLES_TABLE}/items",
                          "limit": HISTORY_SAMPLES}
    if family == "pollution_sources":
        out["today"] = today
    readings = readings_spec(family, base, lang)
    if readings:  # an outlet's (a source's outlets') recent online readings vs their limits
        out["live"] = readings
    if family == "incidents":  # the site photos (/api/attachments), read when a popup opens
        out["photos"] = f"{base}api/attachments/{spec.get('id') or family}/"
    if family == ALARMS:  # where the popup's Acknowledge / Close buttons post
        out["actions"] = f"{base}api/alarms/"
    if family == "air_stations":
        # The popup's chart: the station's series from the same server's OGC API EDR
        # (``…/locations/{station_id}``, CoverageJSON; relative URL).
        out["series"] = {"url": f"{base}ogc/collections/{spec.get('id') or family}/locations",
                         "days": 7}
        out["aqi_levels"] = [[lv.high, lv.color, lv.label if lang == "zh" else lv.label_en]
                             for lv in AQI_LEVELS]
        out["pollutants"] = POLLUTANTS
        out["nodata"] = NO_DATA_COLOR
    return out


def data_today(extent: object) -> str | None:
    """The "today" of the data (``YYYY-MM-DD``, Beijing), against which a permit is expired.

    Not the browser's clock: the sample data ends on 2025-12-31 and is browsed as it is. It is
    the day of the last hour of the air data, where the time bar ends ("latest"): ``extent`` is
    the time bar's ``om-tb-extent`` store, read from ``/ogc/collections/air_hourly`` once per
    page. Permits are a snapshot of the register, so they are judged on that day even when the
    bar is moved back in time. None when the server could not say: the popup then shows the
    date without judging it.
    """
    known = timebar.Extent.from_store(extent)
    return known.end.astimezone(timebar.BEIJING).date().isoformat() if known else None


def _leaflet_bounds(bbox: list[float] | None) -> list[list[float]] | None:
    if not bbox or len(bbox) != 4:
        return None
    minx, miny, maxx, maxy = bbox
    return [[miny, minx], [maxy, maxx]]


def raster_component(spec: dict, url: str, opacity: float) -> dl.TileLayer:
    """The titiler tile layer of a raster (or of the shown step of a series)."""
    kw = {}
    bounds = _leaflet_bounds(spec.get("bounds"))
    if bounds:  # titiler answers 404 outside the raster; never ask for those tiles
        kw["bounds"] = bounds
    return dl.TileLayer(id=f"om-layer-{spec['id']}", url=url, pane=pane_name(spec["id"]),
                        opacity=opacity, maxZoom=18, attribution="", **kw)


def layer_component(spec: dict, lang: str, tile_basemap: bool,
                    today: str | None = None) -> Component:
    """The component drawing ``spec`` (a :class:`~onemap.app.sources.LayerSpec` as a dict)."""
    pane = pane_name(spec["id"])
    if spec["kind"] == "raster":
        return raster_component(spec, spec["url"], 0.85)
    family = spec["family"]
    kw: dict = {"id": f"om-layer-{spec['id']}", "url": spec["url"]}
    hide = hideout(spec, lang, tile_basemap, today)
    points, each = fn("pointToLayer"), fn("onEachFeature")
    if spec.get("tiles_url"):
        # Too big to ship whole: drawn from the server's vector tiles by assets/tiles.js,
        # which adds a Leaflet.VectorGrid to the map when this (empty) layer is added.
        return tile_component(spec, hide, pane)
    if family == ALARMS:  # open alarms, signs by rule (live.js)
        kw["filter"] = fn("liveOpen")
        points = fn("alarmPoint")
    if spec.get("clustered"):
        kw.update(cluster=True, clusterToLayer=fn("clusterToLayer"),
                  superClusterOptions={"radius": 60, "maxZoom": 13}, zoomToBoundsOnClick=True)
    return dl.GeoJSON(
        pane=pane,
        hideout=hide,
        style=fn("style"),
        pointToLayer=points,
        onEachFeature=each,
        interactive=family not in NON_INTERACTIVE,
        **kw,
    )


def tile_component(spec: dict, hide: dict, pane: str) -> dl.GeoJSON:
    """A big layer: an empty GeoJSON that carries the layer's ``hideout``; while it is in its
    pane, assets/tiles.js (a clientside callback on the panes' children) keeps a
    Leaflet.VectorGrid drawing ``spec["tiles_url"]`` in that pane (so the layer's checkbox,
    z-order and opacity work as for any layer)."""
    base = spec["url"].split("ogc/collections/")[0] or "/"
    lang = hide["lang"]
    hide["tiles"] = {
        "url": spec["tiles_url"], "layer": spec["id"], "pane": pane,
        "item": f"{base}ogc/collections/{spec['id']}/items/",
        "script": f"{base}{VECTORGRID_JS}",
        "title": t("view_cluster_title", lang), "missing": t("tiles_missing", lang),
        # a live layer's tiles are asked again (never from the browser's cache) on a refresh
        "live": spec["family"] in (ALARMS, DEVICES),
    }
    return dl.GeoJSON(id={"type": "om-tile-layer", "layer": spec["id"]}, data=EMPTY,
                      pane=pane, hideout=hide, interactive=False)


def pane(spec: dict) -> dl.Pane:
    """The (initially empty) pane a layer is drawn into."""
    return dl.Pane(id={"type": "om-pane", "layer": spec["id"]}, name=pane_name(spec["id"]),
                   style={"zIndex": spec["z"]}, children=[])


def basemap(url: str, attribution: str) -> dl.TileLayer:
    """An intranet XYZ basemap under everything (only when ``settings.basemap_url`` is set)."""
    return dl.TileLayer(id="om-basemap", url=url, attribution=attribution, maxZoom=18)
