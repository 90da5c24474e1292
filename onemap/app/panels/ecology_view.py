"""Pure helpers of the Ecology panel: NDVI date choices, input checks, and what a result shows.

Nothing here talks to the server: the panel's callbacks (``ecology.py``) fetch, these functions
turn the ``ecology-change`` results and the area layer's attributes into the ranking table, the
bar chart, the map's GeoJSON and the notes, for one language. Keeping them pure lets the unit
tests check every number and word without a browser, and lets a language switch re-render from
the stored result without running the analysis again.
"""

from __future__ import annotations

import math
from typing import Any

from onemap.app.i18n import pick, t
from onemap.app.labels import VALUE_LABELS
from onemap.app.panels.ecology_text import (
    ID_FIELD,
    KIND_FIELD,
    area_label,
    has_cjk,
    indicator_names,
    kind_label,
)

#: Loss areas are shown with this many decimals (km²); tests compare at the same precision.
LOSS_DECIMALS = 2
#: Encroaching features listed in the panel (all of them are drawn on the map).
MAX_ENCROACH = 8
LOSS_COLOR = "#E60000"


# --- inputs ---------------------------------------------------------------------------------

def ndvi_choices(specs: list[dict]) -> list[dict]:
    """The NDVI rasters the process can compare, oldest first: ``{value, date, label_zh,
    label_en}`` from the page's layer specs (series steps and single NDVI rasters).

    Only single-band rasters drawn with the NDVI colormap qualify: the process refuses
    multi-band scenes (an NDVI *expression* over a 4-band scene is not an NDVI raster).
    """
    found: dict[str, dict] = {}
    series_ids: set[str] = set()
    for spec in specs:
        if spec.get("kind") != "raster" or spec.get("colormap") != "onemap_ndvi":
            continue
        if len(spec.get("bands") or []) > 1 or spec.get("expression"):
            continue
        title = (spec.get("title") or spec["id"], spec.get("title_en") or "")
        steps = spec.get("steps") or []
        for step in steps or [{"dataset": spec["id"], "label": ""}]:
            date = str(step.get("label") or "")
            found.setdefault(step["dataset"], {"value": step["dataset"], "date": date,
                                               "series": spec["id"], "title": title})
        series_ids.add(spec["id"])
    out = sorted(found.values(), key=lambda c: (c["date"] or "9999", c["value"]))
    many = len(series_ids) > 1
    for c in out:
        for lang in ("zh", "en"):
            name = pick(*c["title"], lang)
            label = c["date"] or name
            c[f"label_{lang}"] = f"{label} · {name}" if many and c["date"] else label
        del c["title"]
    return out


def date_options(choices: list[dict], lang: str) -> list[dict]:
    """Dropdown options: the dates (never the raster ids)."""
    return [{"label": c[f"label_{'en' if lang == 'en' else 'zh'}"], "value": c["value"]}
            for c in choices]


def _month(date: str) -> int | None:
    try:
        year, month = int(date[:4]), int(date[5:7])
    except (ValueError, IndexError):
        return None
    return year * 12 + month if 1 <= month <= 12 else None


def default_pair(choices: list[dict]) -> tuple[str | None, str | None]:
    """The newest "this year against the same month last year" pair (2024-07 → 2025-07 on the
    sample), so a first run answers "what was lost this year"; else oldest → newest."""
    if len(choices) < 2:
        return None, None
    by_month: dict[tuple[str, int], str] = {}
    for c in choices:
        m = _month(c["date"])
        if m is not None:
            by_month.setdefault((c["series"], m), c["value"])
    for c in reversed(choices):
        m = _month(c["date"])
        if m is not None and (c["series"], m - 12) in by_month:
            return by_month[(c["series"], m - 12)], c["value"]
    return choices[0]["value"], choices[-1]["value"]


def check_dates(before: str | None, after: str | None, choices: list[dict],
                lang: str) -> str | None:
    """What is wrong with the chosen dates, in words; None when they can be compared."""
    if not before or not after:
        return t("eco_err_pick", lang)
    dates = {c["value"]: c["date"] or c["value"] for c in choices}
    if before == after:
        return t("eco_err_same", lang, date=dates.get(before, before))
    b, a = dates.get(before, ""), dates.get(after, "")
    if b and a and b > a:
        return t("eco_err_order", lang, before=b, after=a)
    return None


