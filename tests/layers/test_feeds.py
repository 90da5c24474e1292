"""Feeds append rows to a stored time-series table: upserted by key, idempotent, validated as
an import validates, all or none, with the catalogue entry following the rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from onemap import catalog
from onemap.config import Settings
from onemap.layers import feeds
from onemap.layers.errors import LayerImportError
from onemap.layers.importer import import_frame
from onemap.layers.store import read_layer

HOURS = pd.DataFrame({
    "站点编码": ["1001A", "1001A", "1002A"],
    "监测时间": ["2026-01-01 08:00", "2026-01-01 09:00", "2026-01-01 08:00"],
    "PM2.5": [35, 40, 50], "PM10": [60, 70, 80], "数据标识": ["N", "N", "N"]})


@pytest.fixture
def hourly(settings: Settings) -> Settings:
    """``settings`` with a small air_hourly table imported, as a clerk's file would be."""
    import_frame(HOURS, "air_hourly", source="air_hourly_2026.csv", settings=settings)
    return settings


def _rows(*rows: dict) -> pd.DataFrame:
    return feeds.rows_frame(list(rows), "batch")


def _table(settings: Settings) -> pd.DataFrame:
    return read_layer("air_hourly", settings).sort_values(["station_id", "time"]).reset_index(
        drop=True)


def test_new_rows_are_appended_and_catalogued(hourly: Settings) -> None:
    result = feeds.append("air_hourly", _rows(
        {"station_id": "1001A", "time": "2026-01-01T10:00:00+08:00", "pm25": 45, "flag": "N"},
        {"station_id": "1002A", "time": "2026-01-01T10:00:00+08:00", "flag": "N"}),
        hourly, source="batch")
    assert (result.rows, result.inserted, result.updated, result.unchanged) == (2, 2, 0, 0)
    # the column names and values an import knows (a batch uses one set of names)
    result = feeds.append("air_hourly", _rows(
        {"站点编码": "1003A", "监测时间": "2026年1月1日 11时", "PM2.5": "12", "数据标识": "N"}),
        hourly, source="batch")
    assert result.inserted == 1
    table = _table(hourly)
    assert len(table) == 6
    new = table[table["station_id"] == "1003A"].iloc[0]
    assert new["time"] == pd.Timestamp("2026-01-01 11:00", tz="Asia/Shanghai")
    assert new["pm25"] == 12 and pd.isna(new["pm10"])
    entry = catalog.get("air_hourly", hourly)
    assert entry.feature_count == 6
    assert entry.time_extent == ["2026-01-01T08:00:00+08:00", "2026-01-01T11:00:00+08:00"]


def test_the_same_rows_twice_leave_the_same_table(hourly: Settings) -> None:
    batch = _rows({"station_id": "1001A", "time": "2026-01-01 09:00", "pm25": 41, "flag": "N"},
                  {"station_id": "1002A", "time": "2026-01-01 12:00", "pm25": 7, "flag": "N"})
    first = feeds.append("air_hourly", batch, hourly, source="batch")
    assert (first.inserted, first.updated) == (1, 1)
    once, entry = _table(hourly), catalog.get("air_hourly", hourly)
    again = feeds.append("air_hourly", batch, hourly, source="batch")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    pd.testing.assert_frame_equal(_table(hourly), once)
    assert catalog.get("air_hourly", hourly).feature_count == entry.feature_count == 4
    # an update keeps the columns the batch did not send
    row = once[(once["station_id"] == "1001A") & (once["pm25"] == 41)].iloc[0]
    assert row["pm10"] == 70


def test_one_bad_row_writes_nothing_and_every_problem_is_named(hourly: Settings) -> None:
    before, entry = _table(hourly), catalog.get("air_hourly", hourly)
    batch = _rows(
        {"station_id": "1001A", "time": "2026-01-02 08:00", "pm25": 10, "flag": "N"},
        {"station_id": "10", "time": "yesterday", "pm25": -3, "flag": "Q"},
        {"station_id": "1001A", "time": "2026-01-02 08:00", "pm25": 11, "flag": "N"},
        {"station_id": "1002A", "time": "2026-01-02 08:00", "flag": "N", "aqi": 20})
    with pytest.raises(LayerImportError) as info:
        feeds.append("air_hourly", batch, hourly, source="batch")
    found = {(p.row, p.field) for p in info.value.problems}
    assert {(2, "station_id"), (2, "time"), (2, "pm25"), (2, "flag"), (3, "station_id"),
            (None, "aqi")} <= found
    assert all(p.message for p in info.value.problems)
    pd.testing.assert_frame_equal(_table(hourly), before)
    assert catalog.get("air_hourly", hourly) == entry
    # the import says the same words about the same values
    with pytest.raises(LayerImportError) as imported:
        import_frame(batch.drop(columns="aqi"), "air_hourly", source="batch",
                     layer_id="other", settings=hourly)
    feed_words = {p.message for p in info.value.problems if p.field != "aqi"}
    assert feed_words <= {p.message.replace("feature", "row") for p in imported.value.problems}


