"""Broken files are refused with messages naming the file, the row or feature, and the field."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

from onemap.config import Settings
from onemap.layers.codes import uscc_check_char
from onemap.layers.errors import LayerImportError
from onemap.layers.importer import import_file, import_frame


def _hj608(first17: str, suffix: str = "001P") -> str:
    return first17 + uscc_check_char(first17) + suffix


def _sources(codes: list[str]) -> gpd.GeoDataFrame:
    n = len(codes)
    return gpd.GeoDataFrame(
        {"排污单位编码": codes, "单位名称": [f"企业{i}" for i in range(n)],
         "行业代码": ["C2614"] * n, "管理类别": ["重点管理"] * n, "排放口": ["DA001;DW001"] * n},
        geometry=[Point(120 + i / 100, 30) for i in range(n)], crs="EPSG:4326")


def _raises(func, *args, **kwargs) -> LayerImportError:
    with pytest.raises(LayerImportError) as info:
        func(*args, **kwargs)
    return info.value


def test_missing_required_value_names_row_and_field(tmp_path: Path, settings: Settings,
                                                    stations: gpd.GeoDataFrame) -> None:
    frame = stations.copy()
    frame.loc[1, "站点类型"] = None
    src = tmp_path / "stations.geojson"
    frame.to_file(src)
    err = _raises(import_file, src, "air_stations", settings=settings)
    assert "stations.geojson, feature 2, field 'station_type'" in str(err)
    assert "required" in str(err) and err.total == 1


def test_missing_required_column_names_file_and_field(tmp_path: Path, settings: Settings,
                                                      stations: gpd.GeoDataFrame) -> None:
    src = tmp_path / "nocode.geojson"
    stations.drop(columns="站点编码").to_file(src)
    err = _raises(import_file, src, "air_stations", settings=settings)
    assert "nocode.geojson, field 'station_id'" in str(err)
    assert "站点编码" in str(err)  # tells which column names would do


def test_self_intersecting_polygon(tmp_path: Path, settings: Settings) -> None:
    bowtie = Polygon([(120, 30), (120.1, 30.1), (120.1, 30), (120, 30.1)])
    square = Polygon([(121, 30), (121.1, 30), (121.1, 30.1), (121, 30.1)])
    frame = gpd.GeoDataFrame({"红线编码": ["R1", "R2"], "名称": ["甲", "乙"],
                              "主导功能": ["水源涵养", "生物多样性维护"]},
                             geometry=[square, bowtie], crs="EPSG:4490")
    src = tmp_path / "红线.gpkg"
    frame.to_file(src)
    err = _raises(import_file, src, "red_lines", settings=settings)
    assert "红线.gpkg, feature 2, field 'geometry'" in str(err)
    assert "Self-intersection" in str(err)


def test_wrong_geometry_type(settings: Settings) -> None:
    frame = gpd.GeoDataFrame({"红线编码": ["R1"], "名称": ["甲"], "主导功能": ["水源涵养"]},
                             geometry=[Point(120, 30)], crs="EPSG:4326")
    err = _raises(import_frame, frame, "red_lines", source="lines.geojson", settings=settings)
    assert "lines.geojson, feature 1, field 'geometry'" in str(err) and "Point" in str(err)


def test_bad_hj608_check_char(tmp_path: Path, settings: Settings) -> None:
    good = _hj608("91330100MA2GXXXX1".replace("X", "2"))
    bad = good[:17] + ("0" if good[17] != "0" else "1") + good[18:]
    src = tmp_path / "sources.geojson"
    _sources([good, bad]).to_file(src)
    err = _raises(import_file, src, "pollution_sources", settings=settings)
    assert "sources.geojson, feature 2, field 'source_id'" in str(err)
    assert f"expected {good[17]!r}" in str(err)


def test_duplicate_keys(tmp_path: Path, settings: Settings) -> None:
    code = _hj608("91330100MA2G00001")
    other = _hj608("91330100MA2G00002")
    src = tmp_path / "dups.geojson"
    _sources([code, other, code]).to_file(src)
    err = _raises(import_file, src, "pollution_sources", settings=settings)
    assert "dups.geojson, feature 3, field 'source_id'" in str(err)
    assert "feature 1 has it too" in str(err)


def test_duplicate_key_time_in_table_and_csv_row_numbers(tmp_path: Path,
                                                         settings: Settings) -> None:
    src = tmp_path / "hourly.csv"
    pd.DataFrame({"站点编码": ["1001A", "1001A", "1001A"],
                  "时间": ["2024-01-01 08:00", "2024-01-01 09:00", "2024/1/1 8:00"],
                  "数据标识": ["N", "N", "N"]}).to_csv(src, index=False)
    err = _raises(import_file, src, "air_hourly", settings=settings)
    # header = row 1, so the third record is spreadsheet row 4 and duplicates row 2.
    assert "hourly.csv, row 4, field 'station_id'" in str(err)
    assert "row 2 has it too" in str(err)


def test_bad_values_range_choice_type_pattern(tmp_path: Path, settings: Settings) -> None:
    src = tmp_path / "receptors.csv"
    pd.DataFrame({"编码": ["A", "B", "C", "D"], "名称": ["甲", "乙", "丙", "丁"],
                  "类型": ["学校", "商场", "医院", "学校"], "人数": ["10", "-5", "many", "3"],
                  "行政区划代码": ["330106", "330106", "330106", "3301"],
                  "lon": [120, 120.1, 120.2, 120.3], "lat": [30, 30, 30, 30]}
                 ).to_csv(src, index=False, encoding="gbk")
    err = _raises(import_file, src, "sensitive_receptors", settings=settings)
    text = str(err)
    assert "receptors.csv, row 3, field 'kind'" in text and "商场" in text
    assert "receptors.csv, row 3, field 'population'" in text and "minimum 0" in text
    assert "receptors.csv, row 4, field 'population'" in text and "'many'" in text
    assert "receptors.csv, row 5, field 'county_code'" in text
    assert err.total == 4


def test_coordinates_outside_lonlat(tmp_path: Path, settings: Settings,
                                    stations: gpd.GeoDataFrame) -> None:
    frame = stations.copy()
    frame.geometry = [Point(500000, 3320113), Point(116, 40), Point(116.1, 40)]
    frame = frame.set_crs("EPSG:4326", allow_override=True)  # wrong: metres declared lon/lat
    src = tmp_path / "metres.geojson"
    frame.to_file(src)
    err = _raises(import_file, src, "air_stations", settings=settings)
    assert "metres.geojson, feature 1, field 'geometry'" in str(err)
    assert "crs" in str(err)


def test_gbk_csv_missing_coordinates(tmp_path: Path, settings: Settings) -> None:
    src = tmp_path / "点.csv"
    pd.DataFrame({"敏感点编码": ["R1", "R2"], "名称": ["甲", "乙"], "类型": ["学校", "医院"],
                  "经度": ["120.1", ""], "纬度": ["30.1", "30.2"]}
                 ).to_csv(src, index=False, encoding="gbk")
    err = _raises(import_file, src, "sensitive_receptors", settings=settings)
    assert "点.csv, row 3, field 'geometry'" in str(err)


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("empty.geojson", b"", "empty"),
    ("empty.csv", b"", "empty"),
    ("fake.zip", b"this is not a zip", "not a valid zip"),
    ("data.xlsx", b"PK", "unknown file type '.xlsx'"),
    ("broken.geojson", b"{\"type\": \"FeatureCollection\", \"feat", "cannot be read"),
    ("nofeatures.geojson", b'{"type": "FeatureCollection", "features": []}', "no features"),
    ("header.csv", "编码,名称\n".encode("gbk"), "no records"),
])
def test_unreadable_files(tmp_path: Path, settings: Settings, name: str, content: bytes,
                          expected: str) -> None:
    src = tmp_path / name
    src.write_bytes(content)
    err = _raises(import_file, src, "sensitive_receptors", settings=settings)
    assert str(err).startswith(f"1 problem in {name}:")
    assert expected in str(err)
    assert not settings.catalog_path.exists()


def test_zip_without_shapefile_and_with_several(tmp_path: Path, settings: Settings,
                                                stations: gpd.GeoDataFrame) -> None:
    src = tmp_path / "docs.zip"
    with zipfile.ZipFile(src, "w") as archive:
        archive.writestr("readme.txt", "hello")
    err = _raises(import_file, src, "air_stations", settings=settings)
    assert "docs.zip" in str(err) and "no Shapefile" in str(err) and "readme.txt" in str(err)

    folder = tmp_path / "parts"
    folder.mkdir()
    for stem in ("a", "b"):
        stations.to_file(folder / f"{stem}.shp", encoding="GBK")
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        for part in folder.iterdir():
            archive.write(part, part.name)
    err = _raises(import_file, two, "air_stations", settings=settings)
    assert "two.zip" in str(err) and "a, b" in str(err)
    assert import_file(two, "air_stations", layer="b", settings=settings).feature_count == 3


def test_missing_file_and_bad_arguments(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(FileNotFoundError):
        import_file(tmp_path / "nope.geojson", "air_stations", settings=settings)
    with pytest.raises(ValueError, match="unknown family"):
        import_file(tmp_path / "nope.geojson", "air", settings=settings)
    with pytest.raises(ValueError, match="invalid dataset id"):
        import_file(tmp_path / "nope.geojson", "air_stations", layer_id="Bad-Id",
                    settings=settings)


def test_many_problems_are_counted_but_only_some_shown(settings: Settings) -> None:
    frame = gpd.GeoDataFrame({"code": [f"X{i}" for i in range(30)], "name": ["n"] * 30,
                              "type": ["国控"] * 30},
                             geometry=[Point(120, 30)] * 30, crs="EPSG:4326")
    err = _raises(import_frame, frame, "air_stations", source="many.geojson",
                  settings=settings)
    assert err.total == 30 and len(err.problems) == 30
    assert "30 problems in many.geojson" in str(err) and "… and 20 more" in str(err)
