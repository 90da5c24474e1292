"""Fixtures of the live-data tests: a data dir holding only the sample's outlets (the device
registry), so each test starts with an empty live store of its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from onemap import catalog
from onemap.config import Settings


def with_registry(settings: Settings, sample_settings: Settings) -> Settings:
    """``settings``, whose data dir now holds the sample's outlets and sources, catalogued."""
    for layer in ("outlets", "pollution_sources"):
        entry = catalog.get(layer, sample_settings)
        target = settings.data_dir / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(entry.file(sample_settings), target)
        catalog.put(entry, settings)
    return settings


@pytest.fixture
def live_settings(sample_settings: Settings, tmp_path: Path) -> Settings:
    """Settings on a fresh data dir with the sample's outlets and sources catalogued."""
    return with_registry(Settings(data_dir=tmp_path / "data", hj212_offline_minutes=10),
                         sample_settings)
