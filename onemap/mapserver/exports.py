"""``GET /api/exports/map.html``: the map's current view as a standalone HTML map that opens
offline (``?layers=id1,id2&bbox=minx,miny,maxx,maxy&lang=zh|en[&time=2025-01-22T00:00:00Z]``).

Why on the server: the file must carry the features themselves (a laptop at a command post has
no server to ask), styled and labelled exactly like the app. The server has the layers, the
symbology (``onemap.styles``) and the field labels (``onemap.layers.families``), so it renders a
folium map here and inlines Leaflet the way the emergency report does
(:func:`onemap.analysis.report.offline`).

Layers are named by catalogue id, never by path; stations and sections are read from their
materialised views so they carry their latest AQI / water class, like the map shows them; with
``time`` (the map's time bar) the air stations carry the HJ 633 AQI of that hour instead. Only
features meeting the view are exported, lines and polygons cut to a margin around it, and a
layer with more than ``settings.app_max_features`` features in the view is capped at that many
with a note in the page saying so (a national inventory must not become a 500 MB file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import folium
import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from branca.element import Element
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Template

from onemap import catalog
from onemap.access import policy, scope
from onemap.access.policy import WHOLE, Limits
from onemap.access.principal import ANONYMOUS, Principal
from onemap.analysis.latest import latest_station_aqi
from onemap.analysis.report import esc, metric_scale, offline
from onemap.catalog import Entry
from onemap.config import Settings
from onemap.layers.normalise import TIMEZONE
from onemap.mapserver.auth import principal_of
from onemap.mapserver.clusters import ClusterError, parse_bbox
from onemap.mapserver.export_labels import (
    LABELS,
    VIEW_NOTES,
    feature_style,
    layer_legend,
    popup_fields,
    popup_values,
)
from onemap.mapserver.processing.data import read_hourly
from onemap.mapserver.sql import quote_ident
from onemap.mapserver.views import materialise

BAD = "InvalidParameterValue"
MAX_LAYERS = 30
#: Bottom to top, as the app stacks its panes; other families go by geometry.
DRAW_ORDER = ("admin_boundaries", "water_bodies", "rivers", "protected_areas", "red_lines",
              "water_source_zones", "sensitive_receptors", "pollution_sources", "water_intakes",
              "water_sections", "air_stations", "incidents")
_GEOMETRY_RANK = {"Polygon": 0, "MultiPolygon": 0, "LineString": 1, "MultiLineString": 1}
#: Lines and polygons are cut to the view plus this share of its size on each side, so their
#: cut edges stay outside the window when the page opens.
MARGIN = 0.25


class ExportError(ValueError):
    """A request the export cannot answer: HTTP status, error code and the reason in words."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


@dataclass
class Cut:
    """One layer's features in the view (``capped``: there were more than were kept)."""

    entry: Entry
    frame: gpd.GeoDataFrame
    capped: bool
    cap: int


def parse_layers(text: str, entries: dict[str, Entry], principal: Principal,
                 settings: Settings) -> list[tuple[Entry, Limits]]:
    """The catalogue entries named in ``text`` (comma-separated ids, each once, in order),
    each with what ``principal`` sees of it; one hidden from it is "no layer", as unknown."""
    ids = list(dict.fromkeys(i.strip() for i in (text or "").split(",") if i.strip()))
    if not ids:
        raise ExportError(400, BAD, "layers: name at least one layer id")
    if len(ids) > MAX_LAYERS:
        raise ExportError(400, BAD, f"layers: at most {MAX_LAYERS} layers, got {len(ids)}")
    out = []
    for lid in ids:
        if not catalog.ID_PATTERN.fullmatch(lid):
            raise ExportError(400, BAD, f"layers: {lid!r} is not a layer id")
        entry = entries.get(lid)
        limits = policy.limits(principal, entry, settings) if entry is not None else None
        if entry is None or limits is None:
            raise ExportError(404, "NotFound", f"no layer {lid!r}")
        if entry.kind != "vector":
            raise ExportError(400, BAD, f"layers: {lid!r} is a {entry.kind}, not a vector layer")
        out.append((entry, limits))
    return out


def _order(entry: Entry) -> tuple[int, int]:
    if entry.family in DRAW_ORDER:
        return (0, DRAW_ORDER.index(entry.family))
    return (1, _GEOMETRY_RANK.get(entry.geometry_type or "", 2))


