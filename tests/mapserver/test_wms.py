"""WMS 1.3.0 and WFS 2.0 at /wms and /wfs (MapServer worker processes behind the real server),
read by OWSLib, GDAL 3.6 and QGIS 3.22 as their users would, per caller."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
import requests
from owslib.wfs import WebFeatureService
from owslib.wms import WebMapService
from rasterio.io import MemoryFile

from onemap.catalog import Entry
from onemap.config import Settings
from tests.conftest import Caller, Guarded

QGIS_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("qgis_wms.py")
#: The sample region, in EPSG:4490's axis order (latitude first) as WMS 1.3.0 wants it.
REGION_LATLON = (30.9, 116.7, 32.2, 118.2)
PM25_HOURS = ("2025-01-21T05:00:00Z", "2025-01-24T05:00:00Z")


def image(png: bytes) -> np.ndarray:
    """A PNG's bands (GDAL's PNG driver), with an alpha band (opaque if it has none)."""
    with MemoryFile(png) as mem, mem.open() as src:
        bands = src.read()
    if bands.shape[0] in (1, 3):
        bands = np.concatenate([bands, np.full_like(bands[:1], 255)])
    return bands


def painted(png: bytes) -> int:
    """Non-transparent pixels of a PNG (the blank map is all transparent)."""
    return int((image(png)[-1] > 0).sum())


def getmap(base: str, layers: str, bbox: tuple[float, ...] = REGION_LATLON,
           caller: Caller | None = None, **extra: str) -> requests.Response:
    params = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": layers,
              "STYLES": "", "CRS": "EPSG:4490", "BBOX": ",".join(map(str, bbox)),
              "WIDTH": "300", "HEIGHT": "260", "FORMAT": "image/png", "TRANSPARENT": "TRUE",
              **extra}
    return requests.get(f"{base}/wms", params=params, timeout=120,
                        headers=caller.headers if caller else None)


@pytest.fixture(scope="module")
def intake(sample_settings: Settings) -> dict:
    """A known feature: the first water intake (its id and lon/lat)."""
    df = pyogrio.read_dataframe(sample_settings.data_dir / "store" / "water_intakes.gpkg")
    row = df.iloc[0]
    return {"id": row["intake_id"], "lon": row.geometry.x, "lat": row.geometry.y}


def test_owslib_reads_capabilities_per_caller(live_server: str, callers: dict[str, Caller],
                                              entries: dict[str, Entry]) -> None:
    anon = WebMapService(f"{live_server}/wms", version="1.3.0")
    viewer = WebMapService(f"{live_server}/wms", version="1.3.0",
                           headers=callers["viewer"].headers)
    public = {e.id for e in entries.values() if e.kind in ("vector", "raster", "cube")
              and e.access == "public"}
    assert public <= set(anon.contents)
    assert "ndvi" in anon.contents  # the NDVI series, one layer with its dates
    assert anon.contents["ndvi"].timepositions == ["2024-07", "2025-01", "2025-04", "2025-07",
                                                   "2025-10"]
    assert anon.contents["pm25_hourly"].timepositions == [
        "2025-01-20T16:00:00Z/2025-01-27T15:00:00Z/PT1H"]
    # hidden means absent: internal layers are not there for anonymous callers
    assert not {"pollution_sources", "sensitive_receptors", "incidents"} & set(anon.contents)
    assert {"pollution_sources", "sensitive_receptors", "incidents"} <= set(viewer.contents)
    assert "EPSG:4490" in anon.contents["rivers"].crsOptions
    assert anon.getOperationByName("GetMap").methods[0]["url"].startswith(f"{live_server}/wms")
    assert anon.contents["rivers"].title == entries["rivers"].title  # Chinese, intact


def test_getmap_vector_and_raster_in_cgcs2000(live_server: str, callers: dict[str, Caller]
                                              ) -> None:
    wms = WebMapService(f"{live_server}/wms", version="1.3.0",
                        headers=callers["viewer"].headers)
    lat0, lon0, lat1, lon1 = REGION_LATLON
    for layer in ("rivers", "pollution_sources", "ndvi_2025_07", "gf1_wfv_2025_07_20"):
        # OWSLib takes x,y (lon, lat) and sends latitude first for EPSG:4490 in WMS 1.3.0
        img = wms.getmap(layers=[layer], srs="EPSG:4490", bbox=(lon0, lat0, lon1, lat1),
                         size=(300, 260), format="image/png", transparent=True)
        png = img.read()
        assert png[:8] == b"\x89PNG\r\n\x1a\n", (layer, png[:300])
        assert f"bbox={lat0}%2C{lon0}" in wms.request
        assert painted(png) > 300, layer


def test_axis_order_of_epsg_4490(live_server: str, intake: dict) -> None:
    """Latitude first in EPSG:4490 and EPSG:4326 (WMS 1.3.0), longitude first in CRS:84: a
    small box around a known intake is drawn only in the right order."""
    lat, lon, d = intake["lat"], intake["lon"], 0.01
    latlon = (lat - d, lon - d, lat + d, lon + d)
    lonlat = (lon - d, lat - d, lon + d, lat + d)
    for crs in ("EPSG:4490", "EPSG:4326"):
        assert painted(getmap(live_server, "water_intakes", latlon, CRS=crs).content) > 20
        assert painted(getmap(live_server, "water_intakes", lonlat, CRS=crs).content) == 0
    assert painted(getmap(live_server, "water_intakes", lonlat, CRS="CRS:84").content) > 20


def test_getfeatureinfo_finds_a_known_feature(live_server: str, intake: dict) -> None:
    lat, lon, d = intake["lat"], intake["lon"], 0.01
    params = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetFeatureInfo",
              "LAYERS": "water_intakes", "QUERY_LAYERS": "water_intakes", "STYLES": "",
              "CRS": "EPSG:4490", "BBOX": f"{lat - d},{lon - d},{lat + d},{lon + d}",
              "WIDTH": "101", "HEIGHT": "101", "I": "50", "J": "50", "FEATURE_COUNT": "5"}
    got = requests.get(f"{live_server}/wms", params={**params,
                                                     "INFO_FORMAT": "application/json"},
                       timeout=60)
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    ids = [f["properties"]["intake_id"] for f in got.json()["features"]]
    assert ids == [intake["id"]]
    text = requests.get(f"{live_server}/wms", params={**params, "INFO_FORMAT": "text/plain"},
                        timeout=60)
    assert text.ok and intake["id"] in text.text
    far = requests.get(f"{live_server}/wms", timeout=60, params={
        **params, "INFO_FORMAT": "application/json", "I": "0", "J": "0"})
    assert far.json()["features"] == []


def test_getlegendgraphic(live_server: str) -> None:
    for layer in ("protected_areas", "pm25_hourly"):
        got = requests.get(f"{live_server}/wms", timeout=60, params={
            "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetLegendGraphic",
            "LAYER": layer, "FORMAT": "image/png", "SLD_VERSION": "1.1.0"})
        assert got.status_code == 200 and got.headers["content-type"] == "image/png", got.text
        # one row per class
        assert image(got.content).shape[1] > 40 and painted(got.content) > 200, layer


def test_wms_time_draws_each_hour(live_server: str) -> None:
    hours = [getmap(live_server, "pm25_hourly", TIME=t) for t in PM25_HOURS]
    assert all(h.status_code == 200 and painted(h.content) > 1000 for h in hours)
    assert hours[0].content != hours[1].content
    default = getmap(live_server, "pm25_hourly")  # no TIME: the first hour, as the tiles
    first = getmap(live_server, "pm25_hourly", TIME="2025-01-20T16:00:00Z")
    assert default.content == first.content
    ndvi = [getmap(live_server, "ndvi", TIME=t) for t in ("2024-07", "2025-01")]
    assert all(painted(n.content) > 1000 for n in ndvi)
    assert ndvi[0].content != ndvi[1].content
    for wrong in ("2030-01-01T00:00:00Z", "2025-01-21T05:30:00Z", "yesterday"):
        outside = getmap(live_server, "pm25_hourly", TIME=wrong)
        assert outside.status_code == 400 and b"InvalidDimensionValue" in outside.content
    assert getmap(live_server, "ndvi", TIME="2030-01").status_code == 400


def test_client_mistakes_are_400_ows_exceptions(live_server: str) -> None:
    cases = {"bad bbox": {"BBOX": "a,b"}, "unknown layer": {"LAYERS": "no_such_layer"},
             "bad crs": {"CRS": "EPSG:999999"}, "bad format": {"FORMAT": "image/nope"},
             "huge": {"WIDTH": "100000", "HEIGHT": "100000"},
             "a mapfile": {"map": "/etc/passwd"}, "an SLD": {"SLD": "http://127.0.0.1:9/x"},
             "an SLD body": {"SLD_BODY": "<StyledLayerDescriptor/>"}}
    for name, change in cases.items():
        got = getmap(live_server, "rivers", **change)
        assert got.status_code == 400, (name, got.status_code, got.text[:300])
        assert b"ServiceException" in got.content, name
    nothing = requests.get(f"{live_server}/wms", params={"REQUEST": "Nope"}, timeout=60)
    assert nothing.status_code == 400 and b"ServiceException" in nothing.content


def test_hidden_layer_is_as_unknown(live_server: str, callers: dict[str, Caller]) -> None:
    hidden = getmap(live_server, "pollution_sources")  # internal: absent for anonymous
    unknown = getmap(live_server, "no_such_layer")
    assert hidden.status_code == unknown.status_code == 400
    assert hidden.content == unknown.content and b"LayerNotDefined" in hidden.content
    assert getmap(live_server, "pollution_sources", caller=callers["viewer"]).status_code == 200


def test_series_shows_only_the_dates_a_caller_may_see(guarded: Guarded,
                                                      callers: dict[str, Caller]) -> None:
    """An internal step of the public NDVI series: absent from an anonymous caller's TIME
    values (and refused as a TIME), drawn for a viewer; internal cubes absent altogether."""
    anon = WebMapService(f"{guarded.base}/wms", version="1.3.0")
    viewer = WebMapService(f"{guarded.base}/wms", version="1.3.0",
                           headers=callers["viewer"].headers)
    assert "2026-01" not in anon.contents["ndvi"].timepositions
    assert viewer.contents["ndvi"].timepositions[-1] == "2026-01"
    assert anon.contents["ndvi"].timepositions[-1] == "2025-10"
    assert guarded.cube not in anon.contents and guarded.cube in viewer.contents
    hidden = getmap(guarded.base, "ndvi", TIME="2026-01")
    assert hidden.status_code == 400 and b"InvalidDimensionValue" in hidden.content
    mine = getmap(guarded.base, "ndvi", TIME="2026-01", caller=callers["viewer"])
    assert mine.status_code == 200 and painted(mine.content) > 1000
    # no TIME: the newest date the caller may see
    assert getmap(guarded.base, "ndvi").content == getmap(guarded.base, "ndvi",
                                                          TIME="2025-10").content
    assert getmap(guarded.base, guarded.cube).content == getmap(guarded.base,
                                                                "no_such_layer").content


def _wfs_count(base: str, layer: str, caller: Caller | None) -> int:
    got = requests.get(f"{base}/wfs", timeout=120, headers=caller.headers if caller else None,
                       params={"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
                               "TYPENAMES": layer, "OUTPUTFORMAT": "geojson"})
    assert got.status_code == 200, got.text[:500]
    return len(got.json()["features"])


def test_region_bound_caller_sees_its_region(live_server: str, callers: dict[str, Caller],
                                             entries: dict[str, Entry]) -> None:
    """Internal layers are cut to a county viewer's county, in WFS and in the WMS drawing."""
    whole = _wfs_count(live_server, "sensitive_receptors", callers["viewer"])
    county = _wfs_count(live_server, "sensitive_receptors", callers["viewer_a"])
    assert whole == entries["sensitive_receptors"].feature_count
    assert 0 < county < whole
    ogc = requests.get(f"{live_server}/ogc/collections/sensitive_receptors/items",
                       params={"limit": 1, "f": "json"}, headers=callers["viewer_a"].headers,
                       timeout=60).json()["numberMatched"]
    assert county == ogc  # the same cut as OGC API Features
    full = painted(getmap(live_server, "sensitive_receptors", caller=callers["viewer"]).content)
    cut = painted(getmap(live_server, "sensitive_receptors", caller=callers["viewer_a"]).content)
    assert 0 < cut < full
    assert _wfs_count(live_server, "rivers", callers["viewer_a"]) == entries["rivers"].feature_count


