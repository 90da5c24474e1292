"""Raster tiles by catalogue id, and proof that no request can make the server read a file or URL
of its choosing."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import requests
from rasterio.io import MemoryFile

from onemap.catalog import Entry

pytestmark = pytest.mark.server


def _raster(raster_entries: list[Entry]) -> Entry:
    if not raster_entries:
        pytest.skip("no raster in the catalogue")
    return raster_entries[0]


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
