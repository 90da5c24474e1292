"""Phones and tablets: the map first, the rest in bottom sheets; "where am I".

On a narrow screen (≤ :data:`COMPACT_PX` wide: phones, tablets held upright) the layer list,
the legend, the analysis dock and the nearby list become sheets that slide up from a bar of
large buttons at the bottom; one is open at a time and none covers more than about half of the
map (``assets/mobile.css``). The bar and the sheets' state live in the browser
(``assets/mobile.js``): opening a sheet costs no round trip, and the page's URL state is the
same as on a desktop.

"Where am I" asks the browser for the position (it is refused on plain http other than
localhost: browsers allow geolocation on secure pages only, and the sheet says so), then reads
the nearest monitoring stations, pollution sources, drinking-water intakes and sensitive
receptors around it from the OGC API (the same items, under the same access rules, as any
client) and lists each with its distance and compass direction; a tap on one goes there.
"""

from __future__ import annotations

import json

from dash import html

from onemap.app.dock import text
from onemap.app.i18n import LANGS, STRINGS, add_strings

#: Widest viewport (CSS px) laid out as a phone/tablet; also in assets/mobile.css.
COMPACT_PX = 900
#: Families listed by "where am I": their id field (every one has ``name``).
NEARBY = {"air_stations": "station_id", "pollution_sources": "source_id",
          "water_intakes": "intake_id", "sensitive_receptors": "receptor_id"}
#: Nearest listed per family, and the search radii tried in turn (km).
NEAREST = 3
RADII_KM = (5, 20, 80)

add_strings(
    {"m_layers": "图层", "m_legend": "图例", "m_panels": "分析", "m_where": "我的位置",
     "m_report": "上报",
     "m_where_title": "我的位置与周边",
     "m_where_asking": "正在获取位置……",
     "m_where_insecure": "浏览器只在 https 页面（或本机 localhost）上提供定位；请通过 https 访问，"
                         "或在地图上点选位置。",
     "m_where_unsupported": "此浏览器不提供定位。",
     "m_where_denied": "未获准使用位置信息：请在浏览器设置中允许本站定位后再试。",
     "m_where_failed": "无法获取位置（{error}）。",
     "m_where_at": "当前位置：{lon}, {lat}（精度约 {accuracy} 米）",
     "m_where_none": "{radius} 千米内没有。",
     "m_where_read_failed": "无法读取{layer}：{error}",
     "m_where_again": "重新定位",
     "m_family_air_stations": "空气质量监测站", "m_family_pollution_sources": "污染源",
     "m_family_water_intakes": "饮用水取水口", "m_family_sensitive_receptors": "环境敏感点",
     "m_dir_N": "北", "m_dir_NE": "东北", "m_dir_E": "东", "m_dir_SE": "东南",
     "m_dir_S": "南", "m_dir_SW": "西南", "m_dir_W": "西", "m_dir_NW": "西北",
     "m_km": "{km} 千米", "m_m": "{m} 米"},
    {"m_layers": "Layers", "m_legend": "Legend", "m_panels": "Analysis", "m_where": "Where am I",
     "m_report": "Report",
     "m_where_title": "Where I am and what is near",
     "m_where_asking": "Finding your position…",
     "m_where_insecure": "Browsers give the position only to https pages (or localhost): open "
                         "the map over https, or tap your place on the map.",
     "m_where_unsupported": "This browser cannot give a position.",
     "m_where_denied": "Not allowed to use your position: allow this site in the browser's "
                       "settings and try again.",
     "m_where_failed": "Could not find your position ({error}).",
     "m_where_at": "You are at {lon}, {lat} (within about {accuracy} m)",
     "m_where_none": "None within {radius} km.",
     "m_where_read_failed": "Could not read {layer}: {error}",
     "m_where_again": "Locate again",
     "m_family_air_stations": "Air-quality stations",
     "m_family_pollution_sources": "Pollution sources",
     "m_family_water_intakes": "Drinking-water intakes",
     "m_family_sensitive_receptors": "Sensitive receptors",
     "m_dir_N": "N", "m_dir_NE": "NE", "m_dir_E": "E", "m_dir_SE": "SE",
     "m_dir_S": "S", "m_dir_SW": "SW", "m_dir_W": "W", "m_dir_NW": "NW",
     "m_km": "{km} km", "m_m": "{m} m"})

_JS_KEYS = ("m_where_asking", "m_where_insecure", "m_where_unsupported", "m_where_denied",
            "m_where_failed", "m_where_at", "m_where_none", "m_where_read_failed",
            *(f"m_family_{f}" for f in NEARBY),
            *(f"m_dir_{d}" for d in ("N", "NE", "E", "SE", "S", "SW", "W", "NW")),
            "m_km", "m_m")
#: The bar's buttons: sheet name → label key and an icon (text, no icon font to ship).
SHEETS = (("layers", "m_layers", "☰"), ("legend", "m_legend", "▤"),
          ("panels", "m_panels", "▦"), ("where", "m_where", "◎"), ("report", "m_report", "✚"))


def sheet_bar(lang: str) -> html.Nav:
    """The bottom bar (hidden on a wide screen): a large button per sheet."""
    return html.Nav([
        html.Button([html.Span(icon, className="om-m-icon", **{"aria-hidden": "true"}),
                     text(key, lang, className="om-m-label")],
                    type="button", className="om-m-tab",
                    **{"data-sheet": name, "aria-expanded": "false"})
        for name, key, icon in SHEETS], id="om-m-bar", className="om-m-bar")


def where_sheet(specs: list[dict], base: str, lang: str) -> html.Section:
    """The "where am I" sheet; ``assets/mobile.js`` fills it. Only the layers of this page
    (those the user may see) are searched."""
    found = {s["family"]: s["id"] for s in specs if s["family"] in NEARBY and
             s["kind"] == "vector"}
    layers = {f: {"id": found[f], "key": key} for f, key in NEARBY.items() if f in found}
    strings = {lang_: {k: STRINGS[lang_][k] for k in _JS_KEYS} for lang_ in LANGS}
    return html.Section([
        html.Div([text("m_where_title", lang, tag=html.H3, className="om-where-title"),
                  html.Button(text("m_where_again", lang), type="button",
                              className="om-button om-button-secondary om-where-again")],
                 className="om-where-head"),
        html.Div("", className="om-where-state", role="status", **{"aria-live": "polite"}),
        html.Div([], className="om-where-list"),
    ], id="om-where", className="om-where", **{
        "data-base": base, "data-layers": json.dumps(layers),
        "data-nearest": str(NEAREST), "data-radii": json.dumps(RADII_KM),
        "data-strings": json.dumps(strings, ensure_ascii=False)})
