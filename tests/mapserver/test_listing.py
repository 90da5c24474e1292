"""/api/rasters and /api/catalog: summaries with working URLs, series sorted by time, and the
sample's story (vegetation lost inside red lines; a scene whose NDVI agrees) read over HTTP."""

from __future__ import annotations

import morecantile
import numpy as np
import pytest
import requests
import shapely
from rasterio.io import MemoryFile

from onemap.data import ecology, rasters
from onemap.data.geography import geography

TMS = morecantile.tms.get("WebMercatorQuad")


@pytest.fixture(scope="module")
def listing(live_server: str) -> dict:
    r = requests.get(f"{live_server}/api/rasters", timeout=30)
    assert r.status_code == 200
    return r.json()


def _fill(template: str, **values: float) -> str:
    for k, v in values.items():
        template = template.replace("{" + k + "}", str(v))
    return template


def test_summaries_follow_the_contract(listing: dict, live_server: str) -> None:
    by_id = {r["id"]: r for r in listing["rasters"]}
    assert {"ndvi_2024_07", "ndvi_2025_07", "gf1_wfv_2025_07_20", "pm25_hourly"} <= set(by_id)
    keys = {"id", "kind", "title", "title_en", "family", "access", "date", "collection",
            "bounds", "footprint", "bands", "bidx", "colormap", "rescale", "expression",
            "dtype", "unit", "tilejson", "tiles", "point", "legend"}
    for summary in listing["rasters"]:
        assert keys <= set(summary), summary["id"]
        for url in ("tilejson", "tiles", "point"):
            assert summary[url].startswith(live_server)
    scene = by_id["gf1_wfv_2025_07_20"]
    assert scene["bidx"] == [3, 2, 1] and scene["collection"] == "gf1_wfv"
    assert [b["name"] for b in scene["bands"]] == ["blue", "green", "red", "nir"]
    assert "bidx=3%2C2%2C1" in scene["tiles"] and scene["dtype"] == "uint16"
    cube = by_id["pm25_hourly"]
    assert cube["kind"] == "cube" and cube["unit"] == "µg/m³"
    assert "variable=pm25" in cube["tiles"] and "sel=time%3D2025-01-" in cube["tiles"]
    assert cube["legend"].endswith("/api/legends/onemap_pm25")
    assert by_id["ndvi_2025_07"]["collection"] == "ndvi"
    one = requests.get(f"{live_server}/api/rasters/gf1_wfv_2025_07_20", timeout=30).json()
    assert one == scene
    for missing in ("nope", "air_stations"):
        r = requests.get(f"{live_server}/api/rasters/{missing}", timeout=30)
        assert r.status_code == 404 and r.json()["code"] == "NotFound"


def test_series_are_sorted_and_their_tiles_answer(listing: dict) -> None:
    series = {s["id"]: s for s in listing["series"]}
    ndvi = series["ndvi"]
    assert [s["dataset"] for s in ndvi["steps"]] == [
        "ndvi_2024_07", "ndvi_2025_01", "ndvi_2025_04", "ndvi_2025_07", "ndvi_2025_10"]
    assert ndvi["title"] == "植被指数 NDVI" and ndvi["colormap"] == "onemap_ndvi"
    pm = series["pm25_hourly"]
    assert len(pm["steps"]) == 168 and pm["kind"] == "cube"
    for s in series.values():
        stamps = [step["datetime"] for step in s["steps"]]
        assert stamps == sorted(stamps)
    t = TMS.tile(117.3, 31.8, 9)
    for step in (ndvi["steps"][0], ndvi["steps"][-1], pm["steps"][0], pm["steps"][-1],
                 series["gf1_wfv"]["steps"][0]):
        r = requests.get(_fill(step["tiles"], z=t.z, x=t.x, y=t.y), timeout=60)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text[:300]
        with MemoryFile(r.content) as mem, mem.open() as img:
            assert img.count == 4 and (img.read(4) > 0).any()


def test_vegetation_lost_inside_red_lines_between_the_two_julys(listing: dict) -> None:
    steps = {s["dataset"]: s for s in next(
        x for x in listing["series"] if x["id"] == "ndvi")["steps"]}
    red_lines = ecology.red_lines(geography()).geometry
    for name, lon, lat, _, bare in rasters.LOSSES:
        assert any(g.contains(shapely.Point(lon, lat)) for g in red_lines), name
        before = requests.get(_fill(steps["ndvi_2024_07"]["point"], lon=lon, lat=lat),
                              timeout=30).json()["values"][0]
        after = requests.get(_fill(steps["ndvi_2025_07"]["point"], lon=lon, lat=lat),
                             timeout=30).json()["values"][0]
        assert before > 0.6 and after < bare + 0.1, (name, before, after)