def test_what_is_not_a_batch_is_refused(hourly: Settings) -> None:
    with pytest.raises(LayerImportError, match="not a JSON object"):
        feeds.rows_frame([{"station_id": "1001A"}, [1, 2]], "b")
    with pytest.raises(LayerImportError, match="not a plain value"):
        feeds.rows_frame([{"station_id": {"a": 1}}], "b")
    with pytest.raises(LayerImportError, match="not valid JSON"):
        feeds.parse_json(b'[{"pm25": NaN}]', "b")
    with pytest.raises(LayerImportError, match="no rows"):
        feeds.append("air_hourly", _rows(), hourly, source="b")
    assert feeds.parse_json(b'{"rows": [{"a": 1}]}', "b").index.tolist() == [1]
    with pytest.raises(catalog.UnknownDataset):
        feeds.append("nope", _rows({"a": 1}), hourly, source="b")


def test_only_time_series_tables_take_feeds(settings: Settings, stations) -> None:
    import_frame(stations, "air_stations", source="stations.geojson", settings=settings)
    with pytest.raises(ValueError, match="not a table feeds write"):
        feeds.append("air_stations", _rows({"station_id": "1001A"}), settings, source="b")


def test_the_key_is_unique_whatever_form_gdal_stored_times_in(hourly: Settings) -> None:
    """GDAL writes times with or without milliseconds: a feed brings them to one form, so a
    row stored as 00:00:00Z is updated, not doubled, by a feed of the same hour."""
    path = catalog.get("air_hourly", hourly).file(hourly)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE air_hourly SET time = '2026-01-01T00:00:00Z' "
                     "WHERE station_id = '1001A' AND time LIKE '2026-01-01T00%'")
    result = feeds.append("air_hourly", _rows(
        {"station_id": "1001A", "time": "2026-01-01 08:00", "pm25": 99, "flag": "N"}),
        hourly, source="b")
    assert (result.inserted, result.updated) == (0, 1)
    conn = sqlite3.connect(path)
    # written in WAL mode, left in the rollback mode GIS tools and imports expect
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists()
    assert conn.execute("SELECT COUNT(*) FROM air_hourly").fetchone()[0] == 3
    assert {t for (t,) in conn.execute("SELECT time FROM air_hourly")} == {
        "2026-01-01T00:00:00.000Z", "2026-01-01T01:00:00.000Z"}
    with pytest.raises(sqlite3.IntegrityError):  # the unique index holds the key
        conn.execute("INSERT INTO air_hourly (station_id, time, flag) VALUES "
                     "('1002A', '2026-01-01T00:00:00.000Z', 'N')")
    conn.close()


def test_a_csv_batch_is_read_as_an_import_reads_it(hourly: Settings, tmp_path: Path) -> None:
    csv = tmp_path / "air_hourly_20260101T12.csv"
    csv.write_bytes("站点编码,监测时间,PM2.5,数据标识\n1001A,2026-01-01 12:00,33,N\n"
                    "1002A,2026-01-01 12:00,abc,N\n".encode("gb18030"))
    frame, unit = feeds.read_batch(csv, hourly)
    assert unit == "row" and frame.index.tolist() == [2, 3]
    with pytest.raises(LayerImportError) as info:
        feeds.append("air_hourly", frame, hourly, source=csv.name, unit=unit)
    assert [(p.row, p.field) for p in info.value.problems] == [(3, "pm25")]
    assert "air_hourly_20260101T12.csv, row 3, field 'pm25'" in str(info.value)
    csv.write_text("station_id,time,pm25,flag\n1001A,2026-01-01 12:00,33,N\n")
    result = feeds.append("air_hourly", feeds.read_batch(csv, hourly)[0], hourly, source="c")
    assert result.inserted == 1
    with pytest.raises(LayerImportError, match="CSV"):
        feeds.read_batch(tmp_path / "x.xlsx", hourly)


def test_water_samples_take_feeds_by_section_and_time(settings: Settings) -> None:
    samples = pd.DataFrame({"断面编码": ["S1", "S2"], "采样时间": ["2026-01-05 10:00"] * 2,
                            "pH": [7.2, 7.4], "溶解氧": [8.1, 6.0]})
    import_frame(samples, "water_samples", source="water.csv", settings=settings)
    result = feeds.append("water_samples", _rows(
        {"section_id": "S1", "time": "2026-01-05 10:00", "ph": 7.3},
        {"section_id": "S1", "time": "2026-02-05 10:00", "ph": 7.0, "do": 9}),
        settings, source="b")
    assert (result.inserted, result.updated) == (1, 1)
    frame = read_layer("water_samples", settings)
    assert len(frame) == 3 and sorted(frame["ph"]) == [7.0, 7.3, 7.4]
    assert frame.loc[frame["ph"] == 7.3, "do"].iloc[0] == 8.1
    assert catalog.get("water_samples", settings).feature_count == 3
