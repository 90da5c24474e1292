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


def test_chunks_are_bounded_and_deterministic() -> None:
    sizes = [len(c) for c in national_source_chunks(12_345, chunk=5_000)]
    assert sizes == [5_000, 5_000, 2_345]
    a = next(national_source_chunks(1_000, chunk=500))
    b = next(national_source_chunks(1_000, chunk=500))
    pd.testing.assert_frame_equal(a, b)


def test_national_generation_streams_through_the_chunked_import(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from onemap.layers import importer

    settings = Settings(data_dir=tmp_path)
    chunk_sizes: list[int] = []
    real = importer.import_frames

    def spy(frames, *args, **kwargs):
        def counted():
            for frame in frames:
                chunk_sizes.append(len(frame))
                yield frame
        return real(counted(), *args, **kwargs)

    monkeypatch.setattr(importer, "import_frames", spy)
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