def test_scene_ndvi_agrees_with_the_ndvi_raster(listing: dict) -> None:
    by_id = {r["id"]: r for r in listing["rasters"]}
    scene = by_id["gf1_wfv_2025_07_20"]["point"]
    ndvi = by_id["ndvi_2025_07"]["point"]
    x0, _, _, y1 = rasters.BBOX
    checked = 0
    for i, j in ((200, 300), (250, 350), (150, 450), (300, 500), (350, 550)):
        lon, lat = x0 + (j + 0.5) * rasters.RES, y1 - (i + 0.5) * rasters.RES
        values = requests.get(_fill(scene, lon=lon, lat=lat).split("?")[0],
                              params={"bidx": "1,2,3,4"}, timeout=30).json()["values"]
        expected = requests.get(_fill(ndvi, lon=lon, lat=lat), timeout=30).json()["values"][0]
        if 0 in values or expected == rasters.NODATA:
            continue
        red, nir = values[2], values[3]
        assert (nir - red) / (nir + red) == pytest.approx(expected, abs=0.01), (lon, lat)
        checked += 1
    assert checked >= 4


def test_catalog_lists_cubes_with_links(live_server: str) -> None:
    doc = requests.get(f"{live_server}/api/catalog", timeout=30).json()
    cube = next(d for d in doc["datasets"] if d["id"] == "pm25_hourly")
    assert cube["kind"] == "cube" and cube["time_extent"][0].startswith("2025-01-")
    rels = {link["rel"]: link["href"] for link in cube["links"]}
    assert rels["collection"].endswith("/stac/collections/pm25_hourly")
    assert requests.get(rels["tilejson"], timeout=30).status_code == 200
    assert requests.get(rels["info"], timeout=30).status_code == 200
    raster = next(d for d in doc["datasets"] if d["id"] == "ndvi_2025_07")
    assert {link["rel"] for link in raster["links"]} >= {"tilejson", "info", "collection"}
    assert np.isfinite(raster["bbox"]).all()


def test_a_county_viewer_is_told_only_of_its_county(live_server: str, callers) -> None:  # type: ignore[no-untyped-def]
    """/api/catalog and the OGC collection give a region-bound viewer the count and extent
    of the part it may read (equal to the items' numberMatched), not the whole layer's."""
    def catalogued(who) -> dict:  # type: ignore[no-untyped-def]
        doc = requests.get(f"{live_server}/api/catalog", headers=who.headers, timeout=60).json()
        return next(d for d in doc["datasets"] if d["id"] == "pollution_sources")

    whole, part = catalogued(callers["viewer"]), catalogued(callers["viewer_a"])
    items = requests.get(f"{live_server}/ogc/collections/pollution_sources/items",
                         params={"limit": 1}, headers=callers["viewer_a"].headers,
                         timeout=60).json()
    assert part["feature_count"] == items["numberMatched"] < whole["feature_count"]
    assert part["bbox"] != whole["bbox"]
    assert whole["bbox"][0] <= part["bbox"][0] and part["bbox"][2] <= whole["bbox"][2] + 1e-6
    coll = requests.get(f"{live_server}/ogc/collections/pollution_sources",
                        headers=callers["viewer_a"].headers, timeout=60).json()
    assert coll["extent"]["spatial"]["bbox"][0] == pytest.approx(part["bbox"])
    listed = requests.get(f"{live_server}/ogc/collections", headers=callers["viewer_a"].headers,
                          timeout=60).json()
    same = next(c for c in listed["collections"] if c["id"] == "pollution_sources")
    assert same["extent"]["spatial"]["bbox"][0] == pytest.approx(part["bbox"])
    # a public layer is whole for everyone
    rivers = [next(d for d in requests.get(f"{live_server}/api/catalog", headers=h,
                                           timeout=60).json()["datasets"] if d["id"] == "rivers")
              for h in ({}, callers["viewer_a"].headers)]
    assert rivers[0]["feature_count"] == rivers[1]["feature_count"]
