"""Good files in the formats and encodings people have end up canonical in the store."""

from __future__ import annotations

import subprocess
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import MultiPolygon, Point, Polygon

from onemap import catalog
from onemap.config import Settings
from onemap.layers.importer import import_file, import_frame
from onemap.layers.readers import read_file
from onemap.layers.store import read_layer

from .helpers import write_shapefile_zip


def test_geojson_cgcs2000_lonlat(tmp_path: Path, settings: Settings,
                                 stations: gpd.GeoDataFrame) -> None:
    src = tmp_path / "站点.geojson"
    stations.to_file(src)
    entry = import_file(src, "air_stations", settings=settings)
    assert entry.path == "store/air_stations.gpkg" and entry.kind == "vector"
    assert entry.feature_count == 3 and entry.source == "站点.geojson"
    assert entry.title == "空气质量监测站" and entry.geometry_type == "Point"
    assert entry.bbox == pytest.approx([116.17, 39.8673, 116.434, 40.2865])
    layer = read_layer("air_stations", settings)
    assert layer.crs.to_epsg() == 4326
    assert list(layer["station_id"]) == ["1001A", "1002A", "1003A"]
    assert list(layer["station_type"]) == ["national", "provincial", "municipal"]
    assert layer.geometry.iloc[0].x == pytest.approx(116.366, abs=1e-9)
    assert catalog.get("air_stations", settings) == entry


def test_gauss_kruger_cgcs2000_is_reprojected(tmp_path: Path, settings: Settings,
                                              stations: gpd.GeoDataFrame) -> None:
    # EPSG:4549 = CGCS2000 3-degree Gauss-Krüger, central meridian 120°E, false easting 500 km.
    # On the central meridian easting is 500000 and the CGCS2000 meridian arc to 30°N is
    # 3320113.398 m, so this point is exactly (120°E, 30°N).
    frame = stations.copy()
    frame.geometry = [Point(500000.0, 3320113.398), Point(548146.414, 3342389.899),
                      Point(452000.0, 3300000.0)]
    frame = frame.set_crs("EPSG:4549", allow_override=True)
    src = write_shapefile_zip(frame, tmp_path / "stations_gk.zip")
    import_file(src, "air_stations", settings=settings)
    layer = read_layer("air_stations", settings)
    assert layer.geometry.iloc[0].x == pytest.approx(120.0, abs=1e-8)
    assert layer.geometry.iloc[0].y == pytest.approx(30.0, abs=1e-7)
    assert layer.geometry.iloc[1].x == pytest.approx(120.5, abs=1e-7)
    assert layer.geometry.iloc[1].y == pytest.approx(30.2, abs=1e-7)
    assert layer.geometry.iloc[2].x < 120


@pytest.mark.parametrize("cpg", [True, False], ids=["with-cpg", "without-cpg"])
def test_gbk_zipped_shapefile(tmp_path: Path, settings: Settings,
                              stations: gpd.GeoDataFrame, cpg: bool) -> None:
    src = write_shapefile_zip(stations, tmp_path / "gbk.zip", encoding="GBK", cpg=cpg)
    import_file(src, "air_stations", settings=settings)
    layer = read_layer("air_stations", settings)
    assert list(layer["name"]) == ["万寿西宫", "定陵", "东四"]
    assert list(layer["city"]) == ["北京"] * 3
    assert list(layer["station_type"]) == ["national", "provincial", "municipal"]


