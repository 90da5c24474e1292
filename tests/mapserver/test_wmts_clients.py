"""GDAL 3.6 (Debian's gdal-bin) and QGIS 3.22 (Debian's python3-qgis, headless) as clients of
the service-wide WMTS: both tile matrix sets draw, time steps of the PM2.5 cube and of the NDVI
series draw different images, and QGIS's literal ``{Time}`` draws the default step."""

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

from onemap.catalog import Entry

pytestmark = [pytest.mark.server,
              pytest.mark.skipif(shutil.which("gdal_translate") is None,
                                 reason="Debian gdal-bin is installed by `make apt`")]
QGIS_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("qgis_wmts.py")
REST = "/wmts/1.0.0/WMTSCapabilities.xml"
GDAL_ENV = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1",
            "GDAL_HTTP_TIMEOUT": "60", "GDAL_ENABLE_WMS_CACHE": "NO",
            "GDAL_DEFAULT_WMS_CACHE_PATH": os.path.join(tempfile.gettempdir(),
                                                        "onemap-gdalwmscache")}


def _window(entry: Entry, half: float = 0.2) -> list[float]:
    w, s, e, n = entry.bbox
    cx, cy = (w + e) / 2, (s + n) / 2
    return [cx - half, cy - half, cx + half, cy + half]


def _gdal_render(url: str, window: list[float], out: Path) -> np.ndarray:
    w, s, e, n = window
    proc = subprocess.run(["gdal_translate", "-q", "-of", "PNG", "-outsize", "128", "128",
                           "-projwin_srs", "EPSG:4326", "-projwin", str(w), str(n), str(e),
                           str(s), url, str(out)], capture_output=True, text=True, timeout=180,
                          env=GDAL_ENV)
    assert proc.returncode == 0, proc.stderr
    with rasterio.open(out) as img:
        return img.read()


@pytest.mark.parametrize("layer, step_a, step_b", [
    ("pm25_hourly", "2025-01-21T02:00:00Z", "2025-01-24T06:00:00Z"),
    ("ndvi", "2025-01", "2025-07")])
@pytest.mark.parametrize("tms", ["WebMercatorQuad", "WorldCRS84Quad"])
def test_gdal_reads_a_layer_at_a_time(live_server: str, entries: dict[str, Entry],
                                      tmp_path: Path, layer: str, step_a: str, step_b: str,
                                      tms: str) -> None:
    """GDAL 3.6 fills ``{Time}`` with the Default: the document asked for at a time has it."""
    entry = entries["pm25_hourly" if layer == "pm25_hourly" else "ndvi_2025_07"]
    info = subprocess.run(["gdalinfo", "-json", f"WMTS:{live_server}{REST}"],
                          capture_output=True, text=True, timeout=180, env=GDAL_ENV)
    subsets = json.loads(info.stdout)["metadata"]["SUBDATASETS"]
    assert f"WMTS:{live_server}{REST},layer={layer},tilematrixset={tms}" in subsets.values()
    images = []
    for step in (step_a, step_b):
        url = f"WMTS:{live_server}{REST}?time={step},layer={layer},tilematrixset={tms}"
        data = _gdal_render(url, _window(entry), tmp_path / f"{step[:10]}.png")
        assert data.shape == (4, 128, 128) and (data[3] > 0).mean() > 0.9
        assert len({tuple(px) for px in data[:3].reshape(3, -1).T[::37]}) > 5  # not a fill
        images.append(data)
    assert (images[0] != images[1]).any(axis=0).mean() > 0.2


def qgis_render(cases: list[dict], home: Path) -> dict:
    """Run qgis_wmts.py on ``cases``; a fresh HOME per run, so QGIS's disk cache of
    capabilities never answers for another server."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(home),
           "HOME": str(home)}
    env.pop("PYTHONPATH", None)
    home.chmod(0o700)
    out = subprocess.run([QGIS_PYTHON, str(SCRIPT), json.dumps(cases)], env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not Path(QGIS_PYTHON).exists(), reason="python3-qgis: `make apt`")
def test_qgis_draws_both_quads_and_cube_steps(live_server: str, entries: dict[str, Entry],
                                              tmp_path: Path) -> None:
    caps = f"{live_server}{REST}"
    times = entries["pm25_hourly"].extra["times"]

    def uri(layer: str, tms: str, time: str | None = None, url: str = caps) -> str:
        crs = "OGC:CRS84" if tms == "WorldCRS84Quad" else "EPSG:3857"
        dims = f"&tileDimensions=Time%3D{time}" if time else ""
        return (f"crs={crs}&format=image/png&layers={layer}&styles=default"
                f"&tileMatrixSet={tms}{dims}&url={url}")

    ndvi, cube = _window(entries["ndvi_2025_07"]), _window(entries["pm25_hourly"])
    scene = _window(entries["gf1_wfv_2025_07_20"], 0.1)
    cases = [
        {"name": "ndvi_3857", "uri": uri("ndvi", "WebMercatorQuad"), "extent": ndvi},
        {"name": "ndvi_crs84", "uri": uri("ndvi", "WorldCRS84Quad"), "extent": ndvi},
        {"name": "ndvi_jan", "uri": uri("ndvi", "WebMercatorQuad", "2025-01"), "extent": ndvi},
        {"name": "ndvi_oct", "uri": uri("ndvi", "WebMercatorQuad", "2025-10"), "extent": ndvi},
        {"name": "cube_default", "uri": uri("pm25_hourly", "WorldCRS84Quad"), "extent": cube},
        {"name": "cube_first", "uri": uri("pm25_hourly", "WorldCRS84Quad", times[0]),
         "extent": cube},
        {"name": "cube_a", "uri": uri("pm25_hourly", "WebMercatorQuad", times[10]),
         "extent": cube},
        {"name": "cube_b", "uri": uri("pm25_hourly", "WebMercatorQuad", times[100]),
         "extent": cube},
        # the KVP endpoint handed to QGIS as is (it asks it for SERVICE=WMS capabilities)
        {"name": "scene_kvp", "uri": uri("gf1_wfv_2025_07_20", "WebMercatorQuad",
                                         url=f"{live_server}/wmts"), "extent": scene},
    ]
    home = tmp_path / "home"
    home.mkdir()
    seen = qgis_render(cases, home)
    for case in cases:
        got = seen[case["name"]]
        assert got["valid"], (case["name"], got["error"])
        assert got["drawn"] > 0.9, (case["name"], got)
    assert seen["ndvi_crs84"]["crs"] == "OGC:CRS84" and seen["ndvi_3857"]["crs"] == "EPSG:3857"
    assert seen["cube_a"]["digest"] != seen["cube_b"]["digest"]  # two hours
    assert seen["ndvi_jan"]["digest"] != seen["ndvi_oct"]["digest"]  # two months
    assert seen["ndvi_oct"]["digest"] == seen["ndvi_3857"]["digest"]  # {Time}: the latest
    assert seen["cube_default"]["digest"] == seen["cube_first"]["digest"]  # …the first hour
