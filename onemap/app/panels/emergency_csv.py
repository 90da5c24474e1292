"""The Emergency panel's tables as CSV files, one per table, for Excel and for scripts.

Built in Python from the stored result (a ``dcc.Download``), not in the browser: one code path
for headers, coded values and number formats, testable without a page. Files are UTF-8 with a
byte-order mark, which is what makes Excel on a Chinese Windows read 中文 correctly instead of
guessing GBK. Headers and coded values (kinds, roles, yes/no) follow the page's language;
names are data and stay as the layers hold them, next to their codes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from onemap.app.i18n import pick, t
from onemap.app.panels.emergency_form import beijing
from onemap.app.panels.emergency_text import kind_label

#: (column key, zh header, en header, formatter name)
Column = tuple[str, str, str, str]

TABLES: dict[str, tuple[Column, ...]] = {
    "rings": (
        ("inner_m", "内半径 (m)", "Inner radius (m)", "n0"),
        ("ring_m", "外半径 (m)", "Outer radius (m)", "n0"),
        ("area_km2", "面积 (km²)", "Area (km²)", "n3"),
        ("n_receptors", "敏感点数", "Receptors", "n0"),
        ("n_protected_areas", "自然保护地数", "Protected areas", "n0"),
        ("n_water_source_zones", "水源保护区数", "Water-source zones", "n0"),
        ("population", "人口", "Population", "n0"),
        ("population_cumulative", "累计人口", "Cumulative population", "n0"),
    ),
    "receptors": (
        ("role", "类别", "Category", "role"),
        ("id", "编码", "Code", "text"),
        ("name", "名称", "Name", "text"),
        ("kind", "类型", "Kind", "kind"),
        ("distance_m", "距离 (m)", "Distance (m)", "n1"),
        ("bearing_deg", "方位 (°)", "Bearing (°)", "n1"),
        ("ring_m", "所在缓冲圈 (m)", "Ring (m)", "n0"),
        ("in_plume", "位于烟羽内", "In plume", "bool"),
        ("plume_level", "烟羽阈值", "Plume threshold", "text"),
        ("concentration_mg_m3", "浓度 (mg/m³)", "Concentration (mg/m³)", "n4"),
        ("population", "人口", "Population", "n0"),
        ("on_trace", "位于下游", "Downstream", "bool"),
        ("trace_along_m", "沿程距离 (m)", "Along river (m)", "n0"),
        ("arrival_time", "到达时间（北京时间）", "Arrival (Beijing time)", "time"),
    ),
    "downstream": (
        ("kind", "类别", "Category", "target"),
        ("id", "编码", "Code", "text"),
        ("name", "名称", "Name", "text"),
        ("reach_id", "河段", "Reach", "text"),
        ("along_m", "沿程距离 (m)", "Along river (m)", "n0"),
        ("offset_m", "距河道 (m)", "Off the river (m)", "n0"),
        ("arrival_h", "到达 (h)", "Arrival (h)", "n2"),
        ("arrival_time", "到达时间（北京时间）", "Arrival (Beijing time)", "time"),
        ("population", "服务人口", "Population served", "n0"),
    ),
    "plume": (
        ("level", "阈值", "Threshold", "text"),
        ("name", "含义", "Meaning", "level"),
        ("threshold_mg_m3", "浓度 (mg/m³)", "Concentration (mg/m³)", "n4"),
        ("area_km2", "面积 (km²)", "Area (km²)", "n4"),
        ("max_distance_m", "最远距离 (m)", "Reach (m)", "n0"),
        ("max_half_width_m", "最大半宽 (m)", "Half width (m)", "n0"),
    ),
    "trace": (
        ("reach_id", "河段", "Reach", "text"),
        ("name", "名称", "Name", "text"),
        ("lake", "湖区", "Lake", "bool"),
        ("from_m", "起点沿程 (m)", "From (m)", "n0"),
        ("to_m", "终点沿程 (m)", "To (m)", "n0"),
        ("from_h", "起 (h)", "From (h)", "n2"),
        ("to_h", "止 (h)", "To (h)", "n2"),
    ),
    "suspects": (
        ("rank", "排名", "Rank", "n0"),
        ("source_id", "排污单位编码", "Source code", "text"),
        ("name", "名称", "Name", "text"),
        ("industry", "行业", "Industry", "text"),
        ("distance_m", "距离 (m)", "Distance (m)", "n1"),
        ("bearing_deg", "方位 (°)", "Bearing (°)", "n1"),
        ("upwind", "上风向", "Upwind", "bool"),
        ("emits", "排放该污染物", "Emits the pollutant", "bool"),
        ("emission_t", "排放量 (t/a)", "Emission (t/a)", "n3"),
        ("score", "得分", "Score", "n4"),
    ),
}


def _num(nd: int) -> Callable[[Any, dict, str], str]:
    def fmt(v: Any, _row: dict, _lang: str) -> str:
        try:
            return f"{float(v):.{nd}f}"
        except (TypeError, ValueError):
            return ""
    return fmt


def _bool(v: Any, _row: dict, lang: str) -> str:
    return "" if v is None else t("em_yes" if v else "em_no", lang)


_FORMAT: dict[str, Callable[[Any, dict, str], str]] = {
    "text": lambda v, _r, _l: "" if v is None else str(v),
    "time": lambda v, _r, _l: beijing(v, seconds=True) if v and v != "NaT" else "",
    "bool": _bool,
    "role": lambda v, _r, lang: t(f"em_role_{v}", lang) if v else "",
    "kind": lambda v, r, lang: kind_label(str(r.get("role") or ""), v, lang),
    "target": lambda v, _r, lang: t(f"em_kind_{v}", lang) if v in ("intake", "section")
    else str(v or ""),
    "level": lambda _v, r, lang: pick(str(r.get("name_zh") or ""), str(r.get("name_en") or ""),
                                      lang),
    **{f"n{i}": _num(i) for i in range(5)},
}


def available(view: dict | None) -> list[str]:
    """The tables of a result that have rows, in :data:`TABLES` order."""
    tables = (view or {}).get("tables") or {}
    return [name for name in TABLES if tables.get(name)]


def csv_bytes(view: dict, table: str, lang: str) -> bytes:
    """One table of the result as UTF-8-with-BOM CSV in ``lang`` (KeyError: no such table)."""
    columns = TABLES[table]
    rows = list((view.get("tables") or {}).get(table) or [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([pick(zh, en, lang) for _key, zh, en, _f in columns])
    for row in rows:
        writer.writerow([_FORMAT[f](row.get(key), row, lang) for key, _zh, _en, f in columns])
    return out.getvalue().encode("utf-8-sig")


def filename(view: dict, table: str) -> str:
    """``incident-20250601-1020-downstream.csv``: when and what, in ASCII."""
    when = beijing(((view.get("summary") or {}).get("incident") or {}).get("time"))
    stamp = when.replace("-", "").replace(":", "").replace(" ", "-") or "result"
    return f"incident-{stamp}-{table}.csv"