def area_options(features: list[dict], layer: str, lang: str) -> list[dict]:
    """Multi-select options of an area layer: its name (in English its code and kind)."""
    field = ID_FIELD.get(layer, "id")
    out = []
    for f in features:
        props = f.get("properties") or {}
        aid = str(props.get(field) or f.get("id") or "")
        if not aid:
            continue
        label = area_label(aid, props.get("name"), lang)
        kind = kind_label(layer, props.get(KIND_FIELD.get(layer, "")), lang)
        if lang == "en" and kind:
            label = f"{label} · {kind}"
        out.append({"label": label, "value": aid})
    return sorted(out, key=lambda o: o["value"])


def area_meta(features: list[dict], layer: str) -> dict[str, dict]:
    """``{area id: {"name", "kind"}}`` from the layer's items (the ranking lacks the kind)."""
    field, kind = ID_FIELD.get(layer, "id"), KIND_FIELD.get(layer, "")
    out = {}
    for f in features:
        props = f.get("properties") or {}
        aid = str(props.get(field) or f.get("id") or "")
        if aid:
            out[aid] = {"name": props.get("name") or "", "kind": props.get(kind) or ""}
    return out


# --- results --------------------------------------------------------------------------------

def bbox(geometry: dict | None) -> list[float] | None:
    """[minx, miny, maxx, maxy] of a GeoJSON geometry (None when it has no coordinates)."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(c: Any) -> None:
        if isinstance(c, list | tuple) and c and isinstance(c[0], int | float):
            xs.append(float(c[0]))
            ys.append(float(c[1]))
        elif isinstance(c, list | tuple):
            for part in c:
                walk(part)

    walk((geometry or {}).get("coordinates"))
    for g in (geometry or {}).get("geometries") or []:
        box = bbox(g)
        if box:
            xs += [box[0], box[2]]
            ys += [box[1], box[3]]
    return [min(xs), min(ys), max(xs), max(ys)] if xs else None


def _features(result: dict, *roles: str) -> list[dict]:
    fc = (result or {}).get("features") or {}
    return [f for f in fc.get("features") or []
            if (f.get("properties") or {}).get("role") in roles]


def num(value: Any) -> float:
    """``value`` as a float, NaN when it is missing or not a number (JSON nulls, "")."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _by_loss(row: dict) -> tuple[float, float]:
    """Largest loss first; the process's rank breaks ties (missing values last)."""
    loss, rank = num(row.get("loss_km2")), num(row.get("rank"))
    return (-loss if math.isfinite(loss) else 0.0, rank if math.isfinite(rank) else math.inf)


def view_model(result: dict, layer: str, meta: dict[str, dict]) -> dict:
    """Everything the panel shows of one run, language-free: rows sorted by loss (largest
    first, the process's rank breaking ties), each with its name, kind and bbox."""
    boxes = {str(f["properties"].get("area_id")): bbox(f.get("geometry"))
             for f in _features(result, "area")}
    rows = []
    for r in (result or {}).get("ranking") or []:
        aid = str(r.get("area_id") or "")
        info = meta.get(aid, {})
        rows.append({**r, "area_id": aid, "name": r.get("name") or info.get("name") or "",
                     "kind": info.get("kind") or "", "bbox": boxes.get(aid)})
    rows.sort(key=_by_loss)
    summary = dict((result or {}).get("summary") or {})
    names = {r["area_id"]: r["name"] for r in rows}
    encroach = [{**e, "area_id": str(e.get("area_id") or ""),
                 "area_name": names.get(str(e.get("area_id") or ""), "")}
                for e in (result or {}).get("encroachment") or []]
    encroach.sort(key=lambda e: (e.get("kind") != "incident", str(e.get("time") or "")))
    return {"layer": layer, "rows": rows, "summary": summary, "encroachment": encroach,
            "approximated": list(summary.get("approximated") or []),
            "eri_applied": bool(summary.get("eri_applied"))}


