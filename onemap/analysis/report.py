"""The report of an emergency assessment: its JSON-safe summary and a standalone HTML page.

:func:`build_summary` and :func:`jsonable` make the summary and GeoJSON properties JSON-safe
(no NaN, ISO times); :func:`render` draws the folium map that opens offline.

Why offline: the report is mailed to a command post or copied onto a laptop on a closed
network, so it must open from a file with no network at all. folium renders a page that loads
Leaflet, jQuery, Bootstrap and Font Awesome from CDNs; we render it, then replace the Leaflet
``<script>``/``<link>`` tags with the contents of the locally installed XStatic-Leaflet package
(its CSS images inlined as data URIs) and drop every other external include. Only folium
features that need Leaflet alone are used (GeoJson, CircleMarker, Tooltip, HTML elements; not
Popup, which folium builds with jQuery), there are no basemap tiles unless a basemap URL is
given, and the summary is a plain HTML table on top of the map.
"""

from __future__ import annotations

import base64
import html
import math
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from onemap.analysis.emergency import EmergencyResult, Incident
    from onemap.analysis.plume import Pollutant, Wind

#: role -> (colour, radius for points); polygons/lines use the colour for their outline.
STYLE: dict[str, tuple[str, int]] = {
    "incident": ("#d7191c", 9), "ring": ("#555555", 0), "plume": ("#fdae61", 0),
    "trace": ("#2c7bb6", 0), "intake": ("#08519c", 8), "section": ("#41b6c4", 5),
    "receptor": ("#e7298a", 5), "protected_area": ("#1a9641", 0),
    "water_source_zone": ("#4393c3", 0), "suspect": ("#7b3294", 5)}
PLUME_COLOURS = ("#ffffb2", "#fd8d3c", "#bd0026")

LABELS: dict[str, dict[str, str]] = {
    "zh": {"title": "突发环境事件应急分析", "incident": "事件点", "ring": "缓冲圈",
           "plume": "烟羽影响范围", "trace": "下游追踪", "intake": "饮用水取水口",
           "section": "水质断面", "receptor": "环境敏感目标", "protected_area": "自然保护地",
           "water_source_zone": "饮用水水源保护区", "suspect": "疑似污染源",
           "summary": "概要", "time": "事件时间", "location": "位置", "medium": "介质",
           "air": "大气", "water": "水体", "pollutant": "污染物", "amount": "泄漏量 (kg)",
           "duration": "持续时间 (min)", "wind": "风",
           "wind_fmt": "{speed:.1f} m/s，来自 {deg:.0f}°（{src}）",
           "stability": "大气稳定度", "rings": "缓冲圈人口", "ring_row": "{r} km 内",
           "population": "人口", "receptors": "敏感目标数", "level": "阈值", "area": "面积 (km²)",
           "reach": "最远距离 (m)", "first_intake": "首个取水口到达", "none": "无",
           "downstream": "下游取水口与断面", "name": "名称", "along": "沿程距离 (km)",
           "arrival": "到达时间", "suspects": "疑似污染源（前 5）", "distance": "距离 (m)",
           "upwind": "上风向", "yes": "是", "no": "否", "traced": "追踪河长 (km)",
           "legend": "图例", "kind": "类型"},
    "en": {"title": "Environmental emergency assessment", "incident": "Incident",
           "ring": "Buffer ring", "plume": "Plume footprint", "trace": "Downstream trace",
           "intake": "Drinking-water intake", "section": "Water-quality section",
           "receptor": "Sensitive receptor", "protected_area": "Protected area",
           "water_source_zone": "Water-source protection zone", "suspect": "Suspected source",
           "summary": "Summary", "time": "Time", "location": "Location", "medium": "Medium",
           "air": "air", "water": "water", "pollutant": "Pollutant", "amount": "Amount (kg)",
           "duration": "Duration (min)", "wind": "Wind",
           "wind_fmt": "{speed:.1f} m/s from {deg:.0f}° ({src})", "stability": "Stability class",
           "rings": "Population in rings", "ring_row": "within {r} km",
           "population": "Population", "receptors": "Receptors", "level": "Threshold",
           "area": "Area (km²)", "reach": "Reach (m)", "first_intake": "First intake reached",
           "none": "none", "downstream": "Intakes and sections downstream", "name": "Name",
           "along": "Along river (km)", "arrival": "Arrival",
           "suspects": "Suspected sources (top 5)",
           "distance": "Distance (m)", "upwind": "Upwind", "yes": "yes", "no": "no",
           "traced": "Traced river (km)", "legend": "Legend", "kind": "Kind"},
}

