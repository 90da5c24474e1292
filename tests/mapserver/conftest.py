"""Map-server fixtures: the session's real sample data, or a small store until the generator lands.

``sample_settings`` is overridden here only while ``onemap.data.generate`` cannot be imported;
once it exists these tests run on the real sample region like every other package's tests.
"""

from __future__ import annotations

import importlib.util

import pytest

from onemap import catalog
from onemap.catalog import Entry
from onemap.config import Settings


def _generator_available() -> bool:
    try:
        return importlib.util.find_spec("onemap.data.generate") is not None
    except ImportError:
        return False


if not _generator_available():

    @pytest.fixture(scope="session")
    def sample_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
        """Stand-in store (see _store.py): the generator is not there yet."""
        from tests.mapserver._store import build_store

        settings = Settings(data_dir=tmp_path_factory.mktemp("onemap-ms-data"))
        build_store(settings)
        return settings


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
