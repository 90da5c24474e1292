"""What the Emergency panel shows of an ``incident-assessment`` result, as plain data.

:func:`view_model` keeps what the panel needs of the process's answer (tables, summary, the map
features with rounded coordinates, the report id); everything else here turns that model into
words, rows and map features in one language. The Dash components are built from these in
:mod:`onemap.app.panels.emergency_render`, so switching language re-renders from the stored
model and never re-runs the analysis. Colours live here once: the map (``assets/emergency.js``
reads ``_color``) and the legend use the same values.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from onemap.app.i18n import pick, t
from onemap.app.panels.emergency_form import beijing
from onemap.app.panels.emergency_text import (
    compass,
    kind_label,
    name_or_code,
    pollutant_label,
    stability_name,
)

COLORS = {"point": "#D50000", "ring": "#455A64", "trace": "#1565C0", "intake": "#0D47A1",
          "section": "#00838F", "suspect": "#6A1B9A", "receptor": "#D81B60"}
#: Plume footprints from the least to the most severe threshold (the last is always dark red).
PLUME_COLORS = ("#FECC5C", "#FD8D3C", "#BD0026")
HOURS_DECIMALS = 1
SUSPECTS_SHOWN = 10
_REPORT_ID = re.compile(r"^[0-9a-f]{32}$")
_MAP_ROLES = ("ring", "plume", "trace", "intake", "section", "suspect", "receptor")
_KEEP = ("role", "id", "name", "kind", "level", "threshold_mg_m3", "area_km2", "distance_m",
         "arrival_h", "rank", "population", "reach_id", "from_h", "to_h", "ring_m",
         "plume_level")


def _round(coords: Any) -> Any:
    if isinstance(coords, list | tuple):
        if coords and isinstance(coords[0], int | float):
            return [round(float(c), 6) for c in coords]
        return [_round(c) for c in coords]
    return coords


def _walk(coords: Any) -> list[tuple[float, float]]:
    if isinstance(coords, list) and coords and isinstance(coords[0], int | float):
        return [(coords[0], coords[1])]
    return [p for c in coords or [] for p in _walk(c)]


def bbox(features: list[dict]) -> list[float] | None:
    """[minx, miny, maxx, maxy] of the features' coordinates (None when there are none)."""
    pts = [p for f in features for p in _walk((f.get("geometry") or {}).get("coordinates"))]
    if not pts:
        return None
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return [min(xs), min(ys), max(xs), max(ys)]


def view_model(result: dict, *, report_lang: str = "zh", station_name: str | None = None
               ) -> dict | None:
    """The panel's model of a result (None if it is not an incident assessment)."""
    if not isinstance(result, dict) or "tables" not in result or "summary" not in result:
        return None
    feats = []
    for f in ((result.get("features") or {}).get("features") or []):
        p = f.get("properties") or {}
        if p.get("role") not in _MAP_ROLES or not f.get("geometry"):
            continue
        geom = {"type": f["geometry"]["type"], "coordinates": _round(f["geometry"]["coordinates"])}
        feats.append({"type": "Feature", "geometry": geom,
                      "properties": {k: p[k] for k in _KEEP if p.get(k) is not None}})
    rid = str(result.get("report_id") or "")
    shown = [f for f in feats if f["properties"]["role"] not in ("suspect", "receptor")]
    return {"summary": result["summary"], "tables": result["tables"], "features": feats,
            "report_id": rid if _REPORT_ID.fullmatch(rid) else None,
            "report_lang": "en" if report_lang == "en" else "zh",
            "station_name": station_name, "bounds": bbox(shown)}


def _n(value: Any, nd: int = 0) -> str:
    try:
        return f"{float(value):,.{nd}f}"
    except (TypeError, ValueError):
        return "—"


def _km(metres: Any, nd: int = 2) -> str:
    try:
        return f"{float(metres) / 1000:,.{nd}f}"
    except (TypeError, ValueError):
        return "—"


def hours(value: Any) -> str:
    """Arrival hours as the panel prints them (also what the browser test compares)."""
    return _n(value, HOURS_DECIMALS)


def _medium(view: dict) -> str:
    return str((view["summary"].get("incident") or {}).get("medium") or "air")


def _rings(view: dict) -> list[dict]:
    return list(view["tables"].get("rings") or [])


def _receptors(view: dict) -> list[dict]:
    return list(view["tables"].get("receptors") or [])