def fmt(value: Any, decimals: int, *, sign: bool = False) -> str:
    """A number at fixed decimals ("—" when missing)."""
    v = num(value)
    if not math.isfinite(v):
        return "—"
    return f"{v:+.{decimals}f}" if sign else f"{v:.{decimals}f}"


def _date(choices: list[dict], dataset: str | None, lang: str) -> str:
    for c in choices:
        if c["value"] == dataset:
            return c[f"label_{'en' if lang == 'en' else 'zh'}"]
    return str(dataset or "—")


def summary_text(view: dict, choices: list[dict], lang: str) -> str:
    """One sentence: how many areas lost vegetation between which dates, and how much."""
    s = view.get("summary") or {}
    before = _date(choices, s.get("before"), lang)
    after = _date(choices, s.get("after"), lang)
    n = len(view.get("rows") or [])
    k = sum(1 for r in view.get("rows") or [] if num(r.get("loss_km2")) > 0)
    if not k:
        return t("eco_summary_none", lang, before=before, after=after, n=n)
    return t("eco_summary", lang, before=before, after=after, n=n, k=k,
             km2=fmt(s.get("total_loss_km2"), LOSS_DECIMALS))


def rule_text(view: dict, lang: str) -> str:
    """The loss rule the process applied (threshold and minimum patch size)."""
    s = view.get("summary") or {}
    return t("eco_rule", lang, thr=fmt(s.get("loss_threshold"), 2),
             px=s.get("min_pixels", "—"))


def approx_text(view: dict, lang: str) -> str:
    """Which EI indicators are approximated (as the process reports), and whether ERI is in."""
    keys = view.get("approximated") or []
    text = t("eco_approx", lang, names=indicator_names(keys, lang)) if keys else ""
    eri = t("eco_eri_on" if view.get("eri_applied") else "eco_eri_off", lang)
    return f"{text} {eri}".strip() if lang == "en" else f"{text}{eri}"


def incident_detail(detail: Any, lang: str) -> str:
    """An incident's "type level" codes ("water IV") in words (水污染 · 一般（Ⅳ级）)."""
    labels = VALUE_LABELS.get("incidents", {})
    words = []
    for code, field in zip(str(detail or "").split(), ("type", "level"), strict=False):
        pair = labels.get(field, {}).get(code)
        words.append(pick(pair[0], pair[1], lang) if pair else code)
    return " · ".join(words)


def encroach_items(view: dict, lang: str) -> tuple[list[dict], int]:
    """The first :data:`MAX_ENCROACH` encroaching features as ``{index, kind, title, where}``
    (incidents first), and how many were left out."""
    items = view.get("encroachment") or []
    out = []
    for i, e in enumerate(items[:MAX_ENCROACH]):
        kind = str(e.get("kind") or "")
        name = str(e.get("name") or "")
        title = name if name and (lang == "zh" or not has_cjk(name)) else str(
            e.get("feature_id") or "")
        detail = incident_detail(e.get("detail"), lang) if kind == "incident" else str(
            e.get("detail") or "")
        if lang == "en" and has_cjk(detail):
            detail = ""  # an industry's Chinese name; the code and the area say enough
        when = str(e.get("time") or "")[:16].replace("T", " ")
        extra = " · ".join(x for x in (detail, when) if x)
        out.append({"index": i, "kind": t(f"eco_kind_{kind}", lang) if kind in (
            "pollution_source", "incident") else kind, "title": title, "extra": extra,
            "where": t("eco_in_area", lang, area=area_label(e["area_id"], e.get("area_name"),
                                                              lang))})
    return out, max(0, len(items) - MAX_ENCROACH)


def encroach_counts(view: dict, lang: str) -> str:
    """How many sources and incidents lie inside, in how many areas."""
    items = view.get("encroachment") or []
    return t("eco_encroach_counts", lang,
             sources=sum(1 for e in items if e.get("kind") == "pollution_source"),
             incidents=sum(1 for e in items if e.get("kind") == "incident"),
             areas=len({e["area_id"] for e in items}))


