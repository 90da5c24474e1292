"""Same seed, same bytes: the raw sample files are identical from one process to the next."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from onemap.config import Settings

SCRIPT = """
import sys
from pathlib import Path
from onemap.data.generate import write_region
from onemap.data.geography import geography
from onemap.data.rasters import land_cover, write_ndvi, write_scene
folder = Path(sys.argv[1])
write_region(geography(), folder)
cover = land_cover(geography())
write_ndvi(geography(), folder, cover)
write_scene(geography(), folder, cover)
"""


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def test_raw_files_are_byte_identical_across_runs(sample_settings: Settings,
                                                  tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], check=True)
    again = _hashes(tmp_path)
    first = _hashes(sample_settings.sample_dir)
    assert len(first) >= 14
    assert again == first
    assert {"ndvi_2024_07.tif", "ndvi_2025_10.tif", "gf1_wfv_2025_07_20.tif"} <= set(first)
    kinds = {p.suffix for p in tmp_path.iterdir()}
    assert {".geojson", ".csv", ".zip", ".gpkg", ".tif"} <= kinds


def test_pm25_cube_is_identical_across_runs(sample_settings: Settings) -> None:
    """The cube is built in memory and written by add_cube: compare its values, not bytes."""
    import numpy as np
    import xarray as xr

    from onemap import catalog
    from onemap.data.cubes import pm25_cube
    from onemap.data.geography import geography

    stored = xr.open_zarr(catalog.get("pm25_hourly", sample_settings).file(sample_settings),
                          consolidated=False)
    again = pm25_cube(geography())
    np.testing.assert_array_equal(stored.pm25.values, again.pm25.values)
    np.testing.assert_array_equal(stored.time.values, again.time.values)


def test_raw_files_use_the_formats_users_have(sample_settings: Settings) -> None:
    folder = sample_settings.sample_dir
    header = (folder / "air_stations_gbk.csv").read_bytes().split(b"\n")[0]
    assert header.decode("gbk").startswith("站点编码,站点名称,站点类型")
    assert "国控".encode("gbk") in (folder / "air_stations_gbk.csv").read_bytes()
    import zipfile

    with zipfile.ZipFile(folder / "pollution_sources.zip") as zf:
        assert zf.read("pollution_sources.cpg") == b"GBK"
        assert "重点管理".encode("gbk") in zf.read("pollution_sources.dbf")
    import pyogrio

    assert pyogrio.read_info(folder / "ecology_cgcs2000.gpkg", layer="red_lines")["crs"] == (
        "EPSG:4490")