def read_cut(entry: Entry, source: str, bbox: tuple[float, float, float, float],
             cap: int, limits: Limits = WHOLE) -> Cut:
    """The features of ``entry`` (read from ``source``) meeting ``bbox``, at most ``cap``;
    for a region-bound caller only those intersecting its region (before the cap counts)."""
    fids = scope.visible_fids(source, entry.id, limits)
    where = None
    if fids is not None:
        fid_column = pyogrio.read_info(source, layer=entry.id).get("fid_column") or "fid"
        where = scope.ids_sql(quote_ident(fid_column), fids)
    raw = pyogrio.read_dataframe(source, layer=entry.id, bbox=bbox, max_features=cap + 1,
                                 where=where, use_arrow=False)
    frame = raw[raw.geometry.notna() & raw.intersects(shapely.box(*bbox))]
    capped = len(raw) > cap
    frame = frame.iloc[:cap].copy()
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            frame[col] = frame[col].dt.tz_convert(TIMEZONE)
    geoms = frame.geometry.values
    if len(frame) and not all(shapely.get_type_id(geoms) == 0):  # not only points
        minx, miny, maxx, maxy = bbox
        dx, dy = (maxx - minx) * MARGIN, (maxy - miny) * MARGIN
        geoms = shapely.clip_by_rect(geoms, minx - dx, miny - dy, maxx + dx, maxy + dy)
        if shapely.get_num_coordinates(geoms).sum() > 200_000:  # finer than the screen
            geoms = shapely.simplify(geoms, (maxx - minx) / 4000, preserve_topology=True)
    frame = frame.set_geometry(shapely.set_precision(geoms, 1e-6, mode="pointwise"))
    return Cut(entry, frame, capped, cap)