def map_data(result: dict, view: dict, lang: str) -> tuple[dict, dict, dict]:
    """GeoJSON for the map (areas, loss patches, encroaching points), each feature carrying its
    tooltip in ``lang`` (``_tip``) so the browser only draws; areas that lost vegetation are
    flagged (``_hit``) to be outlined boldly."""
    rows = {r["area_id"]: r for r in view.get("rows") or []}

    def label(aid: str) -> str:
        return area_label(aid, (rows.get(aid) or {}).get("name"), lang)

    areas = []
    for f in _features(result, "area"):
        aid = str(f["properties"].get("area_id"))
        loss = num((rows.get(aid) or {}).get("loss_km2"))
        areas.append({"type": "Feature", "geometry": f.get("geometry"), "properties": {
            "area_id": aid, "_hit": loss > 0,
            "_tip": f"{label(aid)} · {t('eco_area_tip', lang, km2=fmt(loss, LOSS_DECIMALS))}"}})
    losses = []
    for f in _features(result, "loss"):
        p = f["properties"]
        km2 = num(p.get("area_m2")) / 1e6
        losses.append({"type": "Feature", "geometry": f.get("geometry"), "properties": {
            "area_id": str(p.get("area_id")), "patch": p.get("patch"),
            "_tip": f"{label(str(p.get('area_id')))} · " + t(
                "eco_loss_tip", lang, km2=fmt(km2, LOSS_DECIMALS),
                mean=fmt(p.get("mean_change"), 2))}})
    points = []
    for f in _features(result, "pollution_source", "incident"):
        p = f["properties"]
        kind = str(p.get("role"))
        name = str(p.get("name") or "")
        shown = name if lang == "zh" or not has_cjk(name) else str(p.get("feature_id") or "")
        points.append({"type": "Feature", "geometry": f.get("geometry"), "properties": {
            "kind": kind, "area_id": str(p.get("area_id")),
            "_tip": f"{t('eco_kind_' + kind, lang)} · {shown}"}})
    return ({"type": "FeatureCollection", "features": areas},
            {"type": "FeatureCollection", "features": losses},
            {"type": "FeatureCollection", "features": points})


# --- moving the map ---------------------------------------------------------------------------

#: An area is framed with this much room on each side (share of its width / height), so it
#: stays clear of the layer list and the dock that cover the map's edges.
PAD_X, PAD_Y = 0.6, 0.2


def goto_area(view: dict, area: str | None, specs: list[dict]) -> dict | None:
    """The ``om-goto`` request showing one area with its layer switched on (None if unknown)."""
    row = next((r for r in view.get("rows") or [] if r["area_id"] == area), None)
    if not row or not row.get("bbox"):
        return None
    minx, miny, maxx, maxy = row["bbox"]
    dx, dy = (maxx - minx) * PAD_X, (maxy - miny) * PAD_Y
    layer = view.get("layer") or "red_lines"
    return {"bounds": [minx - dx, miny - dy, maxx + dx, maxy + dy], "zoom": 14,
            "layers": [s["id"] for s in specs if s.get("family") == layer]}


def goto_point(view: dict, index: int | None) -> dict | None:
    """The ``om-goto`` request centring an encroaching source or incident (None if unknown)."""
    found = view.get("encroachment") or []
    if index is None or not 0 <= int(index) < len(found):
        return None
    e = found[int(index)]
    if e.get("lat") is None or e.get("lon") is None:
        return None
    return {"center": [e["lat"], e["lon"]], "zoom": 15}


def ndvi_step(specs: list[dict], dataset: str | None) -> tuple[str, int] | None:
    """(layer id, step index) of the raster layer drawing ``dataset`` (a series step or a
    single raster), so the after-date NDVI can be shown in the layer list's own row."""
    for spec in specs:
        if spec.get("kind") != "raster" or dataset not in (spec.get("datasets") or []):
            continue
        for i, step in enumerate(spec.get("steps") or []):
            if step.get("dataset") == dataset:
                return spec["id"], i
        return spec["id"], 0
    return None
