"""Fixtures for the layer import tests: an empty data dir and writers of real-world-ish files."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from onemap.config import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A fresh, empty data dir (never the developer's var/)."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def stations() -> gpd.GeoDataFrame:
    """Three air stations with Chinese column names and values, in CGCS2000 lon/lat."""
    return gpd.GeoDataFrame(
        {"站点编码": ["1001A", "1002A", "1003A"], "站点名称": ["万寿西宫", "定陵", "东四"],
         "站点类型": ["国控", "省控", "市控"], "城市": ["北京", "北京", "北京"]},
        geometry=[Point(116.366, 39.8673), Point(116.17, 40.2865), Point(116.434, 39.9522)],
        crs="EPSG:4490")