def test_big_layers_are_clusters_at_small_scales(live_server: str, callers: dict[str, Caller],
                                                 intake: dict) -> None:
    """pollution_sources (3,000 points) is a group: clusters labelled with their counts over
    the region, the points themselves when zoomed in; both draw."""
    caps = requests.get(f"{live_server}/wms", params={"SERVICE": "WMS", "REQUEST":
                        "GetCapabilities"}, headers=callers["viewer"].headers, timeout=60).text
    assert "<Name>pollution_sources_clusters</Name>" in caps
    assert "<Name>pollution_sources_points</Name>" in caps
    assert painted(getmap(live_server, "pollution_sources", caller=callers["viewer"]).content)
    lat, lon, d = intake["lat"], intake["lon"], 0.03
    near = getmap(live_server, "pollution_sources", (lat - d, lon - d, lat + d, lon + d),
                  caller=callers["viewer"], WIDTH="1024", HEIGHT="1024")
    assert near.status_code == 200 and painted(near.content) > 0


def test_wfs_2(live_server: str, entries: dict[str, Entry]) -> None:
    caps = requests.get(f"{live_server}/wfs", params={"SERVICE": "WFS", "VERSION": "2.0.0",
                        "REQUEST": "GetCapabilities"}, timeout=60)
    assert caps.status_code == 200 and "rivers" in caps.text
    assert "pollution_sources" not in caps.text  # internal: absent for anonymous
    hits = requests.get(f"{live_server}/wfs", timeout=60, params={
        "SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "TYPENAMES": "rivers",
        "RESULTTYPE": "hits"})
    assert f'numberMatched="{entries["rivers"].feature_count}"' in hits.text
    page = requests.get(f"{live_server}/wfs", timeout=60, params={
        "SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "TYPENAMES": "rivers",
        "COUNT": "5", "STARTINDEX": "5", "OUTPUTFORMAT": "geojson"}).json()
    assert len(page["features"]) == 5
    wfs = WebFeatureService(f"{live_server}/wfs", version="2.0.0")  # OWSLib's WFS client
    names = {n.split(":")[-1] for n in wfs.contents}
    assert "rivers" in names and "pollution_sources" not in names
    got = json.loads(wfs.getfeature(typename=["rivers"], maxfeatures=3,
                                    outputFormat="geojson").read())
    assert len(got["features"]) == 3 and got["features"][0]["properties"]["name"]