def test_bare_shapefile_without_prj_needs_crs(tmp_path: Path, settings: Settings,
                                              stations: gpd.GeoDataFrame) -> None:
    shp = tmp_path / "s.shp"
    pyogrio.write_dataframe(stations, shp, encoding="GBK")
    (tmp_path / "s.prj").unlink()
    with pytest.raises(ValueError, match=r"s\.shp.*coordinate reference system"):
        import_file(shp, "air_stations", settings=settings)
    entry = import_file(shp, "air_stations", crs="EPSG:4490", settings=settings)
    assert entry.feature_count == 3


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_csv_with_chinese_lonlat_columns(tmp_path: Path, settings: Settings,
                                         encoding: str) -> None:
    src = tmp_path / "敏感点.csv"
    pd.DataFrame({"敏感点编码": ["R001", "R002"], "名称": ["第一中学", "人民医院"],
                  "类型": ["学校", "医院"], "人数": ["1200", "350"], "经度": [120.1, 120.2],
                  "纬度": [30.25, 30.3], "备注": ["", "三甲"], "行政区划代码": ["330106", "330102"]}
                 ).to_csv(src, index=False, encoding=encoding)
    entry = import_file(src, "sensitive_receptors", settings=settings)
    assert entry.fields["population"] == "int" and entry.fields["备注"] == "str"
    layer = read_layer("sensitive_receptors", settings)
    assert list(layer["kind"]) == ["school", "hospital"]
    assert list(layer["population"]) == [1200, 350]
    assert list(layer["county_code"]) == ["330106", "330102"]
    assert layer.geometry.iloc[1].coords[0] == pytest.approx((120.2, 30.3))
    assert "经度" not in layer.columns


def test_csv_without_coordinates_is_an_attribute_table(tmp_path: Path,
                                                       settings: Settings) -> None:
    src = tmp_path / "hourly.csv"
    pd.DataFrame({"站点编码": ["1001A"] * 3,
                  "监测时间": ["2024-01-01 08:00", "2024/1/1 9:00", "2024-01-01T02:00:00Z"],
                  "PM2.5": ["35", "", "40.5"], "数据标识": ["N", "N", "M"]}
                 ).to_csv(src, index=False, encoding="gbk")
    assert isinstance(read_file(src), pd.DataFrame)
    entry = import_file(src, "air_hourly", settings=settings)
    assert entry.kind == "table" and entry.geometry_type is None and entry.bbox is None
    assert entry.time_extent == ["2024-01-01T08:00:00+08:00", "2024-01-01T10:00:00+08:00"]
    table = read_layer("air_hourly", settings)
    assert str(table["time"].dt.tz) == "Asia/Shanghai"
    assert [t.hour for t in table["time"]] == [8, 9, 10]
    assert table["pm25"].isna().tolist() == [False, True, False]


def test_value_aliases_and_roman_numerals(tmp_path: Path, settings: Settings) -> None:
    frame = gpd.GeoDataFrame(
        {"断面编码": ["S1", "S2", "S3", "S4"], "断面名称": ["甲", "乙", "丙", "丁"],
         "水质目标": ["劣Ⅴ", "Ⅲ", "II", 4], "级别": ["国家级", "省", "municipal", None]},
        geometry=[Point(120, 30 + i / 10) for i in range(4)], crs="EPSG:4326")
    import_frame(frame, "water_sections", source="sections.geojson", settings=settings)
    layer = read_layer("water_sections", settings)
    assert list(layer["target_class"]) == ["V+", "III", "II", "IV"]
    assert list(layer["level"])[:3] == ["national", "provincial", "municipal"]


