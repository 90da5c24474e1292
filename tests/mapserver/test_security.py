"""No request can make the server read a file or URL of its choosing: every raster, cube, STAC,
upload, legend and zonal route takes catalogue ids from the path, ignores ``url=``/``path=``/
``src_path=`` query parameters, and answers 404/400 to ids that try to climb out of the data dir
or name a dataset of the wrong kind."""

from __future__ import annotations

import pytest
import requests

from onemap.catalog import Entry
from tests.conftest import Caller

pytestmark = pytest.mark.server

EVIL_VALUES = ["/etc/passwd", "file:///etc/passwd", "http://example.com/x.tif",
               "/vsicurl/http://example.com/x.tif", "../../../../etc/passwd"]
EVIL_IDS = ["..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "..%2F..%2F..%2Fetc%2Fpasswd",
            "%2E%2E", "NDVI", "no_such_dataset"]
FILE_PARAMS = {"url", "src_path", "path", "file", "filepath", "file_path", "src", "href"}


def _first(entries: dict[str, Entry], kind: str) -> str:
    ids = sorted(e.id for e in entries.values() if e.kind == kind)
    if not ids:
        pytest.fail(f"the sample catalogue has no {kind}")
    return ids[0]


def _routes(entries: dict[str, Entry]) -> list[str]:
    """GET routes that take a catalogue id, filled with real ids (contract routes)."""
    raster, cube = _first(entries, "raster"), _first(entries, "cube")
    collection = (entries[raster].extra or {}).get("collection") or raster
    return [
        f"/raster/{raster}/info", f"/raster/{raster}/statistics",
        f"/raster/{raster}/WebMercatorQuad/tilejson.json", f"/raster/{raster}/preview.png",
        f"/raster/{raster}/WebMercatorQuad/WMTSCapabilities.xml",
        f"/raster/{raster}/cog.tif", f"/raster/{raster}/zonal/red_lines?skipGeometry=true",
        f"/cube/{cube}/info", f"/cube/{cube}/WebMercatorQuad/tilejson.json",
        f"/api/rasters/{raster}", "/api/legends/onemap_ndvi",
        f"/stac/collections/{collection}", f"/stac/collections/{collection}/items/{raster}",
    ]


@pytest.mark.parametrize("param", ["url", "path", "src_path"])
def test_file_parameters_are_ignored(live_server: str, entries: dict[str, Entry],
                                     param: str) -> None:
    for route in _routes(entries):
        sep = "&" if "?" in route else "?"
        normal = requests.get(f"{live_server}{route}", timeout=60)
        assert normal.status_code == 200, (route, normal.status_code, normal.text[:200])
        for evil in EVIL_VALUES:
            r = requests.get(f"{live_server}{route}{sep}{param}={requests.utils.quote(evil)}",
                             timeout=60)
            assert r.status_code == normal.status_code, (route, param, evil, r.status_code)
            assert "root:x:0:0" not in r.text, (route, evil)
            if "tilejson" in route:
                # titiler copies unknown query parameters into the tile URL template; the
                # tiles still name the dataset by id and everything read from it is unchanged.
                doc, ref = r.json(), normal.json()
                tiles = [t.split("?")[0] for t in doc.pop("tiles")]
                assert tiles == [t.split("?")[0] for t in ref.pop("tiles")], route
                assert doc == ref, route
            else:
                assert "example.com" not in r.text, (route, evil)
            if route.endswith((".png", ".tif")):
                assert r.content == normal.content, route


def _id_routes(entries: dict[str, Entry], bad: str) -> list[str]:
    raster = _first(entries, "raster")
    return [
        f"/raster/{bad}/info", f"/raster/{bad}/statistics", f"/raster/{bad}/cog.tif",
        f"/raster/{bad}/WebMercatorQuad/tilejson.json", f"/raster/{bad}/preview.png",
        f"/raster/{bad}/tiles/WebMercatorQuad/0/0/0.png", f"/raster/{bad}/point/117.3,31.6",
        f"/raster/{bad}/WebMercatorQuad/WMTSCapabilities.xml",
        f"/raster/{bad}/zonal/red_lines", f"/raster/{raster}/zonal/{bad}",
        f"/cube/{bad}/info", f"/cube/{bad}/WebMercatorQuad/tilejson.json",
        f"/cube/{bad}/tiles/WebMercatorQuad/0/0/0.png",
        f"/api/rasters/{bad}", f"/api/legends/{bad}", f"/api/legends/{bad}.png",
        f"/stac/collections/{bad}", f"/stac/collections/{bad}/items",
        f"/stac/collections/ndvi/items/{bad}",
    ]


@pytest.mark.parametrize("bad", EVIL_IDS)
def test_ids_cannot_escape_the_catalogue(live_server: str, entries: dict[str, Entry],
                                         bad: str) -> None:
    for route in _id_routes(entries, bad):
        r = requests.get(f"{live_server}{route}", timeout=60)
        assert r.status_code in (400, 404), (route, r.status_code)
        assert "root:" not in r.text, route
        assert r.headers.get("content-type", "").startswith("application/json"), route


def test_ids_of_the_wrong_kind_are_refused(live_server: str, entries: dict[str, Entry]) -> None:
    raster, cube = _first(entries, "raster"), _first(entries, "cube")
    vector = "red_lines"
    for route in (f"/raster/{vector}/info", f"/raster/{vector}/cog.tif",
                  f"/raster/{cube}/info", f"/raster/{vector}/zonal/red_lines",
                  f"/raster/{raster}/zonal/{raster}", f"/raster/{raster}/zonal/{cube}",
                  f"/raster/{raster}/zonal/air_hourly", f"/cube/{raster}/info",
                  f"/cube/{vector}/info"):
        r = requests.get(f"{live_server}{route}", timeout=60)
        assert r.status_code in (400, 404), (route, r.status_code)
        assert r.json().get("detail"), route


def test_upload_does_not_read_a_server_path(live_server: str, entries: dict[str, Entry],
                                            callers: dict[str, Caller]) -> None:
    """An upload names no file on the server: ``url=``/``path=`` without a body is refused and
    registers nothing, even for an analyst (who may upload)."""
    for param in ("url", "path", "src_path"):
        r = requests.post(f"{live_server}/api/rasters",
                          params={param: "/etc/passwd", "id": "evil_upload", "wait": "true"},
                          headers=callers["analyst"].headers, timeout=60)
        assert 400 <= r.status_code < 500, (param, r.status_code, r.text[:200])
        assert "root:" not in r.text
    listing = requests.get(f"{live_server}/api/rasters", timeout=30).json()
    assert "evil_upload" not in {r["id"] for r in listing["rasters"]}


def test_openapi_has_no_file_parameter(live_server: str) -> None:
    spec = requests.get(f"{live_server}/api/openapi.json", timeout=30).json()
    offenders = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if not isinstance(op, dict):
                continue
            for p in op.get("parameters", []):
                if p["name"].lower() in FILE_PARAMS:
                    offenders.append(f"{method.upper()} {path}: {p['name']}")
    assert not offenders, offenders
