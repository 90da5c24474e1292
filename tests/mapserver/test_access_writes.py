"""Writes by role, jobs and reports by owner, processes by role and data — over real HTTP to a
real server with internal rasters (see ``guarded`` in tests/conftest.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from onemap import catalog
from tests.conftest import Caller, Guarded
from tests.raster import makers

pytestmark = pytest.mark.server


def _upload(g: Guarded, path: Path, who: Caller | None, **fields: str) -> requests.Response:
    with open(path, "rb") as fh:
        return requests.post(f"{g.base}/api/rasters", files={"file": (path.name, fh)},
                             data=fields, headers=who.headers if who else {}, timeout=120)


def _wait(url: str, who: Caller, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        doc = requests.get(url, headers=who.headers, timeout=30).json()
        if doc["status"] in ("successful", "failed", "dismissed"):
            return doc
        assert time.monotonic() < deadline, doc
        time.sleep(0.3)


def test_upload_needs_analyst_and_records_its_owner(guarded: Guarded, tmp_path: Path,
                                                   callers: dict[str, Caller]) -> None:
    src = makers.write_geotiff(tmp_path / "mine.tif", width=64, height=64)
    assert _upload(guarded, src, None, id="owned").status_code == 401
    assert _upload(guarded, src, callers["viewer"], id="owned").status_code == 403
    analyst = callers["analyst"]
    r = _upload(guarded, src, analyst, id="owned", access="internal")
    assert r.status_code == 202, r.text
    job_url = r.headers["Location"]
    # the job is its owner's and admins': anyone else gets the 404 of an unknown job
    unknown = requests.get(f"{guarded.base}/api/jobs/{'0' * 32}", timeout=30)
    for other in (None, callers["viewer"], callers["analyst_a"]):
        got = requests.get(job_url, headers=other.headers if other else {}, timeout=30)
        assert got.status_code == 404 and got.json()["code"] == unknown.json()["code"]
        assert requests.delete(job_url, headers=other.headers if other else {},
                               timeout=30).status_code == 404
    assert requests.get(job_url, headers=callers["admin"].headers, timeout=30).ok
    assert _wait(job_url, analyst)["status"] == "successful"
    try:
        assert catalog.get("owned", guarded.settings).extra["owner"] == "analyst"
        assert requests.get(f"{guarded.base}/api/rasters/owned", timeout=30).status_code == 404
        assert requests.get(f"{guarded.base}/api/rasters/owned",
                            headers=callers["viewer"].headers, timeout=30).ok
    finally:
        requests.delete(f"{guarded.base}/api/rasters/owned", headers=analyst.headers,
                        timeout=30)


def test_hidden_raster_cannot_be_replaced_or_removed(guarded: Guarded, tmp_path: Path,
                                                     callers: dict[str, Caller]) -> None:
    src = makers.write_geotiff(tmp_path / "over.tif", width=64, height=64)
    county = callers["analyst_a"]  # region-bound: no internal raster is visible to it
    for fields in ({"overwrite": "true"}, {}):
        r = _upload(guarded, src, county, id=guarded.member, wait="true", **fields)
        assert r.status_code == 404, r.text
    unknown = requests.delete(f"{guarded.base}/api/rasters/no_such_raster",
                              headers=county.headers, timeout=30)
    hidden = requests.delete(f"{guarded.base}/api/rasters/{guarded.member}",
                             headers=county.headers, timeout=30)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == {**unknown.json(), "detail": unknown.json()["detail"].replace(
        "no_such_raster", guarded.member)}
    assert requests.delete(f"{guarded.base}/api/rasters/{guarded.member}",
                           timeout=30).status_code == 404
    # a raster the caller sees but may not remove: 401 anonymous, 403 viewer
    assert requests.delete(f"{guarded.base}/api/rasters/ndvi_2024_07",
                           timeout=30).status_code == 401
    assert requests.delete(f"{guarded.base}/api/rasters/ndvi_2024_07",
                           headers=callers["viewer"].headers, timeout=30).status_code == 403
    assert catalog.get(guarded.member, guarded.settings).access == "internal"


def _processes(g: Guarded, who: Caller | None) -> set[str]:
    r = requests.get(f"{g.base}/ogc/processes?f=json&limit=100",
                     headers=who.headers if who else {}, timeout=30)
    assert r.ok, r.text
    return {p["id"] for p in r.json()["processes"]}


def test_processes_listed_described_and_run_by_role(guarded: Guarded,
                                                    callers: dict[str, Caller]) -> None:
    public = {"aqi-daily", "aqi-hourly", "pm25-surface"}
    assert _processes(guarded, None) == public
    assert _processes(guarded, callers["viewer"]) == public
    assert _processes(guarded, callers["analyst"]) == public | {
        "pm25-surface-series", "upwind-sources", "ecology-change"}
    assert "incident-assessment" in _processes(guarded, callers["commander"])
    assert "upwind-sources" not in _processes(guarded, callers["commander"])
    assert len(_processes(guarded, callers["admin"])) == 7
    url = f"{guarded.base}/ogc/processes"
    unknown = requests.get(f"{url}/no-such-process?f=json", timeout=30)
    hidden = requests.get(f"{url}/upwind-sources?f=json", timeout=30)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["code"] == unknown.json()["code"]
    for body in (b"{not json", b'{"inputs": {}}'):
        r = requests.post(f"{url}/incident-assessment/execution", data=body, timeout=30,
                          headers={"Content-Type": "application/json",
                                   **callers["analyst"].headers})
        assert r.status_code == 404, r.text
    assert requests.get(f"{url}/upwind-sources?f=json", headers=callers["analyst"].headers,
                        timeout=30).ok


def _example(g: Guarded, process: str, who: Caller) -> dict:
    doc = requests.get(f"{g.base}/ogc/processes/{process}?f=json", headers=who.headers,
                       timeout=30).json()
    return doc["example"]


def test_async_job_runs_as_its_owner_and_is_theirs(guarded: Guarded,
                                                   callers: dict[str, Caller]) -> None:
    analyst = callers["analyst"]
    body = _example(guarded, "upwind-sources", analyst)
    r = requests.post(f"{guarded.base}/ogc/processes/upwind-sources/execution", json=body,
                      headers={"Prefer": "respond-async", **analyst.headers}, timeout=60)
    assert r.status_code == 201, r.text
    job_url = r.headers["Location"].split("?")[0]
    job_id = job_url.rsplit("/", 1)[1]
    doc = _wait(f"{job_url}?f=json", analyst)
    # it read pollution_sources as the analyst in a pool thread: it succeeded
    assert doc["status"] == "successful", doc
    jobs = f"{guarded.base}/ogc/jobs?f=json&limit=1000"

    def listed(who: Caller | None) -> set[str]:
        got = requests.get(jobs, headers=who.headers if who else {}, timeout=30)
        assert got.ok, got.text
        return {j["jobID"] for j in got.json()["jobs"]}

    assert job_id in listed(analyst) and job_id in listed(callers["admin"])
    assert job_id not in listed(callers["viewer"]) and listed(None) == set()
    results = f"{job_url}/results?f=json"
    assert requests.get(results, headers=analyst.headers, timeout=30).ok
    unknown = requests.get(f"{guarded.base}/ogc/jobs/{'0' * 32}?f=json", timeout=30)
    for other in (None, callers["viewer"], callers["analyst_a"]):
        heads = other.headers if other else {}
        for got in (requests.get(f"{job_url}?f=json", headers=heads, timeout=30),
                    requests.get(results, headers=heads, timeout=30),
                    requests.delete(f"{job_url}?f=json", headers=heads, timeout=30)):
            assert got.status_code == unknown.status_code == 404, got.text
    assert requests.get(f"{job_url}?f=json", headers=analyst.headers, timeout=30).ok
    assert requests.delete(f"{job_url}?f=json", headers=callers["admin"].headers,
                           timeout=30).ok


def test_process_inputs_name_only_visible_datasets(guarded: Guarded,
                                                   callers: dict[str, Caller]) -> None:
    url = f"{guarded.base}/ogc/processes/ecology-change/execution"
    county = callers["analyst_a"]  # sees the process, not the internal rasters
    answers = {}
    for raster in (guarded.member, "no_such_raster"):
        body = {"inputs": {"layer": "red_lines", "before": "ndvi_2024_07", "after": raster}}
        r = requests.post(url, json=body, headers=county.headers, timeout=60)
        assert r.status_code == 400, r.text
        answers[raster] = r.json()["description"].replace(raster, "X")
        assert "secret" not in answers[raster]  # the choices it lists are visible ones
    assert answers[guarded.member] == answers["no_such_raster"]


def test_report_belongs_to_the_job_owner(guarded: Guarded,
                                         callers: dict[str, Caller]) -> None:
    commander = callers["commander"]
    body = _example(guarded, "incident-assessment", commander)
    r = requests.post(f"{guarded.base}/ogc/processes/incident-assessment/execution",
                      json=body, headers=commander.headers, timeout=300)
    assert r.status_code == 200, r.text
    report = r.json()["report_url"]
    assert requests.get(report, headers=commander.headers, timeout=30).ok
    assert requests.get(report, headers=callers["admin"].headers, timeout=30).ok
    unknown = requests.get(f"{guarded.base}/api/reports/{'0' * 32}.html", timeout=30)
    for other in (None, callers["viewer"], callers["analyst"]):
        got = requests.get(report, headers=other.headers if other else {}, timeout=30)
        assert got.status_code == 404 and got.json()["code"] == unknown.json()["code"]
