"""QGIS itself, given the README's URL with or without its trailing slash, loads every layer."""
import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

from onemap.catalog import Entry

QGIS_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("qgis_oapif.py")


def qgis_open(base: str, collections: list[str]) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": "/tmp"}
    env.pop("PYTHONPATH", None)
    out = subprocess.run([QGIS_PYTHON, str(SCRIPT), base, *collections], env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("path", ["/ogc", "/ogc/"])
def test_qgis_loads_every_vector_layer(live_server: str, feature_entries: list[Entry],
                                       path: str) -> None:
    names = sorted(e.id for e in feature_entries if e.kind == "vector")
    seen = qgis_open(live_server + path, names)
    for name in names:
        assert seen[name]["valid"], (name, seen[name]["error"])
        matched = requests.get(f"{live_server}/ogc/collections/{name}/items",
                               params={"limit": 1, "f": "json"}, timeout=60).json()["numberMatched"]
        assert seen[name]["count"] == matched, name
