"""The catalogue's records as documents (no server): series grouping, 更新周期 from the dates,
共享属性/开放属性 from access and the bureau's list, and the search predicates."""

from __future__ import annotations

from pathlib import Path

from onemap.catalog import Entry
from onemap.config import Settings
from onemap.mapserver import record_docs, records


def _raster(rid: str, date: str, collection: str, access: str = "public") -> Entry:
    return Entry(id=rid, kind="raster", family="raster", title=f"地表温度 {date}",
                 title_en=f"Land surface temperature {date}", access=access,
                 path=f"rasters/{rid}.tif", bbox=[117.0, 31.0, 118.0, 32.0],
                 time_extent=[date, date],
                 extra={"date": date, "collection": collection, "bands": [{"name": "lst"}]})


def _settings(tmp_path: Path, **kw: str) -> Settings:
    return Settings(data_dir=tmp_path, public_url="http://gis.example", **kw)


def test_series_standalone_rasters_and_cycles(tmp_path: Path) -> None:
    monthly = {f"lst_2025_{m:02d}": _raster(f"lst_2025_{m:02d}", f"2025-{m:02d}", "lst")
               for m in (1, 2, 3, 4)}
    alone = _raster("scene_a", "2025-05-02T02:00:00Z", "scene_a", access="internal")
    table = Entry(id="air_hourly", kind="table", family="air_hourly", title="空气质量小时数据",
                  path="store/air_hourly.gpkg", time_extent=["2025-01-01T00:00:00+08:00",
                                                           "2025-01-31T23:00:00+08:00"])
    entries = {**monthly, "scene_a": alone, "air_hourly": table}
    docs = {d["id"]: d for d in record_docs.build(entries, _settings(tmp_path),
                                                  {"air_hourly"})}
    assert set(docs) == {"lst", "scene_a", "air_hourly"}
    lst = docs["lst"]["properties"]
    assert lst["type"] == "raster-series" and lst["title"] == "地表温度 2025"  # as STAC names it
    assert lst["zh"]["更新周期"] == "每月" and lst["_i18n"]["en"]["updateFrequency"] == "monthly"
    assert lst["temporalExtent"] == ["2025-01-01T00:00:00Z", "2025-04-30T23:59:59Z"]
    assert set(lst["_members"]) == set(monthly)
    scene = docs["scene_a"]["properties"]
    assert scene["type"] == "raster" and scene["zh"]["共享属性"] == "有条件共享"
    assert scene["zh"]["开放属性"] == "不予开放" and scene["zh"]["更新周期"] == "不定期"
    air = docs["air_hourly"]
    assert air["geometry"] is None and air["properties"]["zh"]["更新周期"] == "每小时"
    assert air["properties"]["temporalExtent"] == ["2024-12-31T16:00:00Z",
                                                   "2025-01-31T15:00:00Z"]
    hrefs = [lk["href"] for lk in air["links"]]
    assert "http://gis.example/ogc/collections/air_hourly/items?f=json" in hrefs
    # every link of a series' member names it, so a hidden member's links can be dropped
    member_links = [lk for lk in docs["lst"]["links"] if "/raster/" in lk["href"]]
    assert member_links and all(lk["_dataset"] in monthly for lk in member_links)


def test_unshared_and_settings(tmp_path: Path) -> None:
    settings = _settings(tmp_path, catalog_publisher="某市生态环境局",
                         catalog_publisher_en="City Ecology Bureau",
                         catalog_contact="数据科 0551-1234567", catalog_unshared="lst")
    entries = {"lst_2025_01": _raster("lst_2025_01", "2025-01", "lst")}
    doc = record_docs.build(entries, settings, set())[0]["properties"]
    assert doc["zh"]["共享属性"] == "不予共享" and doc["zh"]["提供单位"] == "某市生态环境局"
    assert doc["_i18n"]["en"]["publisher"] == "City Ecology Bureau"
    assert doc["zh"]["联系方式"] == "数据科 0551-1234567"
    assert "某市生态环境局" in doc["_metadata-anytext"]


def test_search_predicates(tmp_path: Path) -> None:
    entries = {f"lst_2025_{m:02d}": _raster(f"lst_2025_{m:02d}", f"2025-{m:02d}", "lst")
               for m in (1, 2)}
    rec = record_docs.build(entries, _settings(tmp_path), set())[0]
    terms = records._terms
    assert records.matches(rec, terms("LAND surface"), None, None, [])
    assert records.matches(rec, terms("nothing,地表温度"), None, None, [])
    assert not records.matches(rec, terms("land nothing"), None, None, [])
    assert not records.matches(rec, terms(".*"), None, None, [])  # no regular expressions
    assert records.matches(rec, [], [117.5, 31.5, 119, 33], None, [])
    assert not records.matches(rec, [], [100, 20, 101, 21], None, [])
    assert records.matches(rec, [], None, records._interval("2025-02-15"), [])
    assert records.matches(rec, [], None, records._interval("2024-01-01/2025-01-01"), [])
    assert not records.matches(rec, [], None, records._interval("2025-03-01/.."), [])
    assert records.matches(rec, [], None, None, [("type", "cube,raster-series")])
    assert records.matches(rec, [], None, None, [("sharingType", "unconditional")])
    assert not records.matches(rec, [], None, None, [("type", "vector")])
