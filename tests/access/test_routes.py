"""Every route is in the guard table (onemap/access/routes.py), and the table is what the
server does: the routes of each guard are requested for hidden datasets, processes and writes
and answer what the guard says."""

from __future__ import annotations

import re
import shutil

import morecantile
import pytest
import requests
from fastapi.routing import _IncludedRouter

from onemap import catalog
from onemap.access import routes
from onemap.config import Settings
from tests.conftest import Caller, Guarded

pytestmark = pytest.mark.server

#: Rows pygeoapi serves but leaves out of its OpenAPI document.
NOT_IN_OGC_OPENAPI = {"POST /ogc/collections/{collectionId}/items"}


def _walk(items, prefix: str = ""):
    """``METHOD /template`` of FastAPI routes (included routers flattened) and mounts."""
    for r in items:
        if isinstance(r, _IncludedRouter):
            yield from _walk(r.original_router.routes, prefix + r.include_context.prefix)
        elif getattr(r, "methods", None):
            for m in sorted(set(r.methods) - {"HEAD", "OPTIONS"}):
                yield f"{m} {prefix}{r.path}"
        elif getattr(r, "path", None):
            yield f"MOUNT {prefix}{r.path}"


@pytest.fixture(scope="module")
def in_process(sample_settings: Settings, tmp_path_factory: pytest.TempPathFactory
               ) -> tuple[set[str], set[str]]:
    """(FastAPI routes, Dash/Flask routes) of the app built in this process, on a copy of the
    sample (building writes pygeoapi's runtime files)."""
    from onemap.app import create_dash
    from onemap.mapserver import create_app

    data = tmp_path_factory.mktemp("routes") / "data"
    shutil.copytree(sample_settings.data_dir, data,
                    ignore=shutil.ignore_patterns("runtime", "server.log"))
    settings = Settings(data_dir=data)
    api = set()
    for row in _walk(create_app(settings).routes):
        method, path = row.split(" ", 1)
        if method == "MOUNT":
            if path == "/ogc":
                continue  # pygeoapi: enumerated from its OpenAPI document
            assert path.startswith("/static/vendor/"), row
            api.add("GET /static/vendor/{name}/{path:path}")
        else:
            api.add(row)
    flask = set()
    for rule in create_dash(settings).server.url_map.iter_rules():
        for m in sorted(set(rule.methods or ()) - {"HEAD", "OPTIONS"}):
            flask.add(f"{m} {routes.flask_template(rule.rule)}")
    return api, flask


def _documented(base: str, settings: Settings, admin: Caller) -> tuple[set[str], set[str]]:
    """(routes of /api/openapi.json, routes of /ogc/openapi with ids as parameters). The OGC
    document as an admin sees it: an anonymous caller's lacks the internal collections, and
    with them the feature edits of the internal incidents."""
    doc = requests.get(f"{base}/api/openapi.json", timeout=30).json()
    api = {f"{m.upper()} {p}" for p, ops in doc["paths"].items() for m in ops
           if m not in ("head", "options")}  # HEAD goes with GET
    doc = requests.get(f"{base}/ogc/openapi?f=json", headers=admin.headers, timeout=60).json()
    ids = "|".join(sorted(catalog.load(settings), key=len, reverse=True))
    ogc = set()
    for path, ops in doc["paths"].items():
        path = re.sub(rf"^/collections/({ids})(?=/|$)", "/collections/{collectionId}", path)
        path = re.sub(r"^/processes/[a-z0-9-]+(?=/|$)", "/processes/{processId}", path)
        ogc |= {f"{m.upper()} /ogc{path}" for m in ops
                if m in ("get", "post", "put", "patch", "delete")}
    return api, ogc


def test_every_route_is_in_the_guard_table(guarded: Guarded,
                                           in_process: tuple[set[str], set[str]],
                                           callers: dict[str, Caller]) -> None:
    api_doc, ogc_doc = _documented(guarded.base, guarded.settings, callers["admin"])
    api, flask = in_process
    assert api_doc <= api  # the document is of the same app
    everything = api | flask | ogc_doc
    missing = sorted(r for r in everything if routes.guard(*r.split(" ", 1)) is None)
    assert not missing, f"routes with no guard in onemap/access/routes.py: {missing}"
    stale = sorted(set(routes.ROUTES) - everything - NOT_IN_OGC_OPENAPI)
    assert not stale, f"guard table rows no route answers: {stale}"
    assert all(g.split(":")[0] in routes.GUARDS for g in routes.ROUTES.values())


def _fill(template: str, g: Guarded, dataset: str, cid: str, item: str) -> str:
    """A concrete URL path for ``template``, its point and tile inside ``dataset``."""
    w, s, e, n = catalog.get(dataset, g.settings).bbox
    lon, lat = (w + e) / 2, (s + n) / 2
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 9)
    values = {"dataset_id": dataset, "cid": cid, "item_id": item, "layer_id": "red_lines",
              "tileMatrixSetId": "WebMercatorQuad", "tms_id": "WebMercatorQuad",
              "z": tile.z, "x": tile.x, "y": tile.y, "lon": f"{lon:.5f}", "lat": f"{lat:.5f}",
              "minx": w, "miny": s, "maxx": e, "maxy": n, "width": 64, "height": 64,
              "format": "png"}
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), template)


