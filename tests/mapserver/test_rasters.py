"""Raster tiles by catalogue id, and proof that no request can make the server read a file or URL
of its choosing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
import rasterio
import requests
from rasterio.io import MemoryFile

from onemap.catalog import Entry
from onemap.config import Settings
from onemap.raster.ingest import add_raster
from tests.raster.makers import scene_ndvi, write_scene
from tests.server import run_server

NDVI = "(b4-b3)/(b4+b3)"

pytestmark = pytest.mark.server


def _raster(raster_entries: list[Entry]) -> Entry:
    """A sample NDVI raster: single band, covering the whole region (the scene covers part)."""
    ndvi = [e for e in raster_entries if e.id.startswith("ndvi_")]
    if not ndvi:
        pytest.fail("the sample catalogue has no NDVI raster")
    return ndvi[-1]


def test_api_rasters_and_tilejson(live_server: str, raster_entries: list[Entry]) -> None:
    entry = _raster(raster_entries)
    doc = requests.get(f"{live_server}/api/rasters", timeout=30).json()
    item = next(r for r in doc["rasters"] if r["id"] == entry.id)
    assert item["tilejson"].startswith(f"{live_server}/raster/{entry.id}/WebMercatorQuad/")
    tj = requests.get(item["tilejson"], timeout=30)
    assert tj.status_code == 200, tj.text
    tj = tj.json()
    assert tj["tiles"][0].startswith(f"{live_server}/raster/{entry.id}/tiles/WebMercatorQuad/")
    assert "url=" not in tj["tiles"][0]


def test_tile_png_over_region(live_server: str, raster_entries: list[Entry]) -> None:
    entry = _raster(raster_entries)
    tj = requests.get(next(r["tilejson"] for r in requests.get(
        f"{live_server}/api/rasters", timeout=30).json()["rasters"] if r["id"] == entry.id),
        timeout=30).json()
    lon = (tj["bounds"][0] + tj["bounds"][2]) / 2
    lat = (tj["bounds"][1] + tj["bounds"][3]) / 2
    z = max(tj["minzoom"], min(8, tj["maxzoom"]))
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * n)
    url = tj["tiles"][0].format(z=z, x=x, y=y)
    r = requests.get(url, timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    with MemoryFile(r.content) as mem, mem.open() as img:
        data = img.read()
        assert (img.width, img.height) == (256, 256)
    assert data.shape[0] == 4  # RGBA
    assert (data[3] > 0).mean() > 0.5, "tile over the region is mostly transparent"


def test_point_and_statistics(live_server: str, raster_entries: list[Entry],
                              sample_settings) -> None:
    entry = _raster(raster_entries)
    path = entry.file(sample_settings)
    with rasterio.open(path) as src:
        lon, lat = src.xy(src.height // 3, src.width // 3)
        expected = next(src.sample([(lon, lat)], indexes=1))[0]
        crs = src.crs
    if crs.to_epsg() == 4326:
        r = requests.get(f"{live_server}/raster/{entry.id}/point/{lon},{lat}", timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["values"][0] == pytest.approx(float(expected), rel=1e-4)
    r = requests.get(f"{live_server}/raster/{entry.id}/statistics", timeout=60)
    assert r.status_code == 200, r.text
    stats = r.json()
    band = next(iter(stats.values()))
    assert band["min"] <= band["mean"] <= band["max"]
    wmts = requests.get(f"{live_server}/raster/{entry.id}/WebMercatorQuad/WMTSCapabilities.xml",
                        timeout=30)
    assert wmts.status_code == 200 and "Capabilities" in wmts.text


@pytest.mark.parametrize("evil", ["/etc/passwd", "http://example.com/x.tif",
                                  "file:///etc/passwd", "/vsicurl/http://example.com/x.tif"])
def test_url_parameter_is_never_read(live_server: str, raster_entries: list[Entry],
                                     evil: str) -> None:
    """``url=`` is not a parameter of any endpoint: it is ignored or the route does not exist."""
    entry = _raster(raster_entries)
    normal = requests.get(f"{live_server}/raster/{entry.id}/info", timeout=30).json()
    r = requests.get(f"{live_server}/raster/{entry.id}/info", params={"url": evil}, timeout=30)
    assert r.status_code == 200 and r.json() == normal
    for path in ("/cog/info", "/raster/info", "/info", "/raster//info",
                 "/cog/WebMercatorQuad/tilejson.json"):
        r = requests.get(f"{live_server}{path}", params={"url": evil}, timeout=30)
        assert "root:" not in r.text and "bounds" not in r.text, path
    spec = requests.get(f"{live_server}/api/openapi.json", timeout=30).json()
    for path, ops in spec["paths"].items():
        for op in ops.values():
            names = {p["name"] for p in op.get("parameters", [])}
            assert "url" not in names, path


@pytest.mark.parametrize("dataset_id", ["..%2F..%2Fetc%2Fpasswd", "..%2F..%2F..%2Fetc%2Fpasswd",
                                        "%2Fetc%2Fpasswd", "no_such_raster", "air_stations",
                                        "%2E%2E", "NDVI"])
def test_dataset_id_cannot_escape(live_server: str, dataset_id: str) -> None:
    for tail in ("info", "statistics", "WebMercatorQuad/tilejson.json",
                 "tiles/WebMercatorQuad/0/0/0.png"):
        r = requests.get(f"{live_server}/raster/{dataset_id}/{tail}", timeout=30)
        assert r.status_code == 404, (dataset_id, tail, r.status_code)
        assert "root:" not in r.text
        if r.headers.get("content-type", "").startswith("application/json"):
            assert r.json()


# --- COG download, band-math errors and multi-band rendering on a 4-band scene -------------

@pytest.fixture(scope="module")
def scene_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server on its own data dir holding a catalogued 4-band scene (blue, green, red,
    nir) with the NDVI expression as default rendering, and a 4-band one without defaults."""
    tmp = tmp_path_factory.mktemp("scene-server")
    settings = Settings(data_dir=tmp / "data")
    add_raster(write_scene(tmp / "scene.tif"), dataset_id="scene", title="scene",
               expression=NDVI, colormap="onemap_ndvi", settings=settings)
    add_raster(write_scene(tmp / "plain.tif"), dataset_id="plain", title="plain",
               settings=settings)
    with run_server(settings.data_dir) as base:
        yield base


