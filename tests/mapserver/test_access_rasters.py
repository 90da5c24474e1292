"""Hidden means absent on the catalogue-level read paths: /api/catalog, /api/rasters, STAC,
every /raster/{id}/… route (titiler, COG, WMTS), the cubes — as anonymous, viewer, county
viewer and admin, over real HTTP against a real server; and real clients (GDAL, pystac-client)
reading an internal raster with an API key and getting 404 without one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

import morecantile
import pystac_client
import pytest
import requests

from onemap import catalog
from onemap.data.generate import INTERNAL_LAYERS
from tests.conftest import Caller, Guarded

pytestmark = pytest.mark.server

UNKNOWN = "no_such_raster"


def _get(g: Guarded, path: str, who: Caller | None = None, **kw) -> requests.Response:
    headers = who.headers if who is not None else {}
    return requests.get(f"{g.base}{path}", headers=headers, timeout=60, **kw)


def _absent_like_unknown(g: Guarded, path: str, hidden: str) -> None:
    """``path`` for ``hidden`` answers as anonymous exactly what it answers for an unknown
    id: same status (404), same body with the id swapped."""
    got = _get(g, path.format(id=hidden))
    ref = _get(g, path.format(id=UNKNOWN))
    assert got.status_code == ref.status_code == 404, (path, got.status_code, got.text)
    assert got.json() == json.loads(ref.text.replace(UNKNOWN, hidden)), path


def test_catalog_and_raster_lists_hide_internal(guarded: Guarded,
                                                callers: dict[str, Caller]) -> None:
    hidden = {guarded.member, guarded.alone, guarded.cube}
    internal_layers = set(INTERNAL_LAYERS)  # what the sample marks internal
    anon = {d["id"] for d in _get(guarded, "/api/catalog").json()["datasets"]}
    assert not anon & (hidden | internal_layers)
    assert {"ndvi_2025_07", "air_stations", "pm25_hourly"} <= anon
    for name in ("viewer", "analyst", "admin"):
        seen = {d["id"] for d in _get(guarded, "/api/catalog", callers[name]).json()["datasets"]}
        assert hidden | internal_layers | anon <= seen, name
    # a county viewer sees the internal layers (cut to the county elsewhere) but no internal
    # raster or cube: they cannot be cut by place
    county = {d["id"] for d in
              _get(guarded, "/api/catalog", callers["viewer_a"]).json()["datasets"]}
    assert internal_layers <= county and not county & hidden

    rasters = _get(guarded, "/api/rasters").json()
    assert not {r["id"] for r in rasters["rasters"]} & hidden
    steps = {s["dataset"] for series in rasters["series"] for s in series["steps"]}
    assert guarded.member not in steps and "ndvi_2025_07" in steps
    assert not {s["id"] for s in rasters["series"]} & {guarded.alone, guarded.cube}
    mine = _get(guarded, "/api/rasters", callers["viewer"]).json()
    assert hidden <= {r["id"] for r in mine["rasters"]}
    ndvi = next(s for s in mine["series"] if s["id"] == "ndvi")
    assert ndvi["steps"][-1]["dataset"] == guarded.member

    _absent_like_unknown(guarded, "/api/rasters/{id}", guarded.member)
    assert _get(guarded, f"/api/rasters/{guarded.member}", callers["viewer"]).json()[
        "access"] == "internal"
    assert _get(guarded, f"/api/rasters/{guarded.member}", callers["viewer_a"]
                ).status_code == 404


RASTER_PATHS = ["/raster/{id}/info", "/raster/{id}/cog.tif", "/raster/{id}/statistics",
                "/raster/{id}/point/{lon},{lat}", "/raster/{id}/preview.png?max_size=64",
                "/raster/{id}/WebMercatorQuad/tilejson.json",
                "/raster/{id}/tiles/WebMercatorQuad/{z}/{x}/{y}.png",
                "/raster/{id}/WebMercatorQuad/WMTSCapabilities.xml",
                "/raster/{id}/info?bidx=9", "/raster/{id}/statistics?expression=b7"]


def inside(g: Guarded, dataset_id: str, path: str) -> str:
    """``path`` with its point and tile at the centre of the dataset (``{id}`` left)."""
    w, s, e, n = catalog.get(dataset_id, g.settings).bbox
    lon, lat = (w + e) / 2, (s + n) / 2
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 9)
    return path.replace("{lon}", f"{lon:.5f}").replace("{lat}", f"{lat:.5f}").replace(
        "{z}", str(tile.z)).replace("{x}", str(tile.x)).replace("{y}", str(tile.y))


@pytest.mark.parametrize("path", RASTER_PATHS)
def test_raster_routes_answer_404_for_hidden(guarded: Guarded, callers: dict[str, Caller],
                                             path: str) -> None:
    path = inside(guarded, "ndvi_2025_07", path)
    _absent_like_unknown(guarded, path, guarded.member)
    public = _get(guarded, path.format(id="ndvi_2025_07"))
    for name in ("viewer", "admin"):
        got = _get(guarded, path.format(id=guarded.member), callers[name])
        # the same answer as for the public raster it copies (a bad bidx: the same 400)
        assert got.status_code == public.status_code, (name, path, got.text)
        assert got.status_code in (200, 400)
    assert _get(guarded, path.format(id=guarded.member), callers["viewer_a"]
                ).status_code == 404


def test_basic_auth_with_a_key_and_a_bad_key(guarded: Guarded,
                                             callers: dict[str, Caller]) -> None:
    url = f"{guarded.base}/raster/{guarded.member}/info"
    assert requests.get(url, auth=callers["viewer"].auth, timeout=30).status_code == 200
    bad = requests.get(url, auth=("viewer", "om_nope_nope"), timeout=30)
    assert bad.status_code == 401 and "Basic" in bad.headers["www-authenticate"]


def test_cube_routes_hide_internal_cube(guarded: Guarded, callers: dict[str, Caller]) -> None:
    for path in ("/cube/{id}/info", "/cube/{id}/WebMercatorQuad/tilejson.json",
                 "/cube/{id}/point/{lon},{lat}"):
        path = inside(guarded, "pm25_hourly", path)
        _absent_like_unknown(guarded, path, guarded.cube)
        ref = _get(guarded, path.format(id="pm25_hourly"))
        got = _get(guarded, path.format(id=guarded.cube), callers["viewer"])
        assert got.status_code == ref.status_code == 200, (path, got.text)


def test_stac_hides_internal_items_and_collections(guarded: Guarded,
                                                   callers: dict[str, Caller]) -> None:
    anon = {c["id"]: c for c in _get(guarded, "/stac/collections").json()["collections"]}
    assert guarded.alone not in anon and guarded.cube not in anon and "ndvi" in anon
    viewer = {c["id"]: c for c in
              _get(guarded, "/stac/collections", callers["viewer"]).json()["collections"]}
    assert {guarded.alone, guarded.cube, "ndvi"} <= set(viewer)
    # the public series does not leak its hidden step's date through its extent
    anon_end = anon["ndvi"]["extent"]["temporal"]["interval"][0][1]
    view_end = viewer["ndvi"]["extent"]["temporal"]["interval"][0][1]
    assert anon_end < "2026" <= view_end
    landing = _get(guarded, "/stac").json()
    assert not any(guarded.alone in link["href"] for link in landing["links"])

    _absent_like_unknown(guarded, "/stac/collections/{id}", guarded.alone)
    _absent_like_unknown(guarded, "/stac/collections/{id}/items", guarded.cube)
    items = _get(guarded, "/stac/collections/ndvi/items?limit=100").json()
    assert guarded.member not in {f["id"] for f in items["features"]}
    assert items["numberMatched"] == 5
    mine = _get(guarded, "/stac/collections/ndvi/items?limit=100", callers["viewer"]).json()
    assert mine["numberMatched"] == 6
    item = mine["features"][-1]["id"]
    assert _get(guarded, f"/stac/collections/ndvi/items/{item}", callers["viewer"]
                ).status_code == 200
    assert _get(guarded, f"/stac/collections/ndvi/items/{item}").status_code == 404
    found = requests.post(f"{guarded.base}/stac/search", json={"ids": [item]}, timeout=30)
    assert found.json()["numberMatched"] == 0
    found = requests.post(f"{guarded.base}/stac/search", json={"ids": [item]}, timeout=30,
                          headers=callers["viewer"].headers)
    assert found.json()["numberMatched"] == 1


def test_pystac_client_sees_internal_collections_only_with_a_key(
        guarded: Guarded, callers: dict[str, Caller]) -> None:
    anon = pystac_client.Client.open(f"{guarded.base}/stac")
    assert guarded.alone not in {c.id for c in anon.get_collections()}
    assert not list(anon.search(collections=[guarded.alone]).items())
    keyed = pystac_client.Client.open(f"{guarded.base}/stac",
                                      headers=callers["viewer"].headers)
    assert guarded.alone in {c.id for c in keyed.get_collections()}
    items = list(keyed.search(collections=[guarded.alone]).items())
    assert [i.id for i in items] and items[0].assets


GDAL_ENV = {**os.environ, "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
            "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1", "CPL_VSIL_CURL_USE_HEAD": "NO",
            "GDAL_HTTP_TIMEOUT": "60", "GDAL_ENABLE_WMS_CACHE": "NO",
            "GDAL_DEFAULT_WMS_CACHE_PATH": os.path.join(tempfile.gettempdir(),
                                                        "onemap-gdalwmscache")}


def _gdalinfo(target: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["gdalinfo", "-json", target], capture_output=True, text=True,
                          timeout=180, env={**GDAL_ENV, **env})


@pytest.mark.skipif(shutil.which("gdalinfo") is None,
                    reason="Debian gdal-bin is installed by `make apt`")
def test_gdal_reads_internal_cog_and_wmts_with_a_key_only(
        guarded: Guarded, callers: dict[str, Caller]) -> None:
    cog = f"/vsicurl/{guarded.base}/raster/{guarded.member}/cog.tif"
    wmts = f"WMTS:{guarded.base}/raster/{guarded.member}/WebMercatorQuad/WMTSCapabilities.xml"
    viewer = callers["viewer"]
    assert _gdalinfo(cog).returncode != 0
    assert _gdalinfo(wmts).returncode != 0
    by_basic = _gdalinfo(cog, GDAL_HTTP_USERPWD=f"{viewer.user}:{viewer.key}",
                         GDAL_HTTP_AUTH="BASIC")
    assert by_basic.returncode == 0, by_basic.stderr
    assert json.loads(by_basic.stdout)["driverShortName"] == "GTiff"
    header = f"Authorization: Bearer {viewer.key}"
    by_header = _gdalinfo(wmts, GDAL_HTTP_HEADERS=header)
    assert by_header.returncode == 0, by_header.stderr
    assert json.loads(by_header.stdout)["driverShortName"] == "WMTS"
    # and the tiles the WMTS points at are read with the same header
    out = os.path.join(tempfile.mkdtemp(), "tile.png")
    drawn = subprocess.run(["gdal_translate", "-q", "-of", "PNG", "-outsize", "64", "64",
                            wmts, out], capture_output=True, text=True, timeout=180,
                           env={**GDAL_ENV, "GDAL_HTTP_HEADERS": header})
    assert drawn.returncode == 0, drawn.stderr
