"""The gate's part for OGC API EDR paths: each query's own parameters checked before pygeoapi
(which ignores unknown ones and answers some bad ``coords`` with a 500), the output format
chosen, errors given our ``detail``, parameter metadata given its zh names and standards.

- ``…/position|area|cube|locations[/{id}]``: unknown parameters, ``coords`` that is not a
  point (position) or polygon (area) in CRS84, a ``bbox`` or ``datetime`` that is not one, a
  ``crs`` other than CRS84, an unknown ``parameter-name`` → 400 ``{code, detail}``.
  ``parameter_names`` (what OWSLib 0.35's ``query_data`` sends) is read as ``parameter-name``.
  ``f`` is ``json`` (CoverageJSON, also when absent: these are data, not pages) or
  ``geojson`` (handed to the provider as :data:`onemap.mapserver.edr.OUTPUT`).
- ``/collections`` and ``/collections/{id}`` in JSON: each EDR parameter gains its zh label
  and the meaning pygeoapi has no key for (HJ 633, GB 3838, HJ 212; :mod:`edr_params`).
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qsl, urlencode

import shapely

from onemap.mapserver.edr import OUTPUT, time_bounds
from onemap.mapserver.edr_params import params_of

QUERIES = ("position", "area", "cube", "locations")
#: ``z`` is in pygeoapi's OpenAPI document of every query: taken, and refused with a reason
_COMMON = {"f", "lang", "datetime", "parameter-name", "crs", "z"}
ALLOWED = {"position": _COMMON | {"coords"}, "area": _COMMON | {"coords"},
           "cube": _COMMON | {"bbox"}, "locations": _COMMON | {"bbox"}, "location": _COMMON}
SHAPES = {"position": ("Point", "MultiPoint"), "area": ("Polygon", "MultiPolygon")}
CRS84 = {"http://www.opengis.net/def/crs/OGC/1.3/CRS84", "CRS84", "OGC:CRS84",
         "urn:ogc:def:crs:OGC::CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84"}
FORMATS = {"json": "json", "covjson": "json", "coveragejson": "json", "geojson": "geojson"}


def query_of(parts: list[str]) -> str | None:
    """The EDR query a path asks (``location`` for ``locations/{id}``), else None."""
    if len(parts) == 3 and parts[0] == "collections" and parts[2] in QUERIES:
        return parts[2]
    if len(parts) == 4 and parts[0] == "collections" and parts[2] == "locations" and parts[3]:
        return "location"
    return None


def _a(query: str) -> str:
    return f"{'an' if query == 'area' else 'a'} {query}"


def _coords_problem(query: str, text: str) -> str | None:
    try:
        shape = shapely.from_wkt(text)
    except Exception:  # noqa: BLE001 - GEOS reports every parse error its own way
        return f"coords: {text[:80]!r} is not WKT, e.g. POINT(117.3 31.8)"
    if shape is None or shape.is_empty or shape.geom_type not in SHAPES[query]:
        return f"coords: {_a(query)} query takes {' or '.join(SHAPES[query]).upper()} WKT"
    xy = shapely.get_coordinates(shape)
    if not (xy[:, 0].min() >= -180 and xy[:, 0].max() <= 180 and xy[:, 1].min() >= -90
            and xy[:, 1].max() <= 90):
        return "coords: longitude and latitude in CRS84 (-180..180, -90..90)"
    if query == "area" and not shape.is_valid:
        return f"coords: the polygon is not valid ({shapely.is_valid_reason(shape)})"
    return None


def _bbox_problem(text: str) -> str | None:
    try:
        numbers = [float(v) for v in text.split(",")]
    except ValueError:
        return f"bbox: {text!r} is not numbers minx,miny,maxx,maxy"
    if len(numbers) not in (4, 6) or not all(math.isfinite(v) for v in numbers):
        return f"bbox: {text!r} — give 4 finite numbers minx,miny,maxx,maxy"
    half = len(numbers) // 2
    if numbers[0] > numbers[half] or numbers[1] > numbers[half + 1]:
        return f"bbox: {text!r} — the minimum exceeds the maximum"
    return None


def problem(query: str, pairs: list[tuple[str, str]], params: set[str]) -> str | None:
    """What is wrong with an EDR ``query`` (None: nothing)."""
    unknown = sorted({k for k, _ in pairs} - ALLOWED[query])
    if unknown:
        return (f"unknown query parameter(s) for {query}: {', '.join(unknown)}; allowed: "
                f"{', '.join(sorted(ALLOWED[query]))}")
    given = dict(pairs)
    if query in SHAPES and not given.get("coords"):
        return f"coords: {_a(query)} query needs WKT coords"
    if query == "cube" and not given.get("bbox"):
        return "bbox: a cube query needs bbox=minx,miny,maxx,maxy"
    checks = [
        _coords_problem(query, given["coords"]) if given.get("coords") else None,
        _bbox_problem(given["bbox"]) if given.get("bbox") else None,
    ]
    if given.get("f", "json") not in FORMATS:
        checks.append(f"f: {given['f']!r} — EDR answers f=json (CoverageJSON) or f=geojson")
    if given.get("z"):
        checks.append("z: these series have no vertical axis (stations at the surface)")
    if given.get("crs") and given["crs"] not in CRS84:
        checks.append(f"crs: only {sorted(CRS84)[0]} (coordinates are lon,lat)")
    if given.get("datetime"):
        try:
            time_bounds(given["datetime"])
        except (ValueError, TypeError, OverflowError) as exc:
            checks.append(f"datetime: {given['datetime']!r} is not an instant or interval "
                          f"({exc})")
    names = [n.strip() for n in given.get("parameter-name", "").split(",") if n.strip()]
    bad = [n for n in names if n not in params]
    if bad:
        checks.append(f"parameter-name: unknown {', '.join(bad)}; known: "
                      f"{', '.join(sorted(params))}")
    return next((c for c in checks if c), None)


def _aliased(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``parameter_names`` (OWSLib's spelling) read as ``parameter-name`` unless both come."""
    if any(k == "parameter-name" for k, _ in pairs):
        return pairs
    return [("parameter-name", v) if k == "parameter_names" else (k, v) for k, v in pairs]


