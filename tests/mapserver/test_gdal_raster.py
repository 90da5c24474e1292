"""GDAL as a client of the raster endpoints: Debian's ``gdalinfo``/``gdal_translate`` read the
WMTS capabilities, the COG download through ``/vsicurl/`` (with HTTP Range requests, not a full
download) and render tiles — what QGIS and other GDAL-based desktop tools do."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from onemap.catalog import Entry
from onemap.config import Settings

pytestmark = [pytest.mark.server,
              pytest.mark.skipif(shutil.which("gdalinfo") is None,
                                 reason="Debian gdal-bin is installed by `make apt`")]
ENV = {**os.environ, "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "NO_PROXY": "127.0.0.1",
       "no_proxy": "127.0.0.1", "CPL_VSIL_CURL_USE_HEAD": "NO", "GDAL_HTTP_TIMEOUT": "60",
       # the WMTS driver caches tiles in ./gdalwmscache by default: not in the work tree
       "GDAL_ENABLE_WMS_CACHE": "NO",
       "GDAL_DEFAULT_WMS_CACHE_PATH": os.path.join(tempfile.gettempdir(), "onemap-gdalwmscache")}


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=180, env=env or ENV)
    assert proc.returncode == 0, f"{' '.join(args)}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _ndvi(raster_entries: list[Entry]) -> Entry:
    return next(e for e in raster_entries if e.id == "ndvi_2025_07")


def test_gdalinfo_reads_the_wmts(live_server: str, raster_entries: list[Entry]) -> None:
    entry = _ndvi(raster_entries)
    url = f"{live_server}/raster/{entry.id}/WebMercatorQuad/WMTSCapabilities.xml"
    info = json.loads(_run("gdalinfo", "-json", f"WMTS:{url}").stdout)
    assert info["driverShortName"] == "WMTS"
    assert "3857" in json.dumps(info["coordinateSystem"]) or "Mercator" in json.dumps(info)
    assert len(info["bands"]) == 4  # RGBA tiles


def test_vsicurl_reads_the_cog_with_ranges(live_server: str, raster_entries: list[Entry],
                                           sample_settings: Settings, tmp_path: Path) -> None:
    entry = _ndvi(raster_entries)
    url = f"/vsicurl/{live_server}/raster/{entry.id}/cog.tif"
    proc = _run("gdalinfo", "-json", url, env={**ENV, "CPL_CURL_VERBOSE": "YES"})
    info = json.loads(proc.stdout)
    path = entry.file(sample_settings)
    with rasterio.open(path) as src:
        assert info["size"] == [src.width, src.height]
        assert info["bands"][0]["type"].lower() == src.dtypes[0]
        assert info["bands"][0]["noDataValue"] == src.nodata
        expected = src.read(1, window=Window(100, 200, 64, 48))
        size = os.path.getsize(path)
    assert "Range: bytes=" in proc.stderr, "GDAL read the COG without range requests"
    out = tmp_path / "window.tif"
    _run("gdal_translate", "-q", "-srcwin", "100", "200", "64", "48", url, str(out))
    with rasterio.open(out) as got:
        np.testing.assert_array_equal(got.read(1), expected)
    assert out.stat().st_size < size


@pytest.mark.parametrize("tms", ["WebMercatorQuad", "WorldCRS84Quad"])
def test_gdal_translate_renders_the_wmts(live_server: str, raster_entries: list[Entry],
                                         tmp_path: Path, tms: str) -> None:
    entry = _ndvi(raster_entries)
    w, s, e, n = entry.bbox
    cx, cy = (w + e) / 2, (s + n) / 2
    url = f"WMTS:{live_server}/raster/{entry.id}/{tms}/WMTSCapabilities.xml"
    out = tmp_path / "wmts.png"
    _run("gdal_translate", "-q", "-of", "PNG", "-outsize", "256", "256",
         "-projwin_srs", "EPSG:4326", "-projwin", str(cx - 0.2), str(cy + 0.2), str(cx + 0.2),
         str(cy - 0.2), url, str(out))
    with rasterio.open(out) as img:
        data = img.read()
    assert data.shape == (4, 256, 256)
    assert (data[3] > 0).mean() > 0.9, "the rendered window over the raster is empty"
    assert len({tuple(px) for px in data[:3].reshape(3, -1).T[::97]}) > 5  # a ramp, not a fill