def test_gpkg_layers_datetimes_and_gdal36(tmp_path: Path, settings: Settings,
                                          stations: gpd.GeoDataFrame) -> None:
    src = tmp_path / "multi.gpkg"
    incidents = gpd.GeoDataFrame(
        {"事件编号": ["E1", "E2"], "事件名称": ["泄漏", "排放"],
         "发生时间": pd.to_datetime(["2024-05-01 14:30", "2024-06-02 09:00"]),
         "事件类型": ["水污染", "大气污染"], "事件级别": ["一般", "较大"],
         "状态": ["已结束", "处置中"]},
        geometry=[Point(120, 30), Point(121, 31)], crs="EPSG:4490")
    pyogrio.write_dataframe(incidents, src, layer="events")
    pyogrio.write_dataframe(stations, src, layer="other")
    with pytest.raises(ValueError, match=r"multi\.gpkg.*events, other"):
        import_file(src, "incidents", settings=settings)
    entry = import_file(src, "incidents", layer="events", settings=settings)
    assert entry.time_extent == ["2024-05-01T14:30:00+08:00", "2024-06-02T09:00:00+08:00"]
    layer = read_layer("incidents", settings)
    assert layer["time"].iloc[0] == pd.Timestamp("2024-05-01 14:30", tz="Asia/Shanghai")
    assert list(layer["level"]) == ["IV", "III"] and list(layer["status"]) == ["closed",
                                                                              "responding"]
    # The store file is GPKG 1.2 and readable by Debian's GDAL 3.6 ogrinfo.
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-so", str(settings.store_dir /
                                                              "incidents.gpkg")],
                         capture_output=True, text=True, check=True).stdout
    assert "Feature Count: 2" in out and "time: DateTime" in out


def test_polygons_are_stored_as_multipolygons_with_extras(tmp_path: Path,
                                                          settings: Settings) -> None:
    square = Polygon([(120, 30), (120.1, 30), (120.1, 30.1), (120, 30.1)])
    multi = MultiPolygon([Polygon([(121, 30), (121.1, 30), (121.1, 30.1)]),
                          Polygon([(121.2, 30), (121.3, 30), (121.3, 30.1)])])
    frame = gpd.GeoDataFrame(
        {"保护地编码": ["P1", "P2"], "名称": ["西溪", "千岛湖"],
         "保护地类型": ["湿地公园", "森林公园"],
         "设立年份": [2005.0, 1982.0], "Manager Name": ["甲", "乙"], "GEOMETRY": ["x", "y"]},
        geometry=[square, multi], crs="EPSG:4326")
    src = tmp_path / "areas.gpkg"
    frame.to_file(src)
    entry = import_file(src, "protected_areas", layer_id="pa_zj", title="浙江保护地",
                        access="internal", settings=settings)
    assert entry.id == "pa_zj" and entry.geometry_type == "MultiPolygon"
    assert entry.access == "internal" and entry.title == "浙江保护地"
    assert entry.fields["established"] == "int" and entry.fields["manager_name"] == "str"
    layer = read_layer("pa_zj", settings)
    assert set(layer.geom_type) == {"MultiPolygon"}
    assert list(layer["established"]) == [2005, 1982]
    assert list(layer["category"]) == ["wetland_park", "forest_park"]
    assert list(layer["geometry_2"]) == ["x", "y"]
    assert pyogrio.read_info(settings.store_dir / "pa_zj.gpkg")["geometry_type"] == "MultiPolygon"


def test_attribute_table_key_time_pairs(settings: Settings) -> None:
    times = pd.to_datetime(["2024-01-01 08:00", "2024-01-01 09:00"] * 2)
    frame = pd.DataFrame({"code": ["1001A", "1001A", "1002A", "1002A"], "time": times,
                          "flag": ["N"] * 4, "pm25": [1.0, 2.0, 3.0, 4.0]})
    entry = import_frame(frame, "air_hourly", source="hourly.csv", settings=settings)
    assert entry.feature_count == 4


@pytest.mark.filterwarnings("ignore:Could not decode error message:RuntimeWarning")
def test_utf8_shapefile_with_cut_chinese_field_names_is_explained(
        tmp_path: Path, settings: Settings, stations: gpd.GeoDataFrame) -> None:
    # DBF field names hold 10 bytes: GDAL cuts a 4-character UTF-8 name mid-character.
    shp = tmp_path / "utf8.shp"
    pyogrio.write_dataframe(stations, shp, encoding="UTF-8")
    with pytest.raises(ValueError, match=r"utf8\.shp.*encoding"):
        import_file(shp, "air_stations", settings=settings)