async def _relay(app: Any, scope: dict, receive: Any, send: Any, edit: Any) -> None:
    """Run ``app`` and pass its answer on through ``edit(status, content_type, body)`` →
    (content_type, body)."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def capture(message: dict) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        headers = [(k, v) for k, v in start.get("headers", [])
                   if k.lower() not in (b"content-length", b"content-type")]
        ctype = next((v for k, v in start.get("headers", []) if k.lower() == b"content-type"),
                     b"").decode("latin-1")
        ctype, body = edit(start.get("status", 500), ctype, b"".join(chunks))
        headers += [(b"content-type", ctype.encode("latin-1")),
                    (b"content-length", str(len(body)).encode())]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    await app(scope, receive, capture)


async def handle(app: Any, scope: dict, receive: Any, send: Any, query: str,
                 family: str) -> str | None:
    """Answer an EDR query for a collection of ``family``; or return what is wrong with it
    (nothing sent: the caller answers the 400)."""
    pairs = _aliased(parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                               keep_blank_values=True))
    found = problem(query, pairs, set(params_of(family)))
    if found:
        return found
    output = FORMATS[dict(pairs).get("f", "json")]
    pairs = [(k, v) for k, v in pairs if k != "f"] + [("f", "json")]
    scope = {**scope, "query_string": urlencode(pairs).encode("latin-1")}
    token = OUTPUT.set(output)

    def edit(status: int, ctype: str, body: bytes) -> tuple[str, bytes]:
        if status >= 400 and "json" in ctype:
            try:
                doc = json.loads(body)
                doc.setdefault("detail", doc.get("description", ""))
                return ctype, json.dumps(doc, ensure_ascii=False).encode("utf-8")
            except (ValueError, AttributeError):
                return ctype, body
        if status == 200 and (output == "geojson" or query == "locations"):
            return "application/geo+json", body
        if status == 200:
            return "application/prs.coverage+json", body
        return ctype, body

    try:
        await _relay(app, scope, receive, send, edit)
    finally:
        OUTPUT.reset(token)
    return None


def _enrich(collection: dict, family: str) -> None:
    params = params_of(family)
    for pid, meta in (collection.get("parameter_names") or {}).items():
        p = params.get(pid)
        if p is None or not isinstance(meta, dict):
            continue
        meta.setdefault("observedProperty", {}).setdefault("label", {}).update(
            {"zh": p.zh, "en": p.en})
        meta["description"] = {"zh": p.meaning_zh, "en": p.meaning_en}
        meta.setdefault("unit", {}).setdefault("label", {}).update({"zh": p.unit, "en": p.unit})


def describe(doc: Any, families: dict[str, str]) -> Any:
    """pygeoapi's ``/collections[/{id}]`` JSON with the EDR parameters' zh labels and
    meanings."""
    if not isinstance(doc, dict):
        return doc
    items = doc.get("collections") if isinstance(doc.get("collections"), list) else [doc]
    for item in items:
        if isinstance(item, dict) and item.get("id") in families:
            _enrich(item, families[item["id"]])
    return doc
