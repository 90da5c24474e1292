"""The national-scale path (a million sources in production) with a small size: sources are
written to CSV chunk by chunk and imported chunk by chunk."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from onemap import catalog
from onemap.config import Settings
from onemap.data import generate as gen_module
from onemap.data.sources import national_source_chunks
from onemap.layers.codes import is_valid_hj608


def _chunk_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the chunks the importer will be given (a list filled as they come)."""
    from onemap.layers import importer

    sizes: list[int] = []
    real = importer.import_frames

    def spy(frames, *args, **kwargs):
        def counted():
            for frame in frames:
                sizes.append(len(frame))
                yield frame
        return real(counted(), *args, **kwargs)

    monkeypatch.setattr(importer, "import_frames", spy)
    return sizes


def test_chunks_are_bounded_and_deterministic() -> None:
    sizes = [len(c) for c in national_source_chunks(12_345, chunk=5_000)]
    assert sizes == [5_000, 5_000, 2_345]
    a = next(national_source_chunks(1_000, chunk=500))
    b = next(national_source_chunks(1_000, chunk=500))
    pd.testing.assert_frame_equal(a, b)


def test_national_generation_streams_through_the_chunked_import(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path)
    chunk_sizes = _chunk_sizes(monkeypatch)
    gen_module.generate_national(settings, n_sources=20_000, n_stations=120, chunk=5_000)

    entries = catalog.load(settings)
    assert entries["pollution_sources_national"].feature_count == 20_000
    assert entries["air_stations_national"].feature_count == 120
    assert max(chunk_sizes) <= 5_000 and sum(chunk_sizes) == 20_120
    minx, miny, maxx, maxy = entries["pollution_sources_national"].bbox
    assert 73 <= minx and maxx <= 135 and 18 <= miny and maxy <= 53
    frame = pyogrio.read_dataframe(entries["pollution_sources_national"].file(settings),
                                   columns=["source_id"], read_geometry=False)
    assert frame.source_id.is_unique
    assert all(is_valid_hj608(c) for c in frame.source_id.head(2_000))


def test_years_of_hourly_data_stream_a_month_at_a_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from onemap.data import national_hourly

    settings = Settings(data_dir=tmp_path)
    gen_module.generate_national(settings, n_sources=2_000, n_stations=6, chunk=1_000)
    sizes = _chunk_sizes(monkeypatch)
    gen_module.generate_national_hourly(settings, years=2, chunk=1_000)
    entry = catalog.get("air_hourly_national", settings)
    hours = 366 * 24 + 365 * 24  # 2024, 2025
    assert max(sizes) <= 4_000 and entry.feature_count == sum(sizes)
    assert 0.97 * 6 * hours < entry.feature_count < 6 * hours  # ~1 % of hours missing
    assert entry.time_extent == ["2024-01-01T00:00:00+08:00", "2025-12-31T23:00:00+08:00"]
    table = pyogrio.read_dataframe(entry.file(settings), read_geometry=False)
    assert set(table.flag) == {"N", "M"} and table.loc[table.flag == "M", "pm25"].isna().all()
    assert table.pm25.dropna().between(1, 1000).all()
    # a month's rows do not depend on how many years were asked for
    stations = pd.DataFrame({"station_id": ["1001A", "1002A"], "station_type": ["national"] * 2,
                             "lon": [117.0, 116.4], "lat": [31.8, 39.9]})
    one, two = list(national_hourly.months(stations, 1)), list(national_hourly.months(stations, 2))
    assert len(one) == 12 and len(two) == 24
    pd.testing.assert_frame_equal(one[5], two[17])
    # North (Beijing) dirtier than Hefei in winter, on average
    jan = one[0].groupby("station_id").pm25.mean()
    assert jan["1002A"] > jan["1001A"]


def test_years_go_with_the_national_scale(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--years"):
        gen_module.generate(Settings(data_dir=tmp_path), scale="region", years=3)
