"""The ``onemap`` command as a user runs it: clear messages and exit codes."""

import os
import subprocess
import sys
from pathlib import Path


def _run(tmp_path: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ONEMAP_DATA_DIR": str(tmp_path / "data"), **extra_env}
    return subprocess.run([sys.executable, "-m", "onemap", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_import_then_list_and_a_bad_file_exits_non_zero(tmp_path: Path):
    good = tmp_path / "stations.csv"
    good.write_text("站点编码,名称,站点类型,经度,纬度\n1001A,测试站,国控,117.2,31.8\n",
                    encoding="gbk")
    bad = tmp_path / "bad.csv"
    bad.write_text("站点编码,名称,站点类型,经度,纬度\n1001A,测试站,火星,117.2,31.8\n",
                   encoding="utf-8")

    result = _run(tmp_path, "import", str(bad), "--family", "air_stations")
    assert result.returncode == 2
    assert "bad.csv" in result.stderr and "station_type" in result.stderr
    assert "row 2" in result.stderr

    result = _run(tmp_path, "import", str(good), "--family", "air_stations")
    assert result.returncode == 0, result.stderr
    listing = _run(tmp_path, "layers").stdout
    assert "air_stations" in listing and "空气质量监测站" in listing

    result = _run(tmp_path, "import", str(good), "--family", "no_such_family")
    assert result.returncode == 2 and "unknown family" in result.stderr


def test_raster_add_list_remove(tmp_path: Path):
    from onemap import catalog
    from onemap.config import Settings
    from tests.raster import makers

    scene = makers.write_scene(tmp_path / "GF1_WFV_20250720.tif")
    result = _run(tmp_path, "raster", "add", str(scene), "--name", "高分一号 宽幅", "--date",
                  "2025-07-20", "--bands", "blue,green,red,nir", "--expression",
                  "(b4-b3)/(b4+b3)", "--colormap", "onemap_ndvi", "--rescale=-0.2,1",
                  "--collection", "gf1")
    assert result.returncode == 0, result.stderr
    assert "gf1_wfv_20250720" in result.stdout and "4 band(s)" in result.stdout
    entry = catalog.get("gf1_wfv_20250720", Settings(data_dir=tmp_path / "data"))
    assert entry.title == "高分一号 宽幅" and entry.extra["collection"] == "gf1"
    assert entry.extra["rescale"] == [-0.2, 1.0]
    assert [b["name"] for b in entry.extra["bands"]] == list(makers.SCENE_BANDS)
    assert "gf1_wfv_20250720" in _run(tmp_path, "raster", "list").stdout

    again = _run(tmp_path, "raster", "add", str(scene), "--name", "x")
    assert again.returncode == 2 and "already exists" in again.stderr
    bad = _run(tmp_path, "raster", "add", str(scene), "--id", "bad", "--expression", "b7")
    assert bad.returncode == 2 and "b7" in bad.stderr
    junk = _run(tmp_path, "raster", "add", str(makers.write_not_a_tiff(tmp_path / "x.tif")))
    assert junk.returncode == 2 and "x.tif" in junk.stderr and "Traceback" not in junk.stderr

    assert _run(tmp_path, "raster", "remove", "gf1_wfv_20250720").returncode == 0
    assert not (tmp_path / "data" / "rasters" / "gf1_wfv_20250720.tif").exists()
    gone = _run(tmp_path, "raster", "remove", "gf1_wfv_20250720")
    assert gone.returncode == 2


def test_hostile_and_oversized_files_exit_non_zero_in_words(tmp_path: Path):
    """What an upload refuses, the command refuses too: one message naming the file, exit 2."""
    from tests.raster import hostile

    secret = hostile.write_secret(tmp_path / "passwd")
    vrt = hostile.raw_vrt(tmp_path / "scene.tif", secret)
    result = _run(tmp_path, "raster", "add", str(vrt))
    assert result.returncode == 2 and "scene.tif" in result.stderr
    assert "unsupported raster format" in result.stderr and "GDAL VRT" in result.stderr
    assert "ONEMAP-SECRET" not in result.stderr + result.stdout

    ogr_vrt = tmp_path / "stations.geojson"
    ogr_vrt.write_text(f"<OGRVRTDataSource><OGRVRTLayer name='x'><SrcDataSource>{secret}"
                       "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>", encoding="utf-8")
    result = _run(tmp_path, "import", str(ogr_vrt), "--family", "air_stations")
    assert result.returncode == 2 and "stations.geojson" in result.stderr
    assert "OGR VRT" in result.stderr and "Traceback" not in result.stderr

    wide = tmp_path / "wide.csv"
    wide.write_text("站点编码,名称,站点类型,经度,纬度," + ",".join(f"c{i}" for i in range(20))
                    + "\n1001A,测试站,国控,117.2,31.8" + ",1" * 20 + "\n", encoding="utf-8")
    result = _run(tmp_path, "import", str(wide), "--family", "air_stations",
                  ONEMAP_MAX_CSV_COLUMNS="10")
    assert result.returncode == 2 and "wide.csv" in result.stderr
    assert "ONEMAP_MAX_CSV_COLUMNS" in result.stderr and "Traceback" not in result.stderr

    huge = hostile.huge_header(tmp_path / "huge.tif")
    result = _run(tmp_path, "raster", "add", str(huge))
    assert result.returncode == 2 and "ONEMAP_MAX_RASTER_PIXELS" in result.stderr
    assert "truncated" not in result.stderr
    assert not (tmp_path / "data" / "catalog.json").exists()


def test_import_for_a_region(tmp_path: Path, sample_settings) -> None:  # type: ignore[no-untyped-def]
    """``--region`` makes the layer a county's (its data manager may then replace it); a code
    not in the admin boundaries is refused in words."""
    from onemap import catalog
    from onemap.config import Settings

    stations = tmp_path / "stations.csv"
    stations.write_text("站点编码,名称,站点类型,经度,纬度\n1001A,测试站,国控,117.8,31.6\n",
                        encoding="utf-8")
    early = _run(tmp_path, "import", str(stations), "--family", "air_stations",
                 "--region", "340181")
    assert early.returncode == 2 and "admin boundaries" in early.stderr
    boundaries = catalog.get("admin_boundaries", sample_settings).file(sample_settings)
    assert _run(tmp_path, "import", str(boundaries), "--family", "admin_boundaries"
                ).returncode == 0
    for code, words in (("999999", "999999"), ("34018", "six-digit")):
        bad = _run(tmp_path, "import", str(stations), "--family", "air_stations",
                   "--region", code)
        assert bad.returncode == 2 and words in bad.stderr, bad.stderr
    good = _run(tmp_path, "import", str(stations), "--family", "air_stations", "--id",
                "county_stations", "--region", "340181")
    assert good.returncode == 0, good.stderr
    own = Settings(data_dir=tmp_path / "data")
    assert catalog.get("county_stations", own).region == "340181"
    assert catalog.get("admin_boundaries", own).region == ""


def test_a_setting_out_of_its_choices_stops_the_start_in_words(tmp_path: Path) -> None:
    result = _run(tmp_path, "serve", ONEMAP_VECTOR_TILES="ST_AsMVT please")
    assert result.returncode != 0
    assert "ONEMAP_VECTOR_TILES='ST_AsMVT please': must be one of index, postgis" in (
        result.stdout + result.stderr)
