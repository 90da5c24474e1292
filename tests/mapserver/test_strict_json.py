"""A raster whose nodata is NaN (every interpolated surface) is served as strict JSON: its STAC
item says nodata "nan", the listing and tiles work, and the catalogue file stays strict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import requests

from onemap.config import Settings
from tests.conftest import Caller
from tests.raster import makers
from tests.test_catalog import strict_load

pytestmark = pytest.mark.server


def test_nan_nodata_raster_over_http(live_server: str, sample_settings: Settings,
                                     tmp_path: Path, callers: dict[str, Caller]) -> None:
    analyst = callers["analyst"].headers  # uploading and removing need the role
    src = makers.write_geotiff(tmp_path / "surface.tif", dtype="float32", nodata=np.nan)
    with open(src, "rb") as fh:
        r = requests.post(f"{live_server}/api/rasters", files={"file": (src.name, fh)},
                          data={"id": "nan_surface", "collection": "nan_surfaces",
                                "wait": "true"}, headers=analyst, timeout=120)
    assert r.status_code == 201, r.text
    try:
        strict_load(sample_settings.catalog_path)
        for route in ("/api/rasters/nan_surface", "/api/catalog",
                      "/stac/collections/nan_surfaces/items/nan_surface",
                      "/stac/collections/nan_surfaces/items", "/raster/nan_surface/info"):
            r = requests.get(f"{live_server}{route}", timeout=60)
            assert r.status_code == 200, (route, r.text[:300])
            assert "NaN" not in r.text and "Infinity" not in r.text, route
        item = requests.get(f"{live_server}/stac/collections/nan_surfaces/items/nan_surface",
                            timeout=60).json()
        assert item["assets"]["data"]["raster:bands"][0]["nodata"] == "nan"
    finally:
        requests.delete(f"{live_server}/api/rasters/nan_surface", headers=analyst, timeout=30)
