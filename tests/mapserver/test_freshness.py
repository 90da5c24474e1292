"""A layer imported or removed with the CLI while the server runs is served (or gone) under /ogc
and /api/catalog at once, without a restart."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from onemap.config import Settings
from tests.server import run_server

pytestmark = pytest.mark.server


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ONEMAP_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "onemap", *args], env=env, capture_output=True,
                          text=True, timeout=300)


def test_import_and_remove_while_serving(sample_settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(sample_settings.data_dir, data, ignore=shutil.ignore_patterns(
        "uploads", "runtime", "system.db*", "*.log", ".*.lock"))
    source = data / "sample" / "water_intakes.geojson"
    with run_server(data) as base:
        assert requests.get(f"{base}/ogc/collections/intakes_copy", timeout=30).status_code == 404
        done = _cli(data, "import", str(source), "--family", "water_intakes",
                    "--id", "intakes_copy")
        assert done.returncode == 0, done.stderr
        col = requests.get(f"{base}/ogc/collections/intakes_copy", params={"f": "json"},
                           timeout=60)
        assert col.status_code == 200, col.text
        items = requests.get(f"{base}/ogc/collections/intakes_copy/items",
                             params={"f": "json", "limit": 1000}, timeout=60).json()
        original = requests.get(f"{base}/ogc/collections/water_intakes/items",
                                params={"f": "json", "limit": 1000}, timeout=60).json()
        assert items["numberMatched"] == original["numberMatched"] > 0
        listed = requests.get(f"{base}/ogc/collections", params={"f": "json"}, timeout=60)
        assert "intakes_copy" in {c["id"] for c in listed.json()["collections"]}
        assert "intakes_copy" in requests.get(f"{base}/api/catalog", timeout=30).text

        gone = _cli(data, "remove", "intakes_copy")
        assert gone.returncode == 0, gone.stderr
        assert requests.get(f"{base}/ogc/collections/intakes_copy", params={"f": "json"},
                            timeout=60).status_code == 404
        assert requests.get(f"{base}/ogc/collections/intakes_copy/items", params={"f": "json"},
                            timeout=60).status_code == 404
        listed = requests.get(f"{base}/ogc/collections", params={"f": "json"}, timeout=60)
        assert "intakes_copy" not in {c["id"] for c in listed.json()["collections"]}
        assert not (data / "store" / "intakes_copy.gpkg").exists()

        wrong = _cli(data, "remove", "ndvi_2025_07")
        assert wrong.returncode != 0 and "not a vector" in wrong.stderr
