"""Schemathesis hooks for fuzzing the live server (loaded by the CLI via ``SCHEMATHESIS_HOOKS``).

Three things a fuzzer cannot know on its own:

- **Real ids.** Almost every route starts with a catalogue id; random strings only ever reach the
  404 of the id check. So each path parameter we know is drawn half the time from the real
  catalogue of the server under test (``ONEMAP_FUZZ_BASE``), half from schemathesis's own
  values; the query strings and bodies stay entirely the fuzzer's.
- **Data to keep.** schemathesis also reuses ids it read in responses (``GET /api/rasters``),
  so a DELETE (or a PUT replacing a layer) of a catalogued dataset is turned into one of an id
  that does not exist just before it is sent: the run must not delete or replace the datasets
  the rest of it fuzzes.
- **An offline intranet.** pygeoapi's OpenAPI document refers to parameters, responses and
  schemas on schemas.opengis.net, GitHub and geojson.org, which this network cannot reach.
  Before loading, each external ``$ref`` is replaced by a local equivalent: the parameters
  by their definitions (as the OGC documents give them), the bodies by open objects, the
  responses by a description only (their schemas are the OGC's, not ours to check).
"""

from __future__ import annotations

import os
from typing import Any

import requests
import schemathesis
from hypothesis import strategies as st

BASE = os.environ.get("ONEMAP_FUZZ_BASE", "")

#: OGC API parameters pygeoapi's document names by URL, as the OGC documents define them.
EXTERNAL_PARAMETERS = {
    "featureId": {"name": "featureId", "in": "path", "required": True,
                  "description": "local identifier of a feature", "schema": {"type": "string"}},
    "datetime": {"name": "datetime", "in": "query", "required": False, "style": "form",
                 "explode": False, "schema": {"type": "string"}},
    "sortby": {"name": "sortby", "in": "query", "required": False, "style": "form",
               "explode": False,
               "schema": {"type": "array", "minItems": 1,
                          "items": {"type": "string", "pattern": "[+|-]?[A-Za-z_].*"}}},
    # OGC API EDR 1.0 (ogcapi/edr/1.0/openapi/parameters)
    "positionCoords": {"name": "coords", "in": "query", "required": True,
                       "schema": {"type": "string"}},
    "areaCoords": {"name": "coords", "in": "query", "required": True,
                   "schema": {"type": "string"}},
    "bbox": {"name": "bbox", "in": "query", "required": False, "style": "form",
             "explode": False, "schema": {"type": "array", "minItems": 4, "maxItems": 6,
                                          "items": {"type": "number"}}},
    "locationId": {"name": "locId", "in": "path", "required": True,
                   "schema": {"type": "string"}},
    "parameter-name": {"name": "parameter-name", "in": "query", "required": False,
                       "style": "form", "explode": False, "schema": {"type": "string"}},
    "z": {"name": "z", "in": "query", "required": False, "schema": {"type": "string"}},
    # OGC API Records (ogcapi-records-1/1.0/openapi/parameters): free-text search terms
    "q": {"name": "q", "in": "query", "required": False, "style": "form", "explode": False,
          "schema": {"type": "array", "items": {"type": "string"}}},
}


def _localise(node: Any) -> Any:
    """``node`` with every external ``$ref`` replaced by a local equivalent."""
    if isinstance(node, list):
        return [_localise(v) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("http"):
        tail = ref.rsplit("/", 1)[-1].removesuffix(".yaml")
        if "/parameters/" in ref:
            return dict(EXTERNAL_PARAMETERS[tail])
        if "/responses/" in ref:
            return {"description": tail}
        return {"type": "object"}  # a schema: GeoJSON geometry, execute request, link
    return {k: _localise(v) for k, v in node.items()}


@schemathesis.hook
def before_load_schema(context: Any, raw_schema: dict[str, Any]) -> None:
    localised = _localise(raw_schema)
    raw_schema.clear()
    raw_schema.update(localised)


def _catalogue() -> dict[str, list[Any]]:
    """Real values of the path parameters, read from the server under test."""
    if not BASE:
        return {}
    datasets = requests.get(f"{BASE}/api/catalog", timeout=30).json()["datasets"]
    by_kind: dict[str, list[str]] = {}
    for d in datasets:
        by_kind.setdefault(d["kind"], []).append(d["id"])
    stac = requests.get(f"{BASE}/stac/collections", timeout=30).json()["collections"]
    items = []
    for c in stac[:2]:
        feats = requests.get(f"{BASE}/stac/collections/{c['id']}/items", timeout=30).json()
        items += [f["id"] for f in feats.get("features", [])[:2]]
    legends = requests.get(f"{BASE}/api/legends", timeout=30).json()
    bbox = next((d["bbox"] for d in datasets if d["kind"] == "raster" and d.get("bbox")),
                [116.7, 30.9, 118.2, 32.2])
    lon, lat = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return {
        "raster": by_kind.get("raster", []), "cube": by_kind.get("cube", []),
        "layer_id": by_kind.get("vector", []), "cid": [c["id"] for c in stac],
        "item_id": items,
        "name": [n if isinstance(n, str) else n.get("name") for n in
                 (legends if isinstance(legends, list) else legends.get("legends", []))][:5],
        "tileMatrixSetId": ["WebMercatorQuad", "WorldCRS84Quad"],
        "tms_id": ["WebMercatorQuad", "WorldCRS84Quad"],
        "featureId": ["1", "2", "10"],
        "z": [8, 10], "x": [int((lon + 180) / 360 * 2 ** 8), 845], "y": [105, 422],
        "lon": [lon], "lat": [lat],
        "minx": [bbox[0]], "miny": [bbox[1]], "maxx": [bbox[2]], "maxy": [bbox[3]],
        "width": [64, 256], "height": [64, 256],
        "format": ["png", "jpg", "tif", "webp", "npy", "jpeg", "pngraw"],
    }


REAL = _catalogue()


def _real_values(operation: Any, name: str) -> list[Any]:
    path, method = operation.path, operation.method.upper()
    if name in ("dataset_id", "layer_id") and method in ("DELETE", "PUT"):
        return []
    if name == "dataset_id":
        return REAL.get("cube" if path.startswith("/cube") else "raster", [])
    return REAL.get(name, [])


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    """Each known path parameter: the generated value or a real one (half and half)."""
    if context.operation is None or not path_parameters:
        return st.just(path_parameters)
    choices = {}
    for name, value in path_parameters.items():
        real = _real_values(context.operation, name)
        choices[name] = st.one_of(st.just(value), st.sampled_from(real)) if real \
            else st.just(value)
    return st.fixed_dictionaries(choices)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Never delete a catalogued dataset (see the module's docstring): its DELETE goes to a
    well-formed id that is not in the catalogue (a 404, which is what is fuzzed)."""
    params = case.path_parameters or {}
    for name in ("dataset_id", "layer_id"):
        # every id, not only those listed to anonymous callers: the run is an admin's, and
        # the internal layers (absent from the public list it reads) must stay too
        if case.operation.method.upper() in ("DELETE", "PUT") and isinstance(params.get(name),
                                                                             str):
            params[name] = "fuzz_kept_" + params[name]
