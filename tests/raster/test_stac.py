"""Catalogue entries → STAC documents: time ranges, items per cube hour, valid STAC objects."""

from __future__ import annotations

from datetime import UTC, datetime

import pystac
import pytest

from onemap import catalog
from onemap.config import Settings
from onemap.raster import stac

BASE = "http://example.test:9000"


def test_time_ranges_of_months_days_and_instants() -> None:
    assert stac.time_range("2024-02") == (datetime(2024, 2, 1, tzinfo=UTC),
                                          datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC))
    assert stac.time_range("2025-07-20") == (datetime(2025, 7, 20, tzinfo=UTC),
                                             datetime(2025, 7, 20, 23, 59, 59, tzinfo=UTC))
    t = datetime(2025, 7, 20, 2, 36, 18, tzinfo=UTC)
    assert stac.time_range("2025-07-20T02:36:18Z") == (t, t)
    assert stac.time_range("2025-07-20T10:36:18+08:00") == (t, t)
    assert stac.time_range(None) is None
    with pytest.raises(ValueError):
        stac.time_range("July 2025")


def test_sample_items_are_valid_stac(sample_settings: Settings) -> None:
    entries = catalog.load(sample_settings)
    ndvi = stac.raster_item(entries["ndvi_2025_07"], BASE, {"colormap_name": "onemap_ndvi"})
    item = pystac.Item.from_dict(ndvi)
    assert item.collection_id == "ndvi" and item.datetime == datetime(2025, 7, 1, tzinfo=UTC)
    assert item.properties["start_datetime"] == "2025-07-01T00:00:00Z"
    assert item.properties["end_datetime"] == "2025-07-31T23:59:59Z"
    assert item.properties["proj:code"] == "EPSG:4326"
    assert item.assets["data"].href == f"{BASE}/raster/ndvi_2025_07/cog.tif"
    assert "colormap_name=onemap_ndvi" in item.assets["thumbnail"].href
    assert {link["rel"] for link in ndvi["links"]} >= {"self", "root", "parent", "collection"}
    assert all(link["href"].startswith(BASE) for link in ndvi["links"])

    scene = pystac.Item.from_dict(stac.raster_item(entries["gf1_wfv_2025_07_20"], BASE, {}))
    assert scene.datetime == datetime(2025, 7, 20, 2, 36, 18, tzinfo=UTC)
    assert "start_datetime" not in scene.properties
    bands = scene.assets["data"].extra_fields["eo:bands"]
    assert [b["common_name"] for b in bands] == ["blue", "green", "red", "nir"]
    raster_bands = scene.assets["data"].extra_fields["raster:bands"]
    assert raster_bands[0] == {"data_type": "uint16", "nodata": 0}
    assert scene.properties["proj:code"] == "EPSG:32650"


def test_cube_is_one_item_per_hour_and_a_datacube_collection(
        sample_settings: Settings) -> None:
    cube = catalog.get("pm25_hourly", sample_settings)
    items = stac.cube_items(cube, BASE)
    assert len(items) == 168 == len({i["id"] for i in items})
    first = pystac.Item.from_dict(items[0])
    assert first.properties["datetime"] == cube.extra["times"][0]
    assert first.id == "pm25_hourly_" + cube.extra["times"][0][:13].replace("-", "").replace(
        ":", "") + "00"
    assert "sel=time%3D" + cube.extra["times"][0].replace(":", "%3A") in (
        first.assets["tilejson"].href)
    coll = stac.collection("pm25_hourly", [cube], items, BASE)
    pystac.Collection.from_dict(coll)
    assert coll["extent"]["temporal"]["interval"] == [[cube.extra["times"][0],
                                                       cube.extra["times"][-1]]]
    assert coll["cube:dimensions"]["time"]["step"] == "PT1H"
    assert coll["cube:variables"]["pm25"]["unit"] == "µg/m³"


def test_series_collection_spans_its_members(sample_settings: Settings) -> None:
    entries = catalog.load(sample_settings)
    members = [e for e in entries.values() if e.extra.get("collection") == "ndvi"]
    assert {e.id for e in members} == {"ndvi_2024_07", "ndvi_2025_01", "ndvi_2025_04",
                                       "ndvi_2025_07", "ndvi_2025_10"}
    items = [stac.raster_item(e, BASE, {}) for e in members]
    coll = pystac.Collection.from_dict(stac.collection("ndvi", members, items, BASE))
    start, end = coll.extent.temporal.intervals[0]
    assert start == datetime(2024, 7, 1, tzinfo=UTC)
    assert end == datetime(2025, 10, 31, 23, 59, 59, tzinfo=UTC)