_EXTERNAL_TAG = re.compile(
    r"""<script[^>]*\bsrc=["']((?:https?:)?//[^"']+)["'][^>]*>\s*</script>"""
    r"""|<link[^>]*\bhref=["']((?:https?:)?//[^"']+)["'][^>]*/?>""", re.IGNORECASE)


@cache
def _leaflet() -> tuple[str, str]:
    """The installed Leaflet's JS and CSS, the CSS images as data URIs."""
    import xstatic.pkg.leaflet as xl

    base = Path(xl.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    js = js.replace("//# sourceMappingURL=leaflet.js.map", "")
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    def inline(m: re.Match[str]) -> str:
        data = base64.b64encode((base / m.group(1)).read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    return js, re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)


def offline(page: str) -> str:
    """``page`` with Leaflet inlined and every other external script/stylesheet removed."""
    js, css = _leaflet()
    done = {"js": False, "css": False}

    def swap(m: re.Match[str]) -> str:
        url = (m.group(1) or m.group(2) or "").lower()
        if "leaflet" in url and url.endswith("leaflet.js") and not done["js"]:
            done["js"] = True
            return f"<script>{js}</script>"
        if "leaflet" in url and url.endswith("leaflet.css") and not done["css"]:
            done["css"] = True
            return f"<style>{css}</style>"
        return ""

    out = _EXTERNAL_TAG.sub(swap, page)
    # folium always includes Leaflet; be safe if it ever stops
    missing = ("" if done["js"] else f"<script>{js}</script>") + (
        "" if done["css"] else f"<style>{css}</style>")
    return out.replace("<head>", f"<head>{missing}", 1) if missing else out


def jsonable(value: Any) -> Any:
    """``value`` with NaN → None, timestamps → ISO strings, numpy scalars → Python."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    return value


def build_summary(incident: Incident, pol: Pollutant, wind: Wind | None,
                  tables: dict[str, pd.DataFrame], extra: dict[str, Any], note: str
                  ) -> dict[str, Any]:
    """The JSON-safe summary of an assessment: incident, pollutant and its thresholds, wind,
    population and receptors per ring, suspects, plus the medium's own part (``extra``)."""
    i, rec, sus = incident, tables["receptors"], tables["suspects"]
    people = rec[rec["role"] == "receptor"]
    out: dict[str, Any] = {
        "incident": {"lon": i.lon, "lat": i.lat, "time": i.time, "medium": i.medium,
                     "amount_kg": i.amount_kg, "duration_min": i.duration_min,
                     "release_height_m": i.release_height_m},
        "pollutant": {"code": pol.code, "zh": pol.zh, "en": pol.en, "source": pol.source,
                      "water_limit_mg_l": pol.water_limit_mg_l,
                      "occupational_mg_m3": pol.occupational_mg_m3,
                      "thresholds": [{"level": lv.code, "mg_m3": lv.value, "zh": lv.zh,
                                      "en": lv.en} for lv in pol.air_levels]},
        "wind": None if wind is None else {
            "speed_m_s": wind.speed_m_s, "from_deg": wind.from_deg,
            "source": wind.source, "station_distance_m": wind.station_distance_m,
            "time": wind.time},
        "rings": tables["rings"].to_dict("records"),
        "population_in_rings": {f"{r['ring_m']:g}": r["population"]
                                for r in tables["rings"].to_dict("records")},
        "receptors": {"total": len(rec), "by_role": rec["role"].value_counts().to_dict(),
                      "by_kind": people["kind"].value_counts().to_dict(),
                      "in_plume": int(rec["in_plume"].sum()),
                      "on_trace": int(rec["on_trace"].sum())},
        "suspects": {"count": len(sus), "top": sus.head(3)[
            ["rank", "source_id", "name", "distance_m", "upwind", "score"]].to_dict("records")},
        **extra,
    }
    down = extra.get("downstream")
    out["first_intake"] = down["first_intake"] if down else None
    out["notes"] = [note]
    return jsonable(out)


def esc(value: Any) -> str:
    """HTML-escaped text that is also safe inside folium's JS template literals."""
    text = html.escape("" if value is None else str(value))
    return text.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def _val(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return esc(value)


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, int | float):
        return f"{value:,.{digits}f}"
    return esc(value)


def _table(rows: list[list[Any]], head: list[str] | None = None, cls: str = "") -> str:
    out = [f'<table class="om-table {cls}">']
    if head:
        out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>")
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>")
    return "".join(out) + "</table>"


def _summary_html(result: EmergencyResult, t: dict[str, str]) -> str:
    s, inc = result.summary, result.incident
    pol = s["pollutant"]
    name = pol["zh"] if t is LABELS["zh"] else pol["en"]
    rows = [[t["time"], esc(inc.time.strftime("%Y-%m-%d %H:%M UTC%z"))],
            [t["location"], f"{inc.lon:.5f}, {inc.lat:.5f}"],
            [t["medium"], esc(t[inc.medium])], [t["pollutant"], f"{esc(name)} ({pol['code']})"],
            [t["amount"], _fmt(inc.amount_kg, 1)], [t["duration"], _fmt(inc.duration_min)]]
    if s.get("wind"):
        w = s["wind"]
        rows.append([t["wind"], esc(t["wind_fmt"].format(speed=w["speed_m_s"], deg=w["from_deg"],
                                                          src=w["source"]))])
    if s.get("plume"):
        rows.append([t["stability"], esc(s["plume"]["stability"])])
    for r in s["rings"]:
        rows.append([esc(t["ring_row"].format(r=f"{r['ring_m'] / 1000:g}")),
                     f"{t['population']} {_fmt(r['population_cumulative'])}"])
    down = s.get("downstream")
    if down:
        rows.append([t["traced"], _fmt(down["traced_km"], 1)])
        first = down.get("first_intake")
        rows.append([t["first_intake"], esc(t["none"]) if not first else
                     f"{esc(first['name'])} "
                     f"{esc(str(first['arrival_time'])[:16].replace('T', ' '))} "
                     f"({_fmt(first['arrival_h'], 1)} h)"])
    parts = [f"<h3>{esc(t['title'])}</h3>", _table(rows, cls="om-summary-table")]
    if s.get("plume"):
        levels = [[esc(lv["level"]), _fmt(lv["threshold_mg_m3"], 3), _fmt(lv["area_km2"], 3),
                   _fmt(lv["max_distance_m"])] for lv in s["plume"]["levels"]]
        parts.append(_table(levels, [t["level"], "mg/m³", t["area"], t["reach"]]))
    dt = result.tables["downstream"]
    if len(dt):
        parts.append(f"<h4>{esc(t['downstream'])}</h4>")
        parts.append(_table([[esc(t[r.kind]), esc(r.name), _fmt(r.along_m / 1000, 1),
                              esc(str(r.arrival_time)[:16])] for r in dt.head(12).itertuples()],
                            [t["kind"], t["name"], t["along"], t["arrival"]]))
    sus = result.tables["suspects"]
    if len(sus):
        parts.append(f"<h4>{esc(t['suspects'])}</h4>")
        parts.append(_table([[esc(r.name), _fmt(r.distance_m),
                              esc(t["yes"] if r.upwind is True else t["no"] if r.upwind is False
                                   else "–")] for r in sus.head(5).itertuples()],
                            [t["name"], t["distance"], t["upwind"]]))
    return "".join(parts)


_CSS = """<style>
#om-summary{position:absolute;top:10px;right:10px;z-index:1000;max-width:380px;max-height:92%;
 overflow:auto;background:rgba(255,255,255,.93);padding:8px 10px;border-radius:4px;
 font:12px/1.35 "Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;box-shadow:0 1px 4px #888}
#om-summary h3{margin:0 0 6px;font-size:15px} #om-summary h4{margin:8px 0 4px;font-size:13px}
.om-table{border-collapse:collapse;width:100%;margin-bottom:4px}
.om-table td,.om-table th{border:1px solid #ccc;padding:2px 4px;text-align:left}
#om-legend{position:absolute;top:90px;left:10px;z-index:1000;background:rgba(255,255,255,.93);
 padding:6px 8px;border-radius:4px;font:12px sans-serif;box-shadow:0 1px 4px #888}
#om-legend i{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:middle}
</style>"""


def metric_scale():  # type: ignore[no-untyped-def]
    """A scale bar in metres only: folium's ``control_scale`` adds miles too."""
    from branca.element import MacroElement
    from jinja2 import Template

    scale = MacroElement()
    scale._template = Template("{% macro script(this, kwargs) %}L.control.scale({imperial: false})"
                               ".addTo({{ this._parent.get_name() }});{% endmacro %}")
    return scale


def render(result: EmergencyResult, *, lang: str = "zh", basemap_url: str = "",
           basemap_attribution: str = "") -> str:
    """The report as one HTML document (labels in Chinese, or English with ``lang="en"``)."""
    import folium

    t = LABELS["en" if lang == "en" else "zh"]
    gj = result.to_geojson()
    minx, miny, maxx, maxy = result.features.total_bounds
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=11,
                   tiles=None, attribution_control=bool(basemap_url))
    metric_scale().add_to(m)
    if basemap_url:
        folium.TileLayer(basemap_url, attr=basemap_attribution or " ").add_to(m)
    # keep the features clear of the legend (left) and the summary panel (right)
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding_top_left=(160, 20),
                 padding_bottom_right=(400, 20))
    order = ["ring", "protected_area", "water_source_zone", "plume", "trace", "section",
             "receptor", "suspect", "intake", "incident"]
    feats = sorted(gj["features"], key=lambda f: order.index(f["properties"]["role"]))
    n_plume = 0
    for f in feats:
        p, role = f["properties"], f["properties"]["role"]
        colour, radius = STYLE[role]
        tip = f"{t[role]}: {p.get('name') or p.get('id') or ''}"
        if role == "plume":
            colour = PLUME_COLOURS[min(n_plume, len(PLUME_COLOURS) - 1)]
            n_plume += 1
        if f["geometry"]["type"] == "Point":
            lon, lat = f["geometry"]["coordinates"]
            # a tooltip, not a folium Popup: folium builds popups with jQuery
            details = "<br>".join(f"{esc(k)}: {_val(v)}" for k, v in p.items()
                                  if v is not None and k not in ("role", "name"))
            folium.CircleMarker([lat, lon], radius=radius, color=colour, weight=2, fill=True,
                                fill_color=colour, fill_opacity=0.8,
                                tooltip=folium.Tooltip(f"<b>{esc(tip)}</b><br>{details}")
                                ).add_to(m)
            continue
        style = {"color": colour, "weight": 4 if role == "trace" else 1.5,
                 "fill": role not in ("trace",), "fillColor": colour,
                 "fillOpacity": {"ring": 0.04, "plume": 0.45}.get(role, 0.2),
                 "dashArray": "6 4" if role == "ring" else None}
        folium.GeoJson(f, style_function=lambda _f, s=style: s,
                       tooltip=folium.Tooltip(esc(tip))).add_to(m)
    roles = [r for r in order if any(f["properties"]["role"] == r for f in feats)]
    legend = "".join(f'<div><i style="background:{STYLE[r][0]}"></i>{esc(t[r])}</div>'
                     for r in roles)
    root = m.get_root()
    root.header.add_child(folium.Element(f"<title>{esc(t['title'])}</title>{_CSS}"))
    root.html.add_child(folium.Element(
        f'<div id="om-summary">{_summary_html(result, t)}</div>'
        f'<div id="om-legend"><b>{esc(t["legend"])}</b>{legend}</div>'))
    page = offline(root.render())
    return page.replace("<html>", f'<html lang="{"en" if t is LABELS["en"] else "zh-CN"}">', 1)
