"""Ids are checked whole: a trailing newline (which ``$`` lets through ``re.match``) is refused
at the catalogue, on upload and on every dataset route of the real server."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from onemap import catalog
from onemap.catalog import Entry
from onemap.config import Settings
from tests.conftest import Caller
from tests.raster import makers


@pytest.fixture(scope="module")
def live_server(store_server: str) -> str:
    """Every test here is asked of the GeoPackage server and of the PostGIS one."""
    return store_server


pytestmark = pytest.mark.server


@pytest.mark.parametrize("bad", ["ndvi\n", "ndvi\r\n", "ndvi\x00", "\nndvi", "ndvi "])
def test_check_id_is_a_full_match(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid dataset id"):
        catalog.check_id(bad)
    assert catalog.check_id("ndvi") == "ndvi"


def test_upload_id_with_a_trailing_newline(live_server: str, sample_settings: Settings,
                                           tmp_path: Path, callers: dict[str, Caller]) -> None:
    tif = makers.write_geotiff(tmp_path / "small.tif", width=64, height=64)
    r = requests.post(f"{live_server}/api/rasters", params={"id": "newline_id\n", "wait": "true"},
                      data=tif.read_bytes(), timeout=60,
                      headers={"Content-Type": "image/tiff", **callers["analyst"].headers})
    assert r.status_code == 400 and "invalid dataset id" in r.json()["detail"], r.text
    assert not any("newline_id" in p.name for p in sample_settings.raster_dir.iterdir())
    assert "newline_id" not in str(requests.get(f"{live_server}/api/catalog", timeout=30).json())


def test_dataset_routes_refuse_an_id_with_a_newline(live_server: str,
                                                    entries: dict[str, Entry]) -> None:
    raster = next(e.id for e in entries.values() if e.kind == "raster")
    cube = next(e.id for e in entries.values() if e.kind == "cube")
    for route in (f"/raster/{raster}%0A/info", f"/raster/{raster}%0A/cog.tif",
                  f"/api/rasters/{raster}%0A", f"/cube/{cube}%0A/info",
                  f"/raster/{raster}/zonal/red_lines%0A"):
        r = requests.get(f"{live_server}{route}", timeout=60)
        assert r.status_code in (400, 404), (route, r.status_code)
    ok = requests.get(f"{live_server}/raster/{raster}/info", timeout=60)
    assert ok.status_code == 200  # the same route with the plain id works
    r = requests.get(f"{live_server}/api/reports/{'0' * 32}%0A.html", timeout=60)
    assert r.status_code == 404
