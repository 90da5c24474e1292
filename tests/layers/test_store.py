"""The store is all-or-nothing and scales by chunks."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from onemap import catalog
from onemap.config import Settings
from onemap.layers import store
from onemap.layers.codes import uscc_check_char
from onemap.layers.errors import LayerImportError
from onemap.layers.importer import import_file, import_frames
from onemap.layers.store import read_layer


def _snapshot(settings: Settings) -> dict[str, bytes]:
    """Every file under the data dir (lock file aside) with its bytes."""
    return {str(p.relative_to(settings.data_dir)): p.read_bytes()
            for p in sorted(settings.data_dir.rglob("*"))
            if p.is_file() and p.name != ".catalog.lock"}


def _import_stations(frame: gpd.GeoDataFrame, tmp_path: Path, settings: Settings,
                     name: str = "s.geojson") -> catalog.Entry:
    src = tmp_path / name
    frame.to_file(src)
    return import_file(src, "air_stations", settings=settings)


def test_failed_import_leaves_store_and_catalogue_byte_identical(
        tmp_path: Path, settings: Settings, stations: gpd.GeoDataFrame) -> None:
    _import_stations(stations, tmp_path, settings)
    before = _snapshot(settings)
    assert "store/air_stations.gpkg" in before and "catalog.json" in before
    broken = stations.copy()
    broken.loc[2, "站点编码"] = "1001A"  # duplicate key
    with pytest.raises(LayerImportError, match="feature 3, field 'station_id'"):
        _import_stations(broken, tmp_path, settings, "broken.geojson")
    assert _snapshot(settings) == before


def test_failed_chunked_import_leaves_no_temporary_file(settings: Settings,
                                                        stations: gpd.GeoDataFrame) -> None:
    def chunks() -> Iterator[gpd.GeoDataFrame]:
        yield stations
        bad = stations.copy()
        bad["站点编码"] = ["2001A", "2002A", "bad"]
        yield bad

    with pytest.raises(LayerImportError, match="feature 6, field 'station_id'"):
        import_frames(chunks(), "air_stations", source="gen", settings=settings)
    assert list(settings.store_dir.iterdir()) == []
    assert not settings.catalog_path.exists()


def test_reimport_replaces_layer(tmp_path: Path, settings: Settings,
                                 stations: gpd.GeoDataFrame) -> None:
    _import_stations(stations, tmp_path, settings)
    entry = _import_stations(stations.iloc[:2], tmp_path, settings, "two.geojson")
    assert entry.feature_count == 2 and entry.source == "two.geojson"
    assert len(read_layer("air_stations", settings)) == 2
    assert catalog.get("air_stations", settings).feature_count == 2
    assert sorted(p.name for p in settings.store_dir.iterdir()) == ["air_stations.gpkg"]


def test_catalogue_failure_restores_previous_layer(tmp_path: Path, settings: Settings,
                                                   stations: gpd.GeoDataFrame,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _import_stations(stations, tmp_path, settings)
    before = _snapshot(settings)

    def broken_put(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store.catalog, "put", broken_put)
    with pytest.raises(OSError, match="disk full"):
        _import_stations(stations.iloc[:1], tmp_path, settings, "one.geojson")
    assert _snapshot(settings) == before
    monkeypatch.undo()
    assert len(read_layer("air_stations", settings)) == 3


def _pollution_sources(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first17 = [f"91330100MA{i:07d}" for i in range(n)]
    codes = [c + uscc_check_char(c) + "001P" for c in first17]
    return pd.DataFrame({"排污单位编码": codes, "单位名称": [f"企业{i}" for i in range(n)],
                         "行业代码": rng.choice(["C2614", "D4411", "C3011"], n),
                         "管理类别": rng.choice(["重点管理", "简化管理", "登记管理"], n),
                         "二氧化硫": rng.gamma(2, 5, n).round(3),
                         "经度": rng.uniform(73.5, 135, n).round(6),
                         "纬度": rng.uniform(18, 53.5, n).round(6)})


def test_chunked_csv_import_of_50000_rows(tmp_path: Path, settings: Settings) -> None:
    frame = _pollution_sources(50_000)
    src = tmp_path / "national.csv"
    frame.to_csv(src, index=False, encoding="gbk")
    entry = import_file(src, "pollution_sources", settings=settings, chunk_size=7_000)
    assert entry.feature_count == 50_000
    assert entry.bbox[0] >= 73.5 and entry.bbox[2] <= 135
    assert entry.bbox[0] == pytest.approx(frame["经度"].min())
    layer = read_layer("pollution_sources", settings, columns=["source_id", "so2_t"])
    assert layer["source_id"].is_unique and len(layer) == 50_000
    assert layer["so2_t"].sum() == pytest.approx(frame["二氧化硫"].sum())
    assert set(read_layer("pollution_sources", settings, max_features=100)["permit_class"]
               ) <= {"key", "simplified", "registration"}

    # A duplicate far from the first chunk is still found, at the right spreadsheet row.
    frame.loc[45_000, "排污单位编码"] = frame.loc[10, "排污单位编码"]
    frame.to_csv(src, index=False, encoding="gbk")
    with pytest.raises(LayerImportError, match="row 45002, field 'source_id'"):
        import_file(src, "pollution_sources", settings=settings, chunk_size=7_000)
    assert catalog.get("pollution_sources", settings).feature_count == 50_000


def test_import_frames_from_a_generator(settings: Settings) -> None:
    def chunks() -> Iterator[gpd.GeoDataFrame]:
        for k in range(4):
            part = _pollution_sources(2_500 * (k + 1))[2_500 * k:]
            yield gpd.GeoDataFrame(part.drop(columns=["经度", "纬度"]),
                                   geometry=gpd.points_from_xy(part["经度"], part["纬度"]),
                                   crs="EPSG:4490")

    entry = import_frames(chunks(), "pollution_sources", source="generator",
                          layer_id="sources_national", settings=settings)
    assert entry.feature_count == 10_000 and entry.path == "store/sources_national.gpkg"
    assert read_layer("sources_national", settings)["source_id"].is_unique


def test_import_indexes_the_key_and_the_series(sample_settings: Settings) -> None:
    """A feature by its key and one station's hours are index reads from the first request:
    the import made the index, not the server on its first query."""
    for layer, columns in (("air_hourly", ["station_id", "time"]),
                           ("water_samples", ["section_id", "time"]),
                           ("pollution_sources", ["source_id"])):
        path = store.layer_path(layer, sample_settings)
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            names = [row[1] for row in conn.execute(f'PRAGMA index_list("{layer}")')]
            indexed = {name: [r[2] for r in conn.execute(f'PRAGMA index_info("{name}")')]
                       for name in names}
            assert columns in indexed.values(), (layer, indexed)
            plan = " ".join(str(r[-1]) for r in conn.execute(
                f'EXPLAIN QUERY PLAN SELECT * FROM "{layer}" WHERE "{columns[0]}" = ?', ("x",)))
            assert f"USING INDEX {layer}_by_" in plan, plan