def parse_time(text: str) -> pd.Timestamp | None:
    """The map's hour (an instant with its zone), or None for "latest"."""
    if not text:
        return None
    try:
        when = pd.Timestamp(text)
    except ValueError:
        raise ExportError(400, BAD, f"time: {text!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise ExportError(400, BAD, f"time: {text!r} needs a zone (Z or +08:00)")
    return when.tz_convert(TIMEZONE).floor("h")


def at_hour(cut: Cut, settings: Settings, when: pd.Timestamp) -> Cut:
    """Air stations with the AQI of hour ``when`` (HJ 633; null where no valid value), as the
    map colours them when its time bar is on that hour."""
    frame = latest_station_aqi(cut.frame, read_hourly(settings, when, when))
    if "time" in frame and len(frame):
        frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.tz_convert(TIMEZONE)
    return Cut(cut.entry, frame, cut.capped, cut.cap)


def safe_json(value: Any) -> str:
    """JSON that can sit inside a ``<script>`` (no ``</script>``, no HTML entities), with
    Chinese as UTF-8 rather than ``\\uXXXX`` (a third of the size)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for ch, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, code)
    return text


def layer_data(cut: Cut, lang: str) -> dict[str, Any]:
    """What the page needs to draw one layer: its title, popup rows ``[label, unit]``, the
    distinct styles, and the features with only a style index ``s``, a popup title ``t`` and
    the popup values ``v`` (labels and styles are shared, not repeated per feature)."""
    entry = cut.entry
    props = cut.frame.drop(columns="geometry")
    title_field, fields = popup_fields(entry.family, list(props.columns), lang)
    styles: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    features = []
    for geom, row in zip(cut.frame.geometry, props.to_dict("records"), strict=True):
        if geom is None or geom.is_empty:
            continue
        style = feature_style(entry.family, row)
        key = json.dumps(style, sort_keys=True)
        if key not in index:
            index[key] = len(styles)
            styles.append(style)
        title = row.get(title_field) if title_field else None
        features.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom),
                         "properties": {"s": index[key], "t": "" if title is None else str(title),
                                        "v": popup_values(entry.family, fields, row, lang)}})
    return {"title": entry.title_en if lang == "en" and entry.title_en else entry.title,
            "fields": [[label, unit] for _, label, unit in fields], "styles": styles,
            "icon": "triangle" if entry.family == "incidents" else "",
            "geojson": {"type": "FeatureCollection", "features": features}}


class Features(folium.map.Layer):
    """One layer drawn in plain Leaflet with shared styles and popups built by ``omExport``
    (see :data:`_SCRIPT`; folium's own popups need jQuery, which an offline page lacks)."""

    _template = Template("""{% macro script(this, kwargs) %}
var {{ this.get_name() }} = omExport.layer({{ this.payload }});
{% endmacro %}""")

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(name=data["title"], overlay=True, control=True, show=True)
        self._name = "Features"
        self.payload = safe_json(data)


#: The page's own script: draw a layer, build its popups (escaped), the incident triangles.
_SCRIPT = """<script>
var omExport = (function () {
  function esc(v) { return String(v).replace(/[&<>"']/g, function (c) {
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]; }); }
  function triangle(color) {
    return '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="22" viewBox="0 0 24 22">' +
      '<path d="M12 1 L23 21 H1 Z" fill="' + esc(color) + '" stroke="#000" stroke-width="1.5"/>' +
      '<text x="12" y="18" text-anchor="middle" font-size="12" font-weight="bold" ' +
      'font-family="sans-serif" fill="#000">!</text></svg>';
  }
  function popup(d, p) {
    var rows = "";
    d.fields.forEach(function (f, i) {
      var v = p.v[i];
      if (v === null || v === undefined) { return; }
      rows += "<tr><th>" + esc(f[0]) + "</th><td>" + esc(v) + (f[1] ? " " + esc(f[1]) : "") +
        "</td></tr>";
    });
    return '<div class="om-popup"><div class="om-popup-title">' + esc(p.t) + "</div>" +
      '<div class="om-popup-layer">' + esc(d.title) + "</div><table>" + rows + "</table></div>";
  }
  function layer(d) {
    return L.geoJSON(d.geojson, {
      style: function (f) { return d.styles[f.properties.s]; },
      pointToLayer: function (f, ll) {
        var s = d.styles[f.properties.s];
        if (d.icon === "triangle") {
          return L.marker(ll, {icon: L.divIcon({html: triangle(s.fillColor),
            className: "om-incident", iconSize: [24, 22], iconAnchor: [12, 14],
            popupAnchor: [0, -10]})});
        }
        return L.circleMarker(ll, s);
      },
      onEachFeature: function (f, l) { l.bindPopup(popup(d, f.properties), {maxWidth: 340}); }
    });
  }
  return {layer: layer};
}());
</script>"""


#: The app's fonts (assets/onemap.css): DejaVu Sans before WenQuanYi, whose Ⅴ is blank.
_CSS = """<style>
html,body{margin:0;height:100%} .folium-map{position:absolute;inset:0}
body,.leaflet-container{font-family:"Microsoft YaHei","PingFang SC","Helvetica Neue",Arial,
 "DejaVu Sans","WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif}
.leaflet-container{background:#DCE6EC}
.om-box{position:absolute;z-index:1000;background:rgba(255,255,255,.94);border-radius:4px;
 box-shadow:0 1px 4px #888;font-size:12px;line-height:1.4}
#om-head{top:10px;left:54px;max-width:440px;padding:6px 10px}
#om-head h3{margin:0 0 2px;font-size:15px} #om-head .om-note{color:#B71C1C}
#om-legend{bottom:30px;right:10px;max-height:60%;overflow:auto;padding:6px 10px;min-width:150px}
#om-legend h4{margin:6px 0 2px;font-size:12px} #om-legend h4:first-child{margin-top:0}
#om-legend i{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:middle;
 border:1px solid rgba(0,0,0,.35);box-sizing:border-box}
#om-legend i.om-pt{border-radius:50%} #om-legend i.om-ln{height:3px;border:none}
.om-popup-title{font-weight:bold;font-size:14px} .om-popup-layer{color:#607D8B;font-size:11px}
.om-popup table{border-collapse:collapse;margin-top:4px}
.om-popup th{text-align:left;padding:1px 8px 1px 0;color:#455A64;font-weight:normal}
.om-incident{background:none;border:none}
</style>"""


def render(cuts: list[Cut], bbox: tuple[float, float, float, float], lang: str,
           now: datetime | None = None, when: pd.Timestamp | None = None) -> str:
    """The standalone HTML page of ``cuts`` fitted to ``bbox``, words in ``lang``."""
    t = LABELS[lang]
    minx, miny, maxx, maxy = bbox
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=9, tiles=None,
                   attribution_control=False, control_scale=False)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    metric_scale().add_to(m)
    meta: list[dict[str, Any]] = []
    notes: list[str] = []
    legend: list[str] = []
    for cut in cuts:
        entry = cut.entry
        title = entry.title_en if lang == "en" and entry.title_en else entry.title
        data = layer_data(cut, lang)
        count = len(data["geojson"]["features"])
        Features(data).add_to(m)
        meta.append({"id": entry.id, "count": count, "capped": cut.capped})
        if cut.capped:
            notes.append(t["capped"].format(title=title, n=f"{cut.cap:,}"))
        if entry.family == "air_stations" and when is not None:
            notes.append(t["air_at"].format(time=when.strftime("%Y-%m-%d %H:%M")))
        elif entry.family in VIEW_NOTES:
            notes.append(VIEW_NOTES[entry.family][lang])
        legend.append(layer_legend(entry.family, entry.geometry_type, title, count, lang))
    folium.LayerControl(collapsed=True).add_to(m)
    stamp = (now or datetime.now(tz=ZoneInfo(TIMEZONE))).strftime("%Y-%m-%d %H:%M")
    head = (f"<h3>{esc(t['title'])}</h3><div>{esc(t['made'])} {stamp}（{esc(t['tz'])}）"
            f"</div><div>{esc(t['extent'])} {minx:.4f}, {miny:.4f} – {maxx:.4f}, {maxy:.4f}"
            "</div>" + "".join(f'<div class="om-note">{esc(n)}</div>' for n in notes))
    if lang == "en":
        head = head.replace("（", " (").replace("）", ")")
    root = m.get_root()
    root.header.add_child(Element(f"<title>{esc(t['title'])}</title>{_CSS}{_SCRIPT}"))
    root.html.add_child(Element(
        f'<div id="om-head" class="om-box">{head}</div>'
        f'<div id="om-legend" class="om-box">{"".join(legend)}</div>'
        '<script type="application/json" id="om-export-meta">'
        + json.dumps({"lang": lang, "bbox": list(bbox), "layers": meta,
                      "time": None if when is None else when.isoformat()}
                     ).replace("<", "\\u003c")
        + "</script>"))
    page = offline(root.render())
    return page.replace("<html>", f'<html lang="{"en" if lang == "en" else "zh-CN"}">', 1)


def export_view(settings: Settings, layers: str, bbox: str, lang: str, time: str = "",
                principal: Principal = ANONYMOUS) -> str:
    """The page for one request's parameters as ``principal`` sees the layers (ExportError
    for any bad one)."""
    if lang not in LABELS:
        raise ExportError(400, BAD, "lang: use zh or en")
    when = parse_time(time)
    try:
        box = parse_bbox(bbox)
    except ClusterError as err:
        raise ExportError(400, BAD, f"bbox: {err.detail}") from None
    entries = catalog.load(settings)
    chosen = sorted(parse_layers(layers, entries, principal, settings),
                    key=lambda pair: _order(pair[0]))
    views = materialise(entries, settings)
    cuts = []
    for e, limits in chosen:
        hourly = when is not None and e.family == "air_stations"
        source = e.file(settings) if hourly else views.get(e.id) or e.file(settings)
        cut = read_cut(e, str(source), box, settings.app_max_features, limits)
        cuts.append(at_hour(cut, settings, when) if hourly and when is not None else cut)
    return render(cuts, box, lang, when=when)


def export_router(settings: Settings) -> APIRouter:
    """``GET /api/exports/map.html`` (layers by catalogue id only)."""
    router = APIRouter(tags=["api"])

    @router.get("/api/exports/map.html", response_class=HTMLResponse, response_model=None,
                summary="The current view as a standalone offline HTML map (folium)")
    def map_html(
        request: Request,
        layers: str = Query("", description="Vector layer ids, comma-separated"),
        bbox: str = Query("", description="The view: minx,miny,maxx,maxy (lon/lat)"),
        lang: str = Query("zh", description="Words of the page: zh or en"),
        time: str = Query("", description="The map's hour (ISO 8601 with zone): air stations "
                                          "take that hour's AQI; empty for the latest"),
    ) -> HTMLResponse | JSONResponse:
        try:
            page = export_view(settings, layers, bbox, lang, time, principal_of(request))
        except ExportError as err:
            return JSONResponse({"code": err.code, "detail": err.detail}, err.status)
        day = datetime.now().strftime("%Y-%m-%d")
        return HTMLResponse(page, headers={
            "Content-Disposition": f'attachment; filename="onemap-{day}.html"'})

    return router