SCENE_TILE = "tiles/WebMercatorQuad/9/422/208.png"  # over the vegetated left half
BAD_BAND_MATH = [
    ({"expression": "(b5-b3)/(b5+b3)"}, "b5"),
    ({"expression": "(b4-b3)/(b4+b3"}, "syntax"),
    ({"expression": "(nir-red)/(nir+red)"}, "nir"),
    ({"expression": "__import__('os')"}, "expression"),
    ({"bidx": "5"}, "band index 5"),
    ({"bidx": "0"}, "band index 0"),
    ({"bidx": "x"}, "bidx"),
]


@pytest.mark.parametrize(("params", "words"), BAD_BAND_MATH)
@pytest.mark.parametrize("tail", [SCENE_TILE, "WebMercatorQuad/tilejson.json",
                                  "point/117.1,31.9", "preview.png", "statistics"])
def test_bad_band_math_is_a_400_in_words(scene_server: str, tail: str, params: dict,
                                         words: str) -> None:
    r = requests.get(f"{scene_server}/raster/scene/{tail}", params=params, timeout=60)
    assert r.status_code == 400, (r.status_code, r.text[:300])
    detail = r.json()["detail"]
    assert isinstance(detail, str) and words in detail, detail
    if "b5" in words or "index" in words:
        assert "4 bands" in detail and "nir" in detail  # names the bands the raster has


def test_band_math_errors_carry_a_code(scene_server: str) -> None:
    """Needs ``register_raster_errors(app)`` in mapserver/app.py (the contract's error shape)."""
    r = requests.get(f"{scene_server}/raster/scene/statistics", params={"expression": "b5"},
                     timeout=60)
    assert r.status_code == 400 and r.json().get("code") == "InvalidBandMath", r.text


