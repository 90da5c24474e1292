"""Map-server fixtures on the session's real sample region (see tests/conftest.py)."""

from __future__ import annotations

import pytest

from onemap import catalog
from onemap.catalog import Entry
from onemap.config import Settings


@pytest.fixture(scope="session")
def entries(sample_settings: Settings) -> dict[str, Entry]:
    return catalog.load(sample_settings)


@pytest.fixture(scope="session")
def feature_entries(entries: dict[str, Entry]) -> list[Entry]:
    """Every catalogued vector layer and attribute table (each is an OGC collection)."""
    return [e for e in entries.values() if e.kind in ("vector", "table")]


@pytest.fixture(scope="session")
def raster_entries(entries: dict[str, Entry]) -> list[Entry]:
    return [e for e in entries.values() if e.kind == "raster"]


@pytest.fixture()
def own_runtime(sample_settings: Settings, tmp_path) -> Settings:  # noqa: ANN001
    """Settings on the sample's files with a runtime folder of the test's own (generated
    server files written by a test never touch the live server's)."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("store", "rasters", "cubes", "catalog.json"):
        (data / name).symlink_to(sample_settings.data_dir / name)
    return Settings(data_dir=data)
