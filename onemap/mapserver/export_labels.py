"""Words and symbols of the exported map (``exports.py``): popups with human labels, feature
styles and legends, in zh-CN or English.

Field labels come from the family schemas (``onemap.layers.families``), coded values from the
class tables of ``onemap.styles`` (water classes, AQI levels, incident levels…) or, failing
those, from the schema's Chinese aliases, so an exported popup reads like the app's; colours are
``onemap.styles.leaflet_style`` evaluated per feature, the same rule ``assets/onemap.js`` runs.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import pandas as pd

from onemap.analysis.report import esc
from onemap.layers.families import FAMILIES
from onemap.styles.symbology import AQI_LEVELS, FAMILY_STYLES, WATER_CLASSES, aqi_color, legend
from onemap.styles.symbology import leaflet_style as _leaflet_style

LABELS: dict[str, dict[str, str]] = {
    "zh": {"title": "OneMap 生态环境一张图 · 地图导出", "made": "导出时间", "tz": "北京时间",
           "extent": "范围（经度, 纬度）", "features": "{n} 个要素",
           "capped": "{title}：视图内要素超过 {n} 个，只导出了前 {n} 个；"
                     "放大地图后再导出可得到全部要素。",
           "air_at": "空气质量监测站按 {time}（北京时间）该小时的 AQI（HJ 633-2012）着色；"
                     "该小时无有效数据的站点为灰色。"},
    "en": {"title": "OneMap · Map export", "made": "Exported", "tz": "Beijing time",
           "extent": "Extent (lon, lat)", "features": "{n} features",
           "capped": "{title}: more than {n} features in the view, only the first {n} were "
                     "exported; zoom in and export again to get them all.",
           "air_at": "Air stations are coloured by the AQI of {time} (Beijing time, "
                     "HJ 633-2012); grey where that hour has no valid value."},
}

#: What the symbols of a layer drawn from a server view stand for.
VIEW_NOTES: dict[str, dict[str, str]] = {
    "air_stations": {"zh": "空气质量监测站按各站最新一小时的 AQI（HJ 633-2012）着色。",
                     "en": "Air stations are coloured by each station's latest hourly AQI "
                           "(HJ 633-2012)."},
    "water_sections": {"zh": "地表水断面按最近一次采样的水质类别（GB 3838-2002）着色。",
                       "en": "Water sections are coloured by the class of their latest sample "
                             "(GB 3838-2002)."},
}

#: The time-series family whose values a view adds to a layer (see mapserver/views.py).
VIEW_TABLES = {"air_stations": "air_hourly", "water_sections": "water_samples"}
#: Fields a view adds that no schema describes: (zh, en, unit).
EXTRA_FIELDS: dict[str, tuple[str, str, str]] = {
    "aqi": ("空气质量指数 AQI", "AQI", ""), "aqi_level": ("空气质量级别", "AQI level", ""),
    "primary_pollutant": ("首要污染物", "Primary pollutant", ""),
    "water_class": ("水质类别", "Water class", ""),
    "exceeding": ("超标项目（超标倍数）", "Exceeding (times over the limit)", ""),
    "sample_time": ("采样时间", "Sampling time", ""),
}
#: Shown first for these families (the state the symbol stands for).
LEAD_FIELDS = {"air_stations": ("aqi", "aqi_level", "primary_pollutant", "time"),
               "water_sections": ("water_class", "target_class", "sample_time", "exceeding")}
TITLE_FIELDS = {"incidents": "title", "water_source_zones": "source_name"}
HIDDEN = {"fid", "geometry"}
_WATER = {c.value: c for c in WATER_CLASSES}


def _labels(family: str) -> dict[str, tuple[str, str, str]]:
    """field -> (zh, en, unit) for a family's layer, in schema order: its own fields, then
    those its view adds (the time series' values, then :data:`EXTRA_FIELDS`)."""
    out: dict[str, tuple[str, str, str]] = {}
    for fam in (family, VIEW_TABLES.get(family)):
        for f in FAMILIES[fam].fields if fam in FAMILIES else ():
            out.setdefault(f.name, (f.label, f.label_en, f.unit))
    return {**out, **{k: v for k, v in EXTRA_FIELDS.items() if k not in out}}


def _missing(value: Any) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and not math.isfinite(value)


def _humanise(code: str) -> str:
    return code.replace("_", " ").capitalize()


def value_text(family: str, field: str, value: Any, lang: str) -> str:
    """A value as a person reads it: class names for codes, Beijing time, rounded numbers."""
    en = lang == "en"
    if field == "aqi_level" and not _missing(value):
        level = next((lv for lv in AQI_LEVELS if lv.level == int(value)), None)
        if level:
            return level.label_en if en else level.label
    if field in ("water_class", "target_class") and str(value) in _WATER:
        return _WATER[str(value)].text("en" if en else "zh")
    style = FAMILY_STYLES.get(family, {})
    if style.get("by") == field and style.get("classes"):
        cls = next((c for c in style["classes"] if c.value == str(value)), None)
        if cls:
            return cls.text("en" if en else "zh")
    spec = next((f for f in FAMILIES[family].fields if f.name == field), None) \
        if family in FAMILIES else None
    if spec and spec.choices and str(value) in spec.choices:
        zh = next((k for k, v in spec.value_aliases.items() if v == value), None)
        return _humanise(str(value)) if en or not zh else zh
    if isinstance(value, datetime):  # pandas Timestamps too, already in Beijing time
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if field == "exceeding" and isinstance(value, str):
        names = _labels(family)
        parts = [p.split(":", 1) for p in value.split(",") if ":" in p]
        return ("; " if en else "；").join(
            f"{names.get(k, (k, k, ''))[1 if en else 0]} {v}" for k, v in parts)
    return str(value)


def popup_fields(family: str, columns: list[str], lang: str) -> tuple[str, list[list[str]]]:
    """The title field of a layer's popups and its rows: ``[field, label, unit]`` for every
    column the layer has, the symbol's own state first, labels in ``lang``."""
    names = _labels(family)
    title = TITLE_FIELDS.get(family, "name")
    if title not in columns:
        key = FAMILIES[family].key if family in FAMILIES else ""
        title = key if key in columns else ""
    rows: list[list[str]] = []
    seen = {title, *HIDDEN}
    for field in (*LEAD_FIELDS.get(family, ()), *names, *columns):
        if field in seen or field not in columns:
            continue
        seen.add(field)
        zh, en, unit = names.get(field, (field, field, ""))
        rows.append([field, en if lang == "en" else zh, unit])
    return title, rows


def popup_values(family: str, fields: list[list[str]], props: dict[str, Any],
                 lang: str) -> list[str | None]:
    """One feature's values as text, aligned with ``fields`` (None where missing)."""
    return [None if _missing(props.get(f)) else value_text(family, f, props[f], lang)
            for f, _, _ in fields]


PATH_KEYS = ("stroke", "color", "weight", "opacity", "fill", "fillColor", "fillOpacity",
             "dashArray", "radius")


def feature_style(family: str, props: dict[str, Any]) -> dict[str, Any]:
    """Leaflet path options of one feature: the family's style with its class colour."""
    style = _leaflet_style(family)
    out = {k: style[k] for k in PATH_KEYS if k in style}
    by = style.get("by")
    if by:
        value = props.get(by)
        if "breaks" in style:
            colour = aqi_color(None if _missing(value) else float(value))
        else:
            colour = (style.get("colors") or {}).get(str(value), style.get("nodata", "#9E9E9E"))
        out["fillColor"] = colour
        out.setdefault("color", colour)
    return out


def layer_legend(family: str, geometry_type: str | None, title: str, count: int,
                 lang: str) -> str:
    """A layer's legend block: its title and count, a swatch per class."""
    style = _leaflet_style(family)
    kind = {"Point": "om-pt", "MultiPoint": "om-pt", "LineString": "om-ln",
            "MultiLineString": "om-ln"}.get(geometry_type or "", "")
    rows = []
    for label, colour in legend(family, "en" if lang == "en" else "zh"):
        edge = style.get("color", colour) if kind != "om-ln" else colour
        swatch = colour if kind or style.get("by") else style.get("fillColor", colour)
        rows.append(f'<div><i class="{kind}" style="background:{esc(swatch)};'
                    f'border-color:{esc(edge)}"></i>{esc(label or title)}</div>')
    head = LABELS[lang]["features"].format(n=f"{count:,}")
    return f"<h4>{esc(title)} <small>({esc(head)})</small></h4>{''.join(rows)}"