def test_ndvi_expression_and_bidx_render(scene_server: str) -> None:
    r = requests.get(f"{scene_server}/raster/scene/point/117.1,31.9",
                     params={"expression": NDVI}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["values"][0] == pytest.approx(scene_ndvi(True), rel=1e-6)
    for params in ({"bidx": "3,2,1"}, [("bidx", "3"), ("bidx", "2"), ("bidx", "1")]):
        r = requests.get(f"{scene_server}/raster/scene/point/117.1,31.9", params=params,
                         timeout=30)
        assert r.status_code == 200 and r.json()["values"] == [500, 700, 400], r.text
    r = requests.get(f"{scene_server}/raster/scene/{SCENE_TILE}",
                     params={"expression": NDVI, "rescale": "-0.2,1", "colormap_name":
                             "onemap_ndvi"}, timeout=30)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text[:200]


def _wmts_tile(base: str, dataset: str) -> tuple[str, bytes]:
    xml = requests.get(f"{base}/raster/{dataset}/WebMercatorQuad/WMTSCapabilities.xml",
                       timeout=30)
    assert xml.status_code == 200, xml.text
    root = ElementTree.fromstring(xml.content)
    template = root.find(".//{http://www.opengis.net/wmts/1.0}ResourceURL").get("template")
    url = (template.replace("{TileMatrix}", "9").replace("{TileCol}", "422")
           .replace("{TileRow}", "208"))
    r = requests.get(url, timeout=60)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text[:300]
    return url, r.content


@pytest.mark.parametrize("dataset", ["scene", "plain"])
def test_wmts_of_multiband_rasters_renders_tiles(scene_server: str, dataset: str) -> None:
    """The WMTS template carries a usable default: the expression, else a 3-band selection."""
    url, png = _wmts_tile(scene_server, dataset)
    assert ("expression=" in url) if dataset == "scene" else ("bidx=3%2C2%2C1" in url)
    with MemoryFile(png) as mem, mem.open() as img:
        data = img.read()
    assert data.shape[0] in (2, 4) and (data[-1] > 0).mean() > 0.3  # the tile half-covers it


def test_cog_download_serves_ranges(scene_server: str, tmp_path: Path) -> None:
    url = f"{scene_server}/raster/scene/cog.tif"
    head = requests.head(url, timeout=30)
    assert head.status_code == 200 and head.headers["accept-ranges"] == "bytes"
    size = int(head.headers["content-length"])
    part = requests.get(url, headers={"Range": "bytes=0-15", "Accept-Encoding": "gzip"},
                        timeout=30)
    assert part.status_code == 206, part.status_code
    assert part.headers["content-range"] == f"bytes 0-15/{size}"
    assert part.content[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00") and len(part.content) == 16
    full = requests.get(url, headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert full.status_code == 200 and len(full.content) == size
    assert "gzip" not in full.headers.get("content-encoding", "")
    assert 'filename="scene.tif"' in full.headers["content-disposition"]
    (tmp_path / "dl.tif").write_bytes(full.content)
    with rasterio.open(tmp_path / "dl.tif") as src:
        assert src.count == 4 and src.crs.to_epsg() == 4490
    for bad in ("nope", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd"):
        r = requests.get(f"{scene_server}/raster/{bad}/cog.tif", timeout=30)
        assert r.status_code == 404 and "root:" not in r.text
    r = requests.get(url, params={"url": "/etc/passwd"}, headers={"Range": "bytes=0-3"},
                     timeout=30)
    assert r.content[:2] in (b"II", b"MM")


def test_titiler_errors_are_code_and_detail(live_server: str,
                                            raster_entries: list[Entry]) -> None:
    """rio-tiler's typed errors answer in the server's ``{code, detail}`` form too: a tile of
    the grid that the raster does not cover is a 404 naming the error."""
    r = requests.get(f"{live_server}/raster/{raster_entries[0].id}/tiles/WebMercatorQuad/"
                     "10/0/0.png", timeout=60)
    assert r.status_code == 404, r.text
    body = r.json()
    assert body["code"] == "TileOutsideBounds" and body["detail"], body
