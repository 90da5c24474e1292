"""The ``onemap`` command as a user runs it: clear messages and exit codes."""

import os
import subprocess
import sys
from pathlib import Path


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ONEMAP_DATA_DIR": str(tmp_path / "data")}
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
