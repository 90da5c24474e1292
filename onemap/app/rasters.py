"""Raster layer-list entries built from the server's ``/api/rasters`` listing (over HTTP).

A raster is drawn by titiler from the ``tiles`` template the server hands out, with the server's
default rendering already in its query string, so the app never has to know how a dataset is
rendered. A *series* (a collection with two or more dated members, e.g. monthly NDVI or an hourly
PM2.5 cube) becomes ONE entry whose time slider picks the step; its members are not listed again.
Every URL given to the browser is made relative to the page's origin so the page also works
behind a proxy at any public URL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit

from onemap.styles.colormaps import RASTER_STYLES

#: TileJSON query parameters that the tile endpoint does not take (the URL says ``.png``).
TILEJSON_ONLY = frozenset({"tile_format", "tilesize", "minzoom", "maxzoom"})
#: Rasters draw above the base layers and under every vector layer.
RASTER_Z = 300
#: What a pixel value is called in the popup, by colormap (else the band names are shown).
VALUE_LABELS = {"onemap_ndvi": "NDVI", "onemap_pm25": "PM2.5"}
#: Times are stored in UTC; people here read Beijing time.
BEIJING = timezone(timedelta(hours=8))


def relative(url: str) -> str:
    """``url`` without scheme and host (path + query), as the browser should request it."""
    if not url:
        return ""
    parts = urlsplit(url)
    if not parts.scheme:
        return url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def time_label(value: str | None) -> str:
    """A date as given (``2025-07``, ``2025-07-01``); a date-time in Beijing time (minutes)."""
    text = str(value or "")
    if "T" not in text:
        return text
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _tiles_from_tilejson(item: dict) -> tuple[str, dict[str, str]]:
    """The tile template for a server that only lists TileJSON URLs (before issue 4)."""
    query = {k: v for k, v in parse_qsl(urlsplit(item.get("tilejson") or "").query)
             if k not in TILEJSON_ONLY}
    colormap = query.get("colormap_name") or "onemap_ndvi"
    style = RASTER_STYLES.get(colormap)
    if "rescale" not in query and style is not None:
        query["rescale"] = f"{style.vmin:g},{style.vmax:g}"
    query.setdefault("colormap_name", colormap)
    path = urlsplit(item.get("tilejson") or "").path
    root = path.split(f"/raster/{item['id']}/")[0] if path else ""
    tiles = f"{root}/raster/{item['id']}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png"
    return f"{tiles}?{urlencode(query, safe=',')}", query


def _rescale(value: object, query: dict[str, str]) -> list[float]:
    if isinstance(value, list | tuple) and len(value) >= 2:
        if isinstance(value[0], list | tuple):
            value = value[0]
        try:
            return [float(value[0]), float(value[1])]  # type: ignore[index]
        except (TypeError, ValueError):
            return []
    text = query.get("rescale", "")
    try:
        return [float(v) for v in text.split(",")][:2] if text else []
    except ValueError:
        return []


def _bidx(value: object, query: dict[str, str]) -> list[int]:
    """The bands drawn (e.g. [3, 2, 1] for true colour), from the summary or the tile URL."""
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return value
    try:
        return [int(v) for v in query.get("bidx", "").split(",") if v]
    except ValueError:
        return []


def band_names(item: dict) -> list[str]:
    """Band names in file order (``b1``… when the server gives none)."""
    out = []
    for i, band in enumerate(item.get("bands") or [], start=1):
        name = band.get("name") if isinstance(band, dict) else str(band)
        out.append(str(name or f"b{i}"))
    return out


def named_expression(expression: str, names: list[str]) -> str:
    """``(b4-b3)/(b4+b3)`` spelt with band names: ``(nir-red)/(nir+red)``."""
    def name(m: re.Match[str]) -> str:
        i = int(m.group(1))
        return names[i - 1] if 0 < i <= len(names) else m.group(0)
    return re.sub(r"\bb(\d+)\b", name, expression)


def _union(boxes: list[list[float] | None]) -> list[float] | None:
    good = [b for b in boxes if b and len(b) == 4]
    if not good:
        return None
    return [min(b[0] for b in good), min(b[1] for b in good),
            max(b[2] for b in good), max(b[3] for b in good)]


def _value_label(colormap: str, expression: str, names: list[str]) -> str:
    if colormap in VALUE_LABELS:
        return VALUE_LABELS[colormap]
    return named_expression(expression, names) if expression else ""


def _titled(item: dict) -> tuple[str, str]:
    """Title pair with the date appended unless the title already names it."""
    date = str(item.get("date") or "")
    title = item.get("title") or item["id"]
    title_en = item.get("title_en") or ""
    label = time_label(date)
    if label and label[:7] not in title:
        title = f"{title}（{label}）"
        title_en = f"{title_en} ({label})" if title_en else ""
    return title, title_en


def single_spec(item: dict) -> dict:
    """Layer-list fields of one raster (or one cube drawn at its default time)."""
    if item.get("tiles"):
        url = relative(item["tiles"])
        query = dict(parse_qsl(urlsplit(url).query))
    else:
        url, query = _tiles_from_tilejson(item)
    colormap = str(item.get("colormap") or query.get("colormap_name") or "")
    expression = str(item.get("expression") or query.get("expression") or "")
    names = band_names(item)
    title, title_en = _titled(item)
    return {
        "id": item["id"], "title": title, "title_en": title_en, "url": url,
        "point": relative(item.get("point") or ""), "bounds": item.get("bounds"),
        "colormap": colormap, "rescale": _rescale(item.get("rescale"), query),
        "unit": str(item.get("unit") or ""), "bands": names, "expression": expression,
        "value_label": _value_label(colormap, expression, names),
        "legend": relative(item.get("legend") or ""), "datasets": [item["id"]],
        "steps": [], "step": 0, "bidx": _bidx(item.get("bidx"), query),
    }


def series_spec(series: dict, members: dict[str, dict]) -> dict:
    """One layer-list entry for a whole series; the last (newest) step is shown first."""
    steps = sorted(series.get("steps") or [], key=lambda s: str(s.get("datetime") or ""))
    first = members.get(steps[0].get("dataset", ""), {}) if steps else {}
    colormap = str(series.get("colormap") or first.get("colormap") or "")
    expression = str(first.get("expression") or "")
    names = band_names(first)
    query = dict(parse_qsl(urlsplit(relative(steps[-1].get("tiles", ""))).query)) if steps else {}
    out_steps = [{"datetime": s.get("datetime"), "label": time_label(s.get("datetime")),
                  "dataset": s.get("dataset", ""), "url": relative(s.get("tiles") or ""),
                  "point": relative(s.get("point") or "")} for s in steps]
    last = out_steps[-1] if out_steps else {"url": "", "point": ""}
    return {
        "id": series["id"], "title": series.get("title") or series["id"],
        "title_en": series.get("title_en") or "", "url": last["url"], "point": last["point"],
        "bounds": _union([members.get(s["dataset"], {}).get("bounds") for s in out_steps]),
        "colormap": colormap, "rescale": _rescale(series.get("rescale"), query),
        "unit": str(series.get("unit") or first.get("unit") or ""), "bands": names,
        "expression": expression, "value_label": _value_label(colormap, expression, names),
        "legend": relative(first.get("legend") or ""),
        "datasets": sorted({s["dataset"] for s in out_steps}),
        "steps": out_steps, "step": len(out_steps) - 1, "bidx": _bidx(first.get("bidx"), query),
    }


def raster_entries(doc: object) -> list[dict]:
    """Layer-list fields for every raster and series of a ``/api/rasters`` answer, in order.

    Accepts the bare list of older servers too. Series with fewer than two steps are not
    series to a user: their single raster is listed on its own.
    """
    if isinstance(doc, list):
        doc = {"rasters": doc}
    if not isinstance(doc, dict):
        return []
    items = [r for r in doc.get("rasters") or [] if isinstance(r, dict) and r.get("id")]
    members = {r["id"]: r for r in items}
    out: list[dict] = []
    in_series: set[str] = set()
    taken = set(members)
    for series in doc.get("series") or []:
        if not isinstance(series, dict) or not series.get("id"):
            continue
        if len(series.get("steps") or []) < 2:
            continue
        spec = series_spec(series, members)
        if spec["id"] in taken and spec["id"] not in spec["datasets"]:
            spec["id"] = f"{spec['id']}-series"  # a raster of that id is outside the series
        taken.add(spec["id"])
        in_series.update(spec["datasets"])
        out.append(spec)
    for item in items:
        if item["id"] not in in_series:
            out.append(single_spec(item))
    return out


def step_of(spec: dict, index: int | None) -> dict:
    """The step ``index`` of a series (clamped), or the layer itself for a single raster."""
    steps = spec.get("steps") or []
    if not steps:
        return {"url": spec.get("url", ""), "point": spec.get("point", ""),
                "dataset": spec["id"], "label": ""}
    i = spec.get("step", 0) if index is None else index
    return steps[max(0, min(int(i), len(steps) - 1))]
