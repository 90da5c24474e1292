"""What pygeoapi says of a collection, made true for OneMap's two kinds of collection.

pygeoapi describes every feature collection alike: a spatial extent (it requires one in its
config, so an attribute table got a whole-world box), a ``crs`` list and ``storageCrs``, and a
``geometry`` of any type in its schema and queryables. An attribute table (hourly air data,
water samples: rows with a station id and a time, no geometry) has none of these, so a GIS
client must not be told of a world-spanning layer; and a layer's geometry has one type, which
Part 5 lets a schema say (``geometry-point``…), so clients know it before the first page.

:func:`rewrite_json` runs pygeoapi and passes its JSON answer through an edit; the gate
(:class:`onemap.mapserver.ogc_gate.RejectUnknownParams`) applies :func:`describe` to the
collection documents, their schemas and queryables. Other formats (HTML) pass unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

#: OGC API Features Part 5 geometry formats by GeoPackage geometry type.
GEOMETRY_FORMATS = {"point": "geometry-point", "multipoint": "geometry-multipoint",
                    "linestring": "geometry-linestring",
                    "multilinestring": "geometry-multilinestring",
                    "polygon": "geometry-polygon", "multipolygon": "geometry-multipolygon"}


#: Conformance classes pygeoapi declares that OneMap does not serve: job callbacks to a
#: subscriber's URL (the server never posts to an address a client chose, see
#: onemap/mapserver/processing/manager.py).
UNSERVED = ("http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/callback",)


#: OGC API Tiles classes served by our own vector-tile routes under /ogc
#: (:mod:`onemap.mapserver.vtiles`), which pygeoapi cannot know of (it declares Tiles only
#: for its own tile providers). Not ``oas30``: those routes are described in /api/openapi.json.
TILES = tuple(f"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{c}"
              for c in ("core", "tileset", "tilesets-list", "geodata-tilesets", "mvt"))


def undeclare_unserved() -> None:
    """Take :data:`UNSERVED` out of pygeoapi's conformance lists and add :data:`TILES`
    (module-level lists its ``conformance`` extends in place, so they are set at each
    load)."""
    from pygeoapi import api
    from pygeoapi.api import processes

    for classes in (processes.CONFORMANCE_CLASSES, api.CONFORMANCE_CLASSES):
        classes[:] = [c for c in classes if c not in UNSERVED and c not in TILES]
    api.CONFORMANCE_CLASSES.extend(TILES)


def geometry_format(geometry_type: str | None) -> str | None:
    """The Part 5 format of a layer's geometry type (None: a table without geometry)."""
    if not geometry_type:
        return None
    return GEOMETRY_FORMATS.get(geometry_type.lower().removesuffix(" z"), "geometry-any")


def _collection(doc: dict[str, Any]) -> dict[str, Any]:
    """A table's collection document without spatial extent and CRSs (temporal extent kept)."""
    extent = dict(doc.get("extent") or {})
    extent.pop("spatial", None)
    doc = {k: v for k, v in doc.items() if k not in ("crs", "storageCrs", "extent")}
    if extent:
        doc["extent"] = extent
    return doc


def _properties(doc: dict[str, Any], fmt: str | None) -> dict[str, Any]:
    props = doc.get("properties")
    if isinstance(props, dict) and "geometry" in props:
        if fmt is None:
            props.pop("geometry")
        else:
            props["geometry"] = {**props["geometry"], "format": fmt}
    return doc


def describe(parts: list[str], doc: Any, shapes: dict[str, str | None]) -> Any:
    """pygeoapi's JSON for ``/collections``, ``/collections/{id}`` and its ``schema`` and
    ``queryables``, with each collection as it is: ``shapes`` maps a collection id to its
    Part 5 geometry format, or None for an attribute table."""
    if not isinstance(doc, dict):
        return doc
    if parts == ["collections"] and isinstance(doc.get("collections"), list):
        doc["collections"] = [_collection(c) if isinstance(c, dict) and c.get("id") in shapes
                              and shapes[c["id"]] is None else c
                              for c in doc["collections"]]
    elif len(parts) == 2 and parts[1] in shapes and shapes[parts[1]] is None:
        doc = _collection(doc)
    elif len(parts) == 3 and parts[2] in ("schema", "queryables") and parts[1] in shapes:
        doc = _properties(doc, shapes[parts[1]])
    return doc


def openapi_tables(doc: dict[str, Any], tables: set[str]) -> dict[str, Any]:
    """pygeoapi's OpenAPI document without the CRS parameters of the attribute tables' items
    paths (there is no geometry to reproject). ``bbox`` stays: Part 1 has every collection
    take it (ogctests checks), and a table matches none."""
    spatial = {f"#/components/parameters/{name}" for name in ("crs", "bbox-crs")}
    for cid in tables:
        for path in (f"/collections/{cid}/items", f"/collections/{cid}/items/{{featureId}}"):
            get = ((doc.get("paths") or {}).get(path) or {}).get("get")
            if get and isinstance(get.get("parameters"), list):
                get["parameters"] = [p for p in get["parameters"]
                                     if not (isinstance(p, dict) and p.get("$ref") in spatial)]
    return doc


def describes(parts: list[str]) -> bool:
    """Whether a GET of ``parts`` (under /ogc) is one :func:`describe` edits."""
    return parts == ["collections"] or (len(parts) == 2 and parts[0] == "collections") or (
        len(parts) == 3 and parts[0] == "collections" and parts[2] in ("schema", "queryables"))


async def rewrite_json(app: Any, scope: dict, receive: Any, send: Any,
                       edit: Callable[[Any], Any]) -> None:
    """Run ``app`` and send its answer, a 200 JSON body passed through ``edit`` first."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def capture(message: dict) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await _forward(send, start, b"".join(chunks), edit)

    await app(scope, receive, capture)


async def _forward(send: Any, start: dict, body: bytes, edit: Callable[[Any], Any]) -> None:
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    if start.get("status") == 200 and b"json" in ctype:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if doc is not None:
            body = json.dumps(edit(doc), ensure_ascii=False).encode("utf-8")
    headers.append((b"content-length", str(len(body)).encode()))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})