def plume_levels(view: dict) -> list[dict]:
    """The plume table's rows with their colour (least severe first)."""
    rows = list(view["tables"].get("plume") or [])
    colors = PLUME_COLORS[-len(rows):] if 0 < len(rows) <= len(PLUME_COLORS) else None
    return [{**r, "color": colors[i] if colors else PLUME_COLORS[min(i, 2)]}
            for i, r in enumerate(rows)]


def level_name(row: dict, lang: str) -> str:
    return pick(str(row.get("name_zh") or row.get("level")), str(row.get("name_en") or ""), lang)


def headline(view: dict, lang: str) -> str:
    """One sentence answering the commander's question for this incident."""
    rings = _rings(view)
    outer = _km(rings[-1]["ring_m"], 0) if rings else "—"
    n = sum(1 for r in _receptors(view) if r.get("role") == "receptor" and r.get("ring_m"))
    pop = _n(rings[-1].get("population_cumulative") if rings else 0)
    common = {"rings": outer, "n": n, "pop": pop}
    s = view["summary"]
    if _medium(view) == "water":
        first = s.get("first_intake") or (s.get("downstream") or {}).get("first_intake")
        if first:
            people = next((r.get("population") for r in view["tables"].get("downstream") or []
                           if r.get("id") == first.get("id")), None)
            return t("em_headline_water", lang, hours=hours(first.get("arrival_h")),
                     name=name_or_code(first.get("name"), first.get("id"), lang),
                     people=_n(people), **common)
        max_h = _n((s.get("downstream") or {}).get("max_hours"))
        return t("em_headline_water_none", lang, hours=max_h, **common)
    reached = [r for r in plume_levels(view) if (r.get("area_km2") or 0) > 0]
    if not reached:
        return t("em_headline_air_none", lang, **common)
    top = reached[0]
    wind = s.get("wind") or {}
    inside = sum(1 for r in _receptors(view) if r.get("in_plume"))
    return t("em_headline_air", lang, level=level_name(top, lang),
             dir=compass(float(wind.get("from_deg") or 0) + 180.0, lang),
             km=_km(top.get("max_distance_m")), area=_n(top.get("area_km2"), 2),
             inside=inside, **common)


def summary_lines(view: dict, lang: str) -> list[str]:
    """The incident, the wind (and where it came from) or the trace, and the model's note."""
    s = view["summary"]
    inc = s.get("incident") or {}
    code = str((s.get("pollutant") or {}).get("code") or "")
    lines = [t("em_sum_incident", lang, pollutant=pollutant_label(code, lang),
               amount=_n(inc.get("amount_kg"), 0 if float(inc.get("amount_kg") or 0) >= 10
                         else 2),
               medium=t(f"em_medium_{_medium(view)}", lang), time=beijing(inc.get("time"))),
             t("em_sum_location", lang, lon=f"{float(inc.get('lon', 0)):.5f}",
               lat=f"{float(inc.get('lat', 0)):.5f}")]
    if _medium(view) == "air":
        wind = s.get("wind") or {}
        plume = s.get("plume") or {}
        deg = float(wind.get("from_deg") or 0)
        common = {"speed": _n(wind.get("speed_m_s"), 1), "deg": _n(deg),
                  "dir": compass(deg, lang)}
        if wind.get("source") in (None, "", "given"):
            lines.append(t("em_sum_wind_given", lang, **common))
        else:
            station = str(wind["source"])
            if lang == "zh" and view.get("station_name"):
                station = f"{view['station_name']}（{station}）"
            lines.append(t("em_sum_wind_station", lang, station=station,
                           km=_km(wind.get("station_distance_m")),
                           time=beijing(wind.get("time")), **common))
        if float(plume.get("wind_speed_used_m_s") or 0) > float(wind.get("speed_m_s") or 0):
            lines.append(t("em_sum_wind_min", lang))
        if plume.get("stability"):
            how = "em_stab_how_given" if plume.get("stability_given") else "em_stab_how_auto"
            lines.append(t("em_sum_stability", lang, cls=plume["stability"],
                           name=stability_name(plume["stability"], lang), how=t(how, lang),
                           sigma=t("em_sigma_urban" if plume.get("urban") else "em_sigma_rural",
                                   lang)))
            lines.append(t("em_sum_rate", lang, rate=_n(plume.get("rate_g_s"), 1),
                           minutes=_n(inc.get("duration_min"))))
        lines.append(t("em_note_air", lang))
    else:
        d = s.get("downstream") or {}
        lines.append(t("em_sum_trace", lang, km=_n(d.get("traced_km"), 1),
                       n=len(d.get("reaches") or []), speed=_n(d.get("flow_speed_m_s"), 2),
                       hours=_n(d.get("max_hours")), snap=_n(d.get("snap_distance_m"))))
        lines.append(t("em_note_water", lang))
    return lines


