"""The vectorised paths of a large import give the same results as the value-by-value ones.

Time parsing reads a whole column at once and rewrites only values in Chinese or dotted forms;
the duplicate check hashes keys across chunks; chunks are written through GDAL's Arrow API
when pyarrow is there. Each has a slower, older path these tests hold it to.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.affinity import translate
from shapely.geometry import MultiPolygon, Polygon

from onemap.config import Settings
from onemap.layers import store
from onemap.layers.errors import LayerImportError
from onemap.layers.importer import import_file, import_frames
from onemap.layers.normalise import _parse_times
from onemap.layers.store import read_layer

MIXED = {  # text as people type it -> Beijing time
    "2024-01-01 08:00": "2024-01-01 08:00",
    "2024-01-01T08:30:15": "2024-01-01 08:30:15",
    "2024/1/2 9:00": "2024-01-02 09:00",
    "2024.01.03 10:05": "2024-01-03 10:05",
    "2024年1月4日 8时": "2024-01-04 08:00",
    "2024年1月5日8时30分": "2024-01-05 08:30",
    "2024年01月06日 13点05分09秒": "2024-01-06 13:05:09",
    "2024-01-07 14时": "2024-01-07 14:00",
    "2024-01-08T00:00:00Z": "2024-01-08 08:00",
    "2024-01-09T09:00:00+08:00": "2024-01-09 09:00",
    "2024-01-10 01:00:00 +0000": "2024-01-10 09:00",
    " 2024-01-11 15:00 ": "2024-01-11 15:00",
    "20240112": "2024-01-12 00:00",
}


def _expected(values: list[str]) -> list[pd.Timestamp]:
    return [pd.Timestamp(MIXED[v], tz="Asia/Shanghai") for v in values]


def test_mixed_formats_in_one_column_are_all_read() -> None:
    values = list(MIXED) * 3
    parsed = _parse_times(pd.Series(values, dtype="str", index=pd.RangeIndex(2, 2 + 39)))
    assert parsed.tolist() == _expected(values)
    assert str(parsed.dtype) == "datetime64[ms, Asia/Shanghai]"


def test_mixed_formats_in_a_csv_and_bad_values_named_by_row(tmp_path: Path,
                                                            settings: Settings) -> None:
    times = list(MIXED)
    src = tmp_path / "hourly.csv"
    frame = pd.DataFrame({"站点编码": ["1001A"] * len(times), "监测时间": times,
                          "数据标识": ["N"] * len(times)})
    frame.to_csv(src, index=False, encoding="gbk")
    import_file(src, "air_hourly", settings=settings, chunk_size=5)
    table = read_layer("air_hourly", settings)
    assert table["time"].tolist() == _expected(times)

    frame.loc[4, "监测时间"] = "2024年13月1日"  # no 13th month
    frame.loc[9, "监测时间"] = "明天"
    frame.to_csv(src, index=False, encoding="gbk")
    with pytest.raises(LayerImportError) as info:
        import_file(src, "air_hourly", settings=settings, chunk_size=5)
    text = str(info.value)
    assert info.value.total == 2
    assert "hourly.csv, row 6, field 'time': cannot read '2024年13月1日' (column '监测时间')" \
        in text
    assert "hourly.csv, row 11, field 'time': cannot read '明天'" in text


def test_a_chunk_without_one_readable_time_is_reported_not_crashed(tmp_path: Path,
                                                                 settings: Settings) -> None:
    src = tmp_path / "hourly.csv"
    pd.DataFrame({"站点编码": ["1001A", "1002A"], "时间": ["bad", "worse"],
                  "数据标识": ["N", "N"]}).to_csv(src, index=False)
    with pytest.raises(LayerImportError) as info:
        import_file(src, "air_hourly", settings=settings)
    assert info.value.total == 2
    assert "hourly.csv, row 3, field 'time': cannot read 'worse'" in str(info.value)


def test_duplicate_key_and_time_within_and_across_chunks(tmp_path: Path,
                                                         settings: Settings) -> None:
    src = tmp_path / "hourly.csv"
    pd.DataFrame({"站点编码": ["1001A", "1001A", "1002A", "1001A", "1002A", "1002A", "1003A"],
                  "时间": ["2024-01-01 08:00", "2024-01-01 09:00", "2024-01-01 08:00",
                         "2024/1/1 8:00", "2024-01-01T00:00:00Z", "2024-01-01 10:00",
                         "2024-01-01 08:00"],
                  "数据标识": ["N"] * 7}).to_csv(src, index=False)
    with pytest.raises(LayerImportError) as info:
        import_file(src, "air_hourly", settings=settings, chunk_size=3)
    text = str(info.value)
    assert info.value.total == 2
    # Rows 5 and 6 repeat rows 2 and 4 from the first chunk (08:00 Beijing = 00:00Z).
    assert ("row 5, field 'station_id': duplicate station_id + time '1001A' at "
            "2024-01-01T08:00:00+08:00: an earlier row has it too") in text
    assert "row 6, field 'station_id': duplicate station_id + time '1002A'" in text

    pd.DataFrame({"站点编码": ["1001A", "1002A", "1001A"], "时间": ["2024-01-01 08:00"] * 3,
                  "数据标识": ["N"] * 3}).to_csv(src, index=False)
    with pytest.raises(LayerImportError, match="row 4, field 'station_id': duplicate station_id"
                       r" \+ time '1001A' at 2024-01-01T08:00:00\+08:00: row 2 has it too"):
        import_file(src, "air_hourly", settings=settings)


def _dump(path: Path) -> list[str]:
    """The GeoPackage as SQL, without the time it was written."""
    with sqlite3.connect(path) as db:
        lines = list(db.iterdump())
    return [re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "WRITTEN", line)
            if line.startswith('INSERT INTO "gpkg_contents"') else line for line in lines]


@pytest.mark.skipif(not store.ARROW_WRITE, reason="needs pyarrow and GDAL >= 3.8")
def test_arrow_and_feature_writes_make_the_same_geopackage(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    square = Polygon([(120, 30), (120.1, 30), (120.1, 30.1), (120, 30.1)])
    zones = gpd.GeoDataFrame(
        {"保护地编码": ["P1", "P2", "P3"], "名称": ["甲", "乙", "丙"],
         "类型": ["自然保护区", "forest_park", "geopark"], "面积": [1.5, np.nan, 3.0],
         "设立年份": [2005, None, 1982],
         "批准时间": pd.to_datetime(["2024-05-01 14:30", None, "2020-01-01 00:00"]),
         "备注": ["a", None, ""]},
        geometry=[square, MultiPolygon([square, translate(square, 1)]), translate(square, 0, 1)],
        crs="EPSG:4490")
    hourly = pd.DataFrame({"站点编码": ["1001A", "1002A", "1001A"],
                           "时间": ["2024-01-01 08:00", "2024-01-01 09:00", "2024-01-01 09:00"],
                           "PM2.5": [35.0, np.nan, 12.0], "数据标识": ["N", "M", "N"],
                           "备注": ["x", None, ""]})
    dumps = []
    for arrow in (True, False):
        monkeypatch.setattr(store, "ARROW_WRITE", arrow)
        layers = []
        for frame, family in ((zones, "protected_areas"), (hourly, "air_hourly")):
            try:  # two chunks: the second is appended
                entry = import_frames([frame[:2], frame[2:]], family, source="test",
                                      settings=settings)
            except LayerImportError as exc:  # the fixture must import cleanly
                pytest.fail(str(exc))
            layers.append(_dump(entry.file(settings)))
        dumps.append(layers)
    assert dumps[0] == dumps[1]
    rows = [line for layer in dumps[0] for line in layer if line.startswith("INSERT INTO \"a")]
    assert len(rows) == 3 and "'2024-01-01T01:00:00.000Z'" in rows[1]
