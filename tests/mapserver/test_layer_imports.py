"""Data managers import, replace and remove layers over HTTP — on a real server (the ``guarded``
copy of the sample, so the shared server's layers stay as they are), with the sample's own
features written back out as the files a clerk would send."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from onemap import catalog
from onemap.access import audit
from onemap.layers.store import read_layer
from tests.conftest import Caller, Guarded

pytestmark = pytest.mark.server


def _geojson(g: Guarded, path: Path, rows: slice = slice(None), **change: object) -> Path:
    """The sample's water intakes (rows ``rows``) as a GeoJSON file; ``change`` sets a field
    of the first feature (to make a bad file)."""
    frame = read_layer("water_intakes", g.settings).iloc[rows].reset_index(drop=True)
    for field, value in change.items():
        frame[field] = frame[field].astype(object)
        frame.loc[0, field] = value
    path.write_text(frame.to_json(), encoding="utf-8")
    return path


def _send(g: Guarded, who: Caller | None, src: Path, /, *, method: str = "POST",
          layer: str = "", **fields: str) -> requests.Response:
    url = f"{g.base}/api/layers" + (f"/{layer}" if layer else "")
    with open(src, "rb") as fh:
        return requests.request(method, url, files={"file": (src.name, fh)}, data=fields,
                                headers=who.headers if who else {}, timeout=120)


def _matched(g: Guarded, layer: str, who: Caller | None) -> int | None:
    r = requests.get(f"{g.base}/ogc/collections/{layer}/items", params={"limit": 1},
                     headers=who.headers if who else {}, timeout=60)
    return r.json()["numberMatched"] if r.ok else None


def test_only_data_managers_import(guarded: Guarded, tmp_path: Path,
                                   callers: dict[str, Caller]) -> None:
    src = _geojson(guarded, tmp_path / "intakes.geojson")
    assert _send(guarded, None, src, family="water_intakes", id="no_one").status_code == 401
    for who in ("viewer", "analyst", "commander"):
        r = _send(guarded, callers[who], src, family="water_intakes", id="no_one")
        assert r.status_code == 403, (who, r.text)
        assert r.json()["code"] and "data_manager" in r.json()["detail"]
    assert "no_one" not in catalog.load(guarded.settings)


def test_import_replace_remove_as_a_data_manager(guarded: Guarded, tmp_path: Path,
                                                 callers: dict[str, Caller]) -> None:
    manager, viewer = callers["manager"], callers["viewer"]
    src = _geojson(guarded, tmp_path / "取水口 2026.geojson")
    r = _send(guarded, manager, src, family="water_intakes", id="intakes_new",
              access="internal", title="取水口（新）")
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["id"] == "intakes_new" and doc["feature_count"] == 6
    assert doc["access"] == "internal" and doc["region"] is None
    assert r.headers["Location"].endswith("/api/layers/intakes_new")
    try:
        # served at once, to whoever may see it: the viewer reads it, the public does not
        assert _matched(guarded, "intakes_new", viewer) == 6
        assert _matched(guarded, "intakes_new", None) is None
        entry = catalog.get("intakes_new", guarded.settings)
        assert entry.title == "取水口（新）" and entry.source == "取水口_2026.geojson"
        # the same id again: 409 unless replacing; PUT replaces it whole
        again = _send(guarded, manager, src, family="water_intakes", id="intakes_new")
        assert again.status_code == 409 and again.json()["code"] == "AlreadyExists"
        fewer = _geojson(guarded, tmp_path / "fewer.geojson", slice(0, 2))
        put = _send(guarded, manager, fewer, method="PUT", layer="intakes_new")
        assert put.status_code == 200, put.text
        assert put.json()["feature_count"] == 2 and put.json()["access"] == "internal"
        assert _matched(guarded, "intakes_new", viewer) == 2
        # another family into it is refused by name, and nothing changes
        wrong = _send(guarded, manager, fewer, method="PUT", layer="intakes_new",
                      family="incidents")
        assert wrong.status_code == 409 and "water_intakes" in wrong.json()["detail"]
        assert _matched(guarded, "intakes_new", viewer) == 2
    finally:
        gone = requests.delete(f"{guarded.base}/api/layers/intakes_new",
                               headers=manager.headers, timeout=60)
    assert gone.status_code == 204
    assert "intakes_new" not in catalog.load(guarded.settings)
    assert _matched(guarded, "intakes_new", viewer) is None
    actions = [(rec["action"], rec["target"], rec["outcome"])
               for rec in audit.query(guarded.settings, user="manager", limit=20)]
    assert ("import", "intakes_new", "ok") in actions
    assert ("remove", "intakes_new", "ok") in actions
    imported = next(rec for rec in audit.query(guarded.settings, user="manager",
                                               action="import", limit=20)
                    if rec["target"] == "intakes_new" and rec["status"] == 201)
    assert json.loads(imported["detail"])["features"] == 6


def test_bad_files_are_refused_whole(guarded: Guarded, tmp_path: Path,
                                     callers: dict[str, Caller]) -> None:
    manager = callers["manager"]
    bad = _geojson(guarded, tmp_path / "bad.geojson", capacity_m3d="很多")
    r = _send(guarded, manager, bad, family="water_intakes", id="intakes_bad")
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "InvalidData" and body["total"] >= 1
    assert body["problems"][0]["row"] == 1 and body["problems"][0]["field"] == "capacity_m3d"
    assert "bad.geojson" in body["detail"]
    assert "intakes_bad" not in catalog.load(guarded.settings)
    assert not list(guarded.settings.store_dir.glob("*intakes_bad*"))
    assert not [p for p in guarded.settings.upload_dir.iterdir() if "layer" in p.name]
    text = tmp_path / "notes.txt"
    text.write_text("not a layer")
    r = _send(guarded, manager, text, family="water_intakes", id="intakes_txt")
    assert r.status_code == 415 and ".csv" in r.json()["detail"]
    good = _geojson(guarded, tmp_path / "good.geojson")
    for fields, words in (({"family": "no_such_family", "id": "x1"}, "no_such_family"),
                          ({"id": "x2"}, "family"),
                          ({"family": "water_intakes", "id": "bad id!"}, "bad id!"),
                          ({"family": "water_intakes", "id": "x3", "access": "secret"},
                           "access"),
                          ({"family": "water_intakes", "id": "x4", "region": "999999"},
                           "999999"),
                          ({"family": "water_intakes", "id": "x5", "path": "/etc"}, "path")):
        r = _send(guarded, manager, good, **fields)
        assert r.status_code == 400, (fields, r.text)
        assert words in r.json()["detail"]
    raster = requests.put(f"{guarded.base}/api/layers/ndvi_2025_07", headers=manager.headers,
                          files={"file": ("good.geojson", good.read_bytes())}, timeout=60)
    assert raster.status_code == 404  # a raster is not a layer: as an unknown one


def test_a_county_data_manager_keeps_to_its_county(guarded: Guarded, tmp_path: Path,
                                                   callers: dict[str, Caller]) -> None:
    county, manager = callers["manager_a"], callers["manager"]
    src = _geojson(guarded, tmp_path / "intakes.geojson")
    # a layer of the whole territory, made by the provincial manager
    assert _send(guarded, manager, src, family="water_intakes", id="intakes_all"
                 ).status_code == 201
    try:
        r = _send(guarded, county, src, family="water_intakes", id="intakes_county")
        assert r.status_code == 201, r.text
        assert r.json()["region"] == "340181"  # the county's by default
        assert _send(guarded, county, src, method="PUT", layer="intakes_county"
                     ).status_code == 200
        # not another county's, nor the territory's
        other = _send(guarded, county, src, family="water_intakes", id="intakes_other",
                      region="340124")
        assert other.status_code == 403, other.text
        whole = _send(guarded, county, src, method="PUT", layer="intakes_all")
        assert whole.status_code == 403 and "340181" in whole.json()["detail"]
        assert requests.delete(f"{guarded.base}/api/layers/intakes_all",
                               headers=county.headers, timeout=60).status_code == 403
        assert requests.delete(f"{guarded.base}/api/layers/pollution_sources",
                               headers=county.headers, timeout=60).status_code == 403
        # the provincial manager may take the county's layer over
        assert _send(guarded, manager, src, method="PUT", layer="intakes_county"
                     ).status_code == 200
        assert catalog.get("intakes_county", guarded.settings).region == "340181"
    finally:
        for layer, who in (("intakes_county", county), ("intakes_all", manager)):
            requests.delete(f"{guarded.base}/api/layers/{layer}", headers=who.headers,
                            timeout=60)
    assert not {"intakes_county", "intakes_all"} & set(catalog.load(guarded.settings))


def test_a_layer_the_caller_cannot_see_is_unknown(guarded: Guarded, tmp_path: Path,
                                                  callers: dict[str, Caller]) -> None:
    """A rule hides incidents from data managers: replacing or removing it answers exactly
    as for an id that does not exist."""
    admin, manager = callers["admin"], callers["manager"]
    rule = requests.post(f"{guarded.base}/api/admin/rules", headers=admin.headers,
                         json={"role": "data_manager", "dataset": "incidents", "allow": False,
                               "priority": 1}, timeout=30)
    assert rule.status_code == 201, rule.text
    try:
        src = _geojson(guarded, tmp_path / "intakes.geojson")
        hidden = _send(guarded, manager, src, method="PUT", layer="incidents")
        unknown = _send(guarded, manager, src, method="PUT", layer="no_such_layer")
        assert hidden.status_code == unknown.status_code == 404
        gone = requests.delete(f"{guarded.base}/api/layers/incidents",
                               headers=manager.headers, timeout=30)
        assert gone.status_code == 404
        assert "incidents" in catalog.load(guarded.settings)
    finally:
        requests.delete(f"{guarded.base}/api/admin/rules/{rule.json()['id']}",
                        headers=admin.headers, timeout=30)