def _feature(g: Guarded, dataset: str) -> dict:
    w, s, e, n = catalog.get(dataset, g.settings).bbox
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    return {"type": "Feature", "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _call(g: Guarded, method: str, path: str, who: Caller | None, body: dict | None
          ) -> requests.Response:
    return requests.request(method, f"{g.base}{path}", json=body, timeout=120,
                            headers=who.headers if who else {})


#: The dataset families this table test requests (the OGC collections' rows are requested by
#: the role × route matrix of tests/mapserver).
FAMILIES = ("/raster/", "/cube/", "/stac/", "/api/rasters/")


def test_dataset_routes_answer_404_for_hidden(guarded: Guarded,
                                              callers: dict[str, Caller]) -> None:
    """Every ``dataset:`` row: for a hidden dataset, anonymous gets the unknown-id answer; a
    viewer gets what anonymous gets for the public dataset the hidden one copies."""
    rows = [(r, gd) for r, gd in routes.ROUTES.items()
            if gd.startswith("dataset:") and r.split(" ", 1)[1].startswith(FAMILIES)]
    assert len(rows) >= 35
    checked = 0
    for row, _guard in rows:
        method, template = row.split(" ", 1)
        cube = template.startswith("/cube/")
        hidden, public = ((guarded.cube, "pm25_hourly") if cube
                          else (guarded.member, "ndvi_2025_07"))
        if template.startswith("/stac/"):
            hidden, public = guarded.alone, "gf1_wfv_2025_07_20"
        pub_cid = catalog.get(public, guarded.settings).extra.get("collection") or public
        body = None
        if method == "POST":
            body = _feature(guarded, public)
        secret = _fill(template, guarded, hidden, hidden, hidden)
        got = _call(guarded, method, secret, None, body)
        unknown = _call(guarded, method, secret.replace(hidden, "no_such_dataset"), None, body)
        assert got.status_code == unknown.status_code == 404, (row, got.status_code, got.text)
        assert got.json() == unknown.json() | {"detail": unknown.json()["detail"].replace(
            "no_such_dataset", hidden)}, row
        seen = _call(guarded, method, secret, callers["viewer"], body)
        ref = _call(guarded, method, _fill(template, guarded, public, pub_cid, public),
                    None, body)
        assert seen.status_code == ref.status_code, (row, seen.text, ref.text)
        assert seen.status_code != 404 or ref.status_code == 404, row
        checked += 1
    assert checked == len(rows)


def test_listing_rows_leave_hidden_out(guarded: Guarded, callers: dict[str, Caller]) -> None:
    hidden = (guarded.member, guarded.alone, guarded.cube)
    rows = [r.split(" ", 1)[1] for r, gd in routes.ROUTES.items()
            if gd == "listing" and r.startswith("GET ") and r.split(" ", 1)[1].startswith(
                ("/api/catalog", "/api/rasters", "/stac"))]
    assert len(rows) >= 5
    for path in rows:
        anon = requests.get(f"{guarded.base}{path}", timeout=60)
        mine = requests.get(f"{guarded.base}{path}", headers=callers["viewer"].headers,
                            timeout=60)
        assert anon.ok and mine.ok, path
        assert not any(h in anon.text for h in hidden), path
        assert any(h in mine.text for h in hidden), path
    procs = requests.get(f"{guarded.base}/ogc/processes?f=json", timeout=30).text
    assert "upwind-sources" not in procs and "aqi-daily" in procs


def test_write_and_process_rows(guarded: Guarded, callers: dict[str, Caller]) -> None:
    for row, gd in routes.ROUTES.items():
        method, template = row.split(" ", 1)
        if gd.startswith("write:") or gd == "self":
            path = template
            for param, value in (("{dataset_id}", "ndvi_2024_07"), ("{layer_id}", "rivers"),
                                 ("{name}", "viewer"),
                                 ("{key_id}", "0123456789ab"), ("{rule_id}", "1"),
                                 ("{collectionId}", "rivers"), ("{featureId}", "1")):
                path = path.replace(param, value)
            assert _call(guarded, method, path, None, None).status_code == 401, row
            if gd != "self":
                assert _call(guarded, method, path, callers["viewer"], None
                             ).status_code == 403, row
        elif gd == "process":
            path = template.replace("{processId}", "upwind-sources") + "?f=json"
            assert _call(guarded, method, path, None, {"inputs": {}}).status_code == 404, row
            assert _call(guarded, method, path, callers["viewer"], {"inputs": {}}
                         ).status_code == 404, row