def has_lake(view: dict) -> bool:
    return any(r.get("lake") for r in view["tables"].get("trace") or [])


def legend_items(view: dict, lang: str) -> list[tuple[str, str, str]]:
    """(swatch kind, colour, label) for what the map shows of this result."""
    roles = {f["properties"]["role"] for f in view["features"]}
    items = [("point", COLORS["point"], t("em_key_point", lang)),
             ("ring", COLORS["ring"], t("em_key_ring", lang))]
    items += [("plume", r["color"], f"{level_name(r, lang)} ≥ {_n(r['threshold_mg_m3'], 2)} "
                                    "mg/m³")
              for r in plume_levels(view) if (r.get("area_km2") or 0) > 0]
    if "trace" in roles:
        items.append(("trace", COLORS["trace"], t("em_key_trace", lang)))
        if has_lake(view):
            items.append(("lake", COLORS["trace"], t("em_key_lake", lang)))
    for role in ("intake", "section", "receptor", "suspect"):
        if role in roles:
            items.append((role, COLORS[role], t(f"em_key_{role}", lang)))
    return items


def plume_rows(view: dict, lang: str) -> list[dict]:
    return [{"color": r["color"], "level": level_name(r, lang),
             "threshold": _n(r.get("threshold_mg_m3"), 2), "area": _n(r.get("area_km2"), 2),
             "reach": _km(r.get("max_distance_m"))} for r in plume_levels(view)]


def _kind_text(row: dict, lang: str) -> str:
    role = str(row.get("role") or "")
    kind = kind_label(role, row.get("kind"), lang)
    if role == "receptor":
        return kind
    return " · ".join(x for x in (t(f"em_role_{role}", lang), kind) if x)


def receptor_groups(view: dict, lang: str) -> list[tuple[str, list[dict]]]:
    """Receptors per ring, nearest first: (group heading, rows of name/kind/people/distance)."""
    rec = sorted(_receptors(view), key=lambda r: float(r.get("distance_m") or 0))
    start = (view["summary"].get("incident") or {}).get("time")
    groups = []
    for ring in _rings(view):
        rows = [r for r in rec if r.get("ring_m") == ring["ring_m"]]
        head = t("em_ring_group", lang, inner=_km(ring.get("inner_m"), 0).replace(",", ""),
                 outer=_km(ring["ring_m"], 0).replace(",", ""),
                 n=int(ring.get("n_receptors") or 0), people=_n(ring.get("population")))
        groups.append((head, [_receptor_row(r, lang, start) for r in rows]))
    outside = [r for r in rec if not r.get("ring_m")]
    if outside:
        groups.append((t("em_ring_outside", lang),
                       [_receptor_row(r, lang, start) for r in outside]))
    return groups


def _hours_after(start: object, end: object) -> float | None:
    try:
        a = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        b = datetime.fromisoformat(str(end).replace("Z", "+00:00"))
        return (b - a).total_seconds() / 3600.0
    except (TypeError, ValueError):
        return None


def _receptor_row(r: dict, lang: str, start: object = None) -> dict:
    flags = []
    if r.get("plume_level"):
        flags.append(t("em_in_level", lang, level=r["plume_level"]))
    if r.get("on_trace"):
        h = _hours_after(start, r.get("arrival_time"))
        if h is not None:
            flags.append(t("em_on_trace", lang, h=hours(h)))
    return {"id": r.get("id"), "name": name_or_code(r.get("name"), r.get("id"), lang),
            "kind": _kind_text(r, lang), "flags": flags, "in_plume": bool(r.get("in_plume")),
            "people": _n(r["population"]) if r.get("population") is not None else "",
            "distance": _km(r.get("distance_m"))}