def test_gdal_reads_the_wms(live_server: str, tmp_path: Path) -> None:
    """GDAL 3.6 (Debian's gdal-bin): the layer list from the capabilities, then a layer in
    EPSG:4490 copied to a GeoTIFF whose pixels are the drawing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GDAL_", "PROJ_"))}
    listing = subprocess.run(["gdalinfo", f"WMS:{live_server}/wms?SERVICE=WMS&VERSION=1.3.0"
                              "&REQUEST=GetCapabilities"], capture_output=True, text=True,
                             timeout=120, env=env, check=True).stdout
    assert "LAYERS=rivers" in listing and "LAYERS=pm25_hourly" in listing
    lat0, lon0, lat1, lon1 = REGION_LATLON
    url = (f"WMS:{live_server}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap"
           f"&LAYERS=ndvi_2025_07&CRS=EPSG:4490&BBOX={lat0},{lon0},{lat1},{lon1}"
           "&FORMAT=image/png")
    info = subprocess.run(["gdalinfo", url], capture_output=True, text=True, timeout=120,
                          env=env, check=True).stdout
    assert "Driver: WMS" in info and "China Geodetic Coordinate System 2000" in info
    out = tmp_path / "ndvi.tif"
    subprocess.run(["gdal_translate", "-q", "-outsize", "256", "0", url, str(out)],
                   timeout=300, env=env, check=True)
    with rasterio.open(out) as src:
        bands = src.read()
        assert src.crs.to_epsg() == 4490
    assert bands.shape[0] >= 3 and int(bands.max()) > 0 and len(np.unique(bands[1])) > 20


def qgis_draw(base: str, layer: str, *times: str) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": "/tmp"}
    env.pop("PYTHONPATH", None)
    out = subprocess.run([QGIS_PYTHON, str(SCRIPT), f"{base}/wms", layer, *times], env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_qgis_draws_a_wms_layer(live_server: str) -> None:
    seen = qgis_draw(live_server, "rivers")
    assert seen["valid"], seen["error"]
    assert seen["plain"]["painted"] > 200


def test_qgis_plays_the_pm25_hours(live_server: str) -> None:
    """QGIS's temporal controller over the WMS-T layer: each hour its own drawing."""
    seen = qgis_draw(live_server, "pm25_hourly", *PM25_HOURS)
    assert seen["valid"] and seen["temporal"], seen
    drawn = [seen["times"][t] for t in PM25_HOURS]
    assert all(d["painted"] > 1000 for d in drawn)
    assert drawn[0]["hash"] != drawn[1]["hash"]
