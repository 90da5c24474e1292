"""``water_samples`` is served with the GB 3838 class of every sample (a materialised view).

Over HTTP on the real server: each sample carries ``water_class`` and ``exceeding``, the
latest one agrees with what ``water_sections`` shows, filters, sorting, paging and queryables
work on the added fields, and the view is rebuilt only when one of its sources changed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import requests

from onemap.catalog import Entry
from onemap.config import Settings
from onemap.layers.store import read_layer
from onemap.mapserver import views
from onemap.mapserver.views import materialise

CLASSES = {"I", "II", "III", "IV", "V", "V+"}


def _get(base: str, path: str, **params: object) -> dict:
    r = requests.get(f"{base}/ogc/collections/{path}", params={"f": "json", **params},
                     timeout=30)
    r.raise_for_status()
    return r.json()


def _samples(base: str, **params: object) -> list[dict]:
    return [f["properties"] | {"id": f["id"]} for f in
            _get(base, "water_samples/items", **{"limit": 1000, **params})["features"]]


def test_every_sample_of_a_section_has_a_class(live_server: str):
    served = _samples(live_server, section_id="AHCH022", sortby="-time")
    assert len(served) == 52  # weekly at a national lake section
    assert all(s["water_class"] in CLASSES for s in served)
    assert all(isinstance(s["exceeding"], str) for s in served)
    times = [pd.Timestamp(s["time"]) for s in served]
    assert times == sorted(times, reverse=True)


def test_a_lake_sample_checked_by_hand(live_server: str):
    """AHCH022 is a 巢湖 (lake) section with target III; its last sample of 2025:"""
    last = _samples(live_server, section_id="AHCH022", sortby="-time", limit=1)[0]
    assert last["time"] == "2025-12-29T02:45:00Z"
    assert {p: last[p] for p in ("ph", "do", "codmn", "cod", "bod5", "nh3n", "tp")} == {
        "ph": 7.29, "do": 10.28, "codmn": 5.1, "cod": 18.6, "bod5": 2.3, "nh3n": 0.362,
        "tp": 0.096}
    # GB 3838-2002 table 1: DO 10.28 >= 7.5 I; CODMn 5.1 <= 6 III; COD 18.6 <= 20 III;
    # BOD5 2.3 <= 3 I; NH3-N 0.362 <= 0.5 II; pH within 6-9. TP 0.096 would be class II in a
    # river (<= 0.1) but the lake limits are 0.01/0.025/0.05/0.1/0.2, so it is IV, the worst.
    assert last["water_class"] == "IV"
    # over target III's lake TP limit 0.05 by (0.096 - 0.05) / 0.05 = 0.92 times
    assert last["exceeding"] == "tp:0.92"


def test_the_latest_sample_is_what_the_section_shows(live_server: str):
    sections = _get(live_server, "water_sections/items", limit=1000)["features"]
    assert len(sections) == 30
    for feature in sections:
        props = feature["properties"]
        latest = _samples(live_server, section_id=props["section_id"], sortby="-time", limit=1)
        assert latest, props["section_id"]
        assert pd.Timestamp(latest[0]["time"]) == pd.Timestamp(props["sample_time"])
        assert latest[0]["water_class"] == props["water_class"], props["section_id"]
        assert latest[0]["exceeding"] == props["exceeding"], props["section_id"]


def test_filter_sort_page_and_queryables_on_the_class(live_server: str,
                                                      sample_settings: Settings):
    everything = _samples(live_server)
    raw = read_layer("water_samples", sample_settings, fid_as_index=True)
    assert len(everything) == len(raw)
    assert {s["id"] for s in everything} == set(raw.index)  # item ids are the table's fids
    worst = {s["id"] for s in everything if s["water_class"] == "V+"}
    assert 0 < len(worst) < len(everything)
    # "+" must be percent-encoded in a query string (a bare "+" is a space)
    r = requests.get(f"{live_server}/ogc/collections/water_samples/items?f=json&limit=1000"
                     "&water_class=V%2B", timeout=30)
    r.raise_for_status()
    assert {f["id"] for f in r.json()["features"]} == worst
    assert r.json()["numberMatched"] == len(worst)
    cql = _get(live_server, "water_samples/items", limit=1000, **{
        "filter": "water_class = 'V+' AND section_id = 'AHCH001'", "filter-lang": "cql-text"})
    assert {f["id"] for f in cql["features"]} == {
        s["id"] for s in everything if s["water_class"] == "V+" and s["section_id"] == "AHCH001"}
    # two pages of a section's history, newest first, are its first twenty samples
    pages = [_samples(live_server, section_id="AHCH022", sortby="-time", limit=10, offset=o)
             for o in (0, 10)]
    whole = _samples(live_server, section_id="AHCH022", sortby="-time", limit=20)
    assert [s["id"] for s in pages[0] + pages[1]] == [s["id"] for s in whole]
    queryables = _get(live_server, "water_samples/queryables")["properties"]
    assert {"water_class", "exceeding", "section_id", "time"} <= set(queryables)
    assert queryables["water_class"]["type"] == "string"


def test_the_view_is_rebuilt_only_when_a_source_changed(entries: dict[str, Entry],
                                                        sample_settings: Settings,
                                                        tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    """On a copy of the two sources, so the running server's files are left alone; the
    evaluation code stands in as a copy too (the checkout's files keep their times)."""
    code = tmp_path / "water.py"
    shutil.copy(views.EVALUATION_CODE[-1], code)
    monkeypatch.setattr(views, "EVALUATION_CODE", (code,))
    settings = Settings(data_dir=tmp_path)
    shutil.copy(sample_settings.data_dir / "catalog.json", tmp_path / "catalog.json")
    chosen = {k: entries[k] for k in ("water_sections", "water_samples")}
    for entry in chosen.values():
        entry.file(settings).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(entry.file(sample_settings), entry.file(settings))
    view = materialise(chosen, settings)["water_samples"]
    assert materialise(chosen, settings)["water_samples"] == view
    # Times set by hand, all in the past, so "changed after the build" is exact.
    past = view.stat().st_mtime_ns - 1000 * 10**9
    sources = [chosen["water_sections"].file(settings), chosen["water_samples"].file(settings),
               code]  # a section's target, a new sample, a corrected limit after an upgrade
    for p in sources:
        os.utime(p, ns=(past, past))
    for changed in sources:
        built = past + 10 * 10**9
        os.utime(view, ns=(built, built))
        materialise(chosen, settings)
        assert view.stat().st_mtime_ns == built, f"rebuilt with nothing changed ({changed})"
        os.utime(changed, ns=(built + 10**9, built + 10**9))
        materialise(chosen, settings)
        assert view.stat().st_mtime_ns > built + 10**9, f"not rebuilt after {changed} changed"
        os.utime(changed, ns=(past, past))
    frame = pd.DataFrame(read_layer("water_samples", settings))
    assert len(frame) == len(read_layer("water_samples", sample_settings))