def downstream_rows(view: dict, lang: str) -> list[dict]:
    """Intakes and sections downstream in the order the pollution reaches them."""
    rows = sorted(view["tables"].get("downstream") or [],
                  key=lambda r: float(r.get("arrival_h") or 0))
    return [{"id": r.get("id"), "kind": str(r.get("kind")),
             "kind_label": t(f"em_kind_{r.get('kind')}", lang)
             if r.get("kind") in ("intake", "section") else str(r.get("kind")),
             "name": name_or_code(r.get("name"), r.get("id"), lang),
             "along": _km(r.get("along_m"), 1), "hours": hours(r.get("arrival_h")),
             "time": beijing(r.get("arrival_time"))} for r in rows]


def suspect_rows(view: dict, lang: str, limit: int = SUSPECTS_SHOWN) -> list[dict]:
    rows = sorted(view["tables"].get("suspects") or [], key=lambda r: int(r.get("rank") or 0))
    yes_no = {True: t("em_yes", lang), False: t("em_no", lang)}
    return [{"rank": str(r.get("rank")), "code": str(r.get("source_id") or ""),
             "name": name_or_code(r.get("name"), r.get("source_id"), lang),
             "distance": _km(r.get("distance_m")),
             "upwind": yes_no.get(r.get("upwind"), "—"), "score": _n(r.get("score"), 2)}
            for r in rows[:limit]]


def map_data(view: dict | None, lang: str) -> tuple[dict | None, dict | None, dict | None]:
    """GeoJSON for the pane's three layers (areas, trace, points), each feature carrying its
    colour and tooltip in ``lang``; None for an empty layer."""
    if not view:
        return None, None, None
    lake = {r.get("reach_id") for r in view["tables"].get("trace") or [] if r.get("lake")}
    levels = {r["level"]: r for r in plume_levels(view)}
    layers: dict[str, list[dict]] = {"areas": [], "trace": [], "points": []}
    for f in view["features"]:
        p = f["properties"]
        role = p["role"]
        name = name_or_code(p.get("name"), p.get("id"), lang)
        extra: dict[str, Any] = {"_kind": role, "_color": COLORS.get(role, "#333")}
        if role == "ring":
            layer = "areas"
            extra["_tip"] = f"{_km(p.get('ring_m') or p.get('distance_m'), 0)} km"
        elif role == "plume":
            layer = "areas"
            lv = levels.get(p.get("level"), {})
            extra.update(_color=lv.get("color", PLUME_COLORS[0]), _level=p.get("level"),
                         _tip=t("em_tip_plume", lang, level=level_name(lv, lang) if lv else
                                p.get("level"), thr=_n(p.get("threshold_mg_m3"), 2),
                                area=_n(p.get("area_km2"), 2)))
        elif role == "trace":
            layer = "trace"
            extra.update(_lake=p.get("reach_id") in lake,
                         _tip=t("em_tip_trace", lang, name=name, t0=_n(p.get("from_h"), 1),
                                t1=_n(p.get("to_h"), 1)))
        else:
            layer = "points"
            if role in ("intake", "section"):
                extra["_tip"] = t("em_tip_target", lang, kind=t(f"em_kind_{role}", lang),
                                  name=name, h=hours(p.get("arrival_h")))
            elif role == "suspect":
                extra["_tip"] = t("em_tip_suspect", lang, rank=_n(p.get("rank")), name=name,
                                  km=_km(p.get("distance_m")))
            else:
                extra["_tip"] = t("em_tip_receptor", lang, name=name,
                                  km=_km(p.get("distance_m")),
                                  kind=kind_label("receptor", p.get("kind"), lang))
        # Only what the drawing needs: names reach the page through the tooltip alone, so an
        # English map carries no Chinese text.
        keep = {k: p[k] for k in ("role", "id", "level") if k in p}
        layers[layer].append({**f, "properties": {**keep, **extra}})

    def fc(feats: list[dict]) -> dict | None:
        return {"type": "FeatureCollection", "features": feats} if feats else None

    return fc(layers["areas"]), fc(layers["trace"]), fc(layers["points"])


def location_feature(lon: Any, lat: Any, lang: str) -> dict | None:
    """The chosen incident location as the pane's marker (None while it is not a position)."""
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        return None
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        return None
    tip = t("em_tip_point", lang, lon=f"{x:.5f}", lat=f"{y:.5f}")
    return {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
        "properties": {"_kind": "point", "_tip": tip}}]}
