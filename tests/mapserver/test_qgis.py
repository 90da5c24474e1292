"""QGIS itself, given the README's URL with or without its trailing slash and a county
viewer's API key, loads every layer (internal ones with the county's features only)."""
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from onemap import catalog
from onemap.catalog import Entry
from onemap.config import Settings
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


README = Path(__file__).resolve().parents[2] / "README.md"
#: The URLs the README gives a QGIS user, exactly as written there.
README_URLS = {
    "oapif": "http://127.0.0.1:8000/ogc",
    "wmts": "http://127.0.0.1:8000/wmts/1.0.0/WMTSCapabilities.xml",
    "wms": "http://127.0.0.1:8000/wms",
    "tiles": "http://127.0.0.1:8000/ogc/collections/{collectionId}/tiles/WebMercatorQuad/"
             "{z}/{y}/{x}",
    "style": "http://127.0.0.1:8000/ogc/collections/{collectionId}/tiles/WebMercatorQuad/"
             "style.json",
}
WINDOW = [117.2, 31.4, 117.6, 31.8]  # lon/lat: the middle of the Chaohu basin


def _param(uri: str, name: str) -> str | None:
    found = re.search(rf"(?:^|&){name}=([^&]*)", uri)
    return found.group(1) if found else None


def test_qgis_gets_everything_from_the_readme_urls(live_server: str,
                                                 sample_settings: Settings,
                                                 entries: dict[str, Entry]) -> None:
    """The issue's "done when": each README URL added as a QGIS connection with nothing else
    set, QGIS's Browser lists every public layer, raster, series and cube, and every item it
    lists opens and draws — rasters in both quads, cubes and series with their time steps
    (WMTS) and as WMS-T, vector layers as features and as vector tiles with our style."""
    text = README.read_text(encoding="utf-8")
    for url in README_URLS.values():
        assert f"`{url}`" in text, url
    urls = {k: v.replace("http://127.0.0.1:8000", live_server) for k, v in README_URLS.items()}
    now = catalog.load(sample_settings)  # tests before this one may have added datasets
    public = [e for e in now.values() if e.access == "public"]
    vectors = sorted(e.id for e in public if e.kind == "vector")
    spec = {"wfs": {"ogc": urls["oapif"]},
            "wms": {"wmts": urls["wmts"], "wms": urls["wms"]},
            "vectortile": {v: {"url": urls["tiles"].replace("{collectionId}", v),
                               "styleUrl": urls["style"].replace("{collectionId}", v)}
                           for v in vectors},
            "window": WINDOW}
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": "/tmp"}
    env.pop("PYTHONPATH", None)
    with tempfile.TemporaryDirectory() as home:  # a fresh QGIS profile: no settings but ours
        env["HOME"] = home
        out = subprocess.run([QGIS_PYTHON, str(SCRIPT.with_name("qgis_readme.py")),
                              json.dumps(spec)], env=env, capture_output=True, text=True,
                             timeout=900, check=True)
    items = json.loads(out.stdout.strip().splitlines()[-1])["items"]
    broken = [(i["path"], i["uri"], i["error"]) for i in items if not i["valid"]]
    assert not broken, broken
    sample = set(entries)  # drawn over the sample region: the sample's own datasets

    # OGC API Features: every collection an anonymous client sees, with its count
    oapif = {re.search(r"typename='([^']*)'", i["uri"]).group(1): i
             for i in items if i["connection"] == "wfs"}
    listed = requests.get(f"{live_server}/ogc/collections", params={"f": "json"},
                          timeout=60).json()["collections"]
    assert set(oapif) == {c["id"] for c in listed}
    assert {e.id for e in public if e.kind in ("vector", "table")} <= set(oapif)
    for name, item in oapif.items():
        matched = requests.get(f"{live_server}/ogc/collections/{name}/items",
                               params={"limit": 1, "f": "json"}, timeout=60).json()
        assert item["count"] == matched["numberMatched"], name
        if name in vectors and name in sample:
            assert item["drawn"] > 0, name

    # WMTS: every raster, series and cube, in both quads, every time step listed
    wmts: dict[str, dict[str, list[dict]]] = {}
    for i in items:
        if i["connection"] == "wms" and i["path"].startswith("wms:/wmts/"):
            by_tms = wmts.setdefault(_param(i["uri"], "layers"), {})
            by_tms.setdefault(_param(i["uri"], "tileMatrixSet"), []).append(i)
    series: dict[str, list[Entry]] = {}
    for e in public:
        if e.kind == "raster" and (e.extra or {}).get("collection"):
            series.setdefault(e.extra["collection"], []).append(e)
    expected = {e.id for e in public if e.kind in ("raster", "cube")} | set(series)
    assert expected <= set(wmts), expected - set(wmts)
    for layer_id, by_tms in wmts.items():
        assert set(by_tms) == {"WebMercatorQuad", "WorldCRS84Quad"}, layer_id
        entry = now.get(layer_id)
        # a series' steps are its members' distinct dates (two analyses of one hour share it)
        steps = (len(entry.extra["times"]) if entry is not None and entry.kind == "cube"
                 else len({str(m.extra.get("date")) for m in series[layer_id]})
                 if layer_id in series else 1)
        for tms, steps_drawn in by_tms.items():
            assert len(steps_drawn) == steps, (layer_id, tms)
            drawn = [s for s in steps_drawn if s["drawn"] is not None]
            if layer_id in sample or layer_id in series:
                assert all(s["drawn"] > 0.2 for s in drawn), (layer_id, tms, drawn)
            if steps > 1:  # the first two steps are two different images
                assert drawn[0]["digest"] != drawn[1]["digest"], (layer_id, tms)
    assert len(wmts["pm25_hourly"]["WebMercatorQuad"]) == len(entries["pm25_hourly"]
                                                                .extra["times"])

    # WMS: every vector layer, raster, series and cube; the time ones as WMS-T
    wms = {_param(i["uri"], "layers"): i for i in items
           if i["connection"] == "wms" and i["path"].startswith("wms:/wms/")}
    multi = {k for k, v in series.items() if len(v) > 1}
    assert set(vectors) | {e.id for e in public if e.kind in ("raster", "cube")} | multi \
        <= set(wms), set(vectors) - set(wms)
    for name in {e.id for e in public if e.kind == "cube"} | multi:
        assert _param(wms[name]["uri"], "type") == "wmst", name
        assert _param(wms[name]["uri"], "temporalSource") == "provider", name
    for name, item in wms.items():
        if name in sample or name in multi:
            assert item["drawn"] > 0, name

    # vector tiles: every vector layer with its own style
    tiles = {i["name"]: i for i in items if i["connection"] == "vectortile"}
    assert set(tiles) == set(vectors)
    for name, item in tiles.items():
        assert item["crs"] == "EPSG:3857" and item["styles"][0].startswith(name), item
        if name in sample:
            assert item["drawn"] > 0, name
