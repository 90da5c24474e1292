"""QGIS itself, given the README's URL with or without its trailing slash and a county
viewer's API key, loads every layer (internal ones with the county's features only)."""
import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

from onemap.catalog import Entry
from tests.conftest import Caller

QGIS_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("qgis_oapif.py")


def qgis_open(base: str, collections: list[str], caller: Caller | None = None,
              script: Path = SCRIPT) -> dict:
    """What the QGIS ``script`` (run by Debian's Python) printed for ``collections``."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": "/tmp"}
    if caller is not None:
        env.update(OAPIF_USER=caller.user, OAPIF_KEY=caller.key)
    env.pop("PYTHONPATH", None)
    out = subprocess.run([QGIS_PYTHON, str(script), base, *collections], env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("path", ["/ogc", "/ogc/"])
def test_qgis_loads_every_vector_layer(live_server: str, feature_entries: list[Entry],
                                       callers: dict[str, Caller], path: str) -> None:
    names = sorted(e.id for e in feature_entries if e.kind == "vector")
    county = callers["viewer_a"]
    seen = qgis_open(live_server + path, names, county)
    for name in names:
        assert seen[name]["valid"], (name, seen[name]["error"])
        matched = requests.get(f"{live_server}/ogc/collections/{name}/items",
                               params={"limit": 1, "f": "json"}, headers=county.headers,
                               timeout=60).json()["numberMatched"]
        assert seen[name]["count"] == matched, name
    whole = {e.id: e.feature_count for e in feature_entries}
    assert 0 < seen["pollution_sources"]["count"] < whole["pollution_sources"]  # the county's
