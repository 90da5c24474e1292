"""Crash safety with a real ``kill -9`` of a real server: jobs survive a restart, a job the dead
process was running or queueing is failed with the reason, and nothing it was writing is left on
disk or in the catalogue. Also: the job queue (``ONEMAP_MAX_JOBS``) and the synchronous time
limit (``ONEMAP_PROCESS_TIMEOUT``).

Each test runs its own server on a copy of the sample region, so killing it disturbs no other
test."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from onemap import catalog
from onemap.config import Settings
from tests.raster import makers
from tests.server import start_server, stop_server

pytestmark = pytest.mark.server
SERIES = "/ogc/processes/pm25-surface-series/execution"
LONG = {"start": "2025-02-01T01:00:00+08:00", "end": "2025-05-31T00:00:00+08:00",
        "res_deg": 0.01}
SHORT = {"start": "2025-01-24T01:00:00+08:00", "end": "2025-01-24T06:00:00+08:00",
         "res_deg": 0.02}


#: ``Authorization`` of the analyst account of the copy the running test made (uploads, the
#: series process and reading their jobs need it; each test makes one copy, then its servers).
AUTH: dict[str, str] = {}


def _copy(sample: Settings, to: Path) -> Settings:
    """The sample region's catalogue and files, without the session server's state, and an
    analyst account of its own (see :data:`AUTH`)."""
    from onemap.access import accounts

    shutil.copytree(sample.data_dir, to, ignore=shutil.ignore_patterns(
        "uploads", "runtime", "system.db*", "*.log", ".*.lock", "sample"))
    settings = Settings(data_dir=to)
    accounts.add(settings, "recovery", roles=["analyst"])
    AUTH["Authorization"] = f"Bearer {accounts.create_key(settings, 'recovery', 'tests')[1]}"
    return settings


def _job(url: str) -> dict:
    return requests.get(url, params={"f": "json"}, headers=AUTH, timeout=30).json()


def _wait_for(url: str, ok, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = _job(url)
        if ok(job):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def _temporary(settings: Settings) -> list[str]:
    """Every temporary or scratch file in the data dir (what a crash could leave)."""
    found = []
    for folder in (settings.data_dir, settings.store_dir, settings.raster_dir,
                   settings.cube_dir, settings.upload_dir, settings.runtime_dir / "work"):
        if folder.is_dir():
            found += [p.name for p in folder.iterdir()
                      if p.name.startswith(".upload-") or ".tmp" in p.name
                      or folder.name == "work"]
    return found


def _kill(proc) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_kill_during_upload_conversion(sample_settings: Settings, tmp_path: Path) -> None:
    settings = _copy(sample_settings, tmp_path / "data")
    small = makers.write_geotiff(tmp_path / "small.tif", width=300, height=200)
    big = makers.write_geotiff(tmp_path / "big.tif", dtype="float32", width=7000, height=6000)
    before = set(catalog.load(settings))
    proc, base = start_server(settings.data_dir)
    try:
        with open(small, "rb") as fh:
            done = requests.post(f"{base}/api/rasters", files={"file": ("small.tif", fh)},
                                 data={"id": "kept_upload"}, headers=AUTH, timeout=60)
        assert done.status_code == 202, done.text
        _wait_for(done.headers["Location"], lambda j: j["status"] == "successful")
        with open(big, "rb") as fh:
            r = requests.post(f"{base}/api/rasters", files={"file": ("big.tif", fh)},
                              data={"id": "killed_upload"}, headers=AUTH, timeout=120)
        assert r.status_code == 202, r.text
        job_url = r.headers["Location"]
        _wait_for(job_url, lambda j: j["status"] == "running")
        _kill(proc)
    finally:
        if proc.poll() is None:
            stop_server(proc)
    left = _temporary(settings)
    assert any(n.startswith(".upload-") for n in left), left  # the kill really left files
    proc, base = start_server(settings.data_dir)
    try:
        job_url = job_url.replace(job_url.split("/api/")[0], base)
        job = _job(job_url)
        assert job["status"] == "failed", job
        assert "interrupted" in job["message"] and "running" in job["message"], job
        kept = _job(done.headers["Location"].replace(done.headers["Location"].split("/api/")[0],
                                                     base))
        assert kept["status"] == "successful", kept  # finished jobs survive the restart
        assert _temporary(settings) == []
        assert set(catalog.load(settings)) == before | {"kept_upload"}
        assert requests.get(f"{base}/api/rasters/killed_upload", headers=AUTH,
                            timeout=30).status_code == 404
        assert not list(settings.raster_dir.glob("*killed_upload*"))
    finally:
        stop_server(proc)


def _two_series(settings: Settings):
    """A server running one job at a time, a long series computing hours (its scratch store
    on disk) and a short one queued behind it: (server process, the two job URLs)."""
    proc, base = start_server(settings.data_dir, ONEMAP_MAX_JOBS="1")
    urls = []
    try:
        for inputs in (LONG, SHORT):
            r = requests.post(f"{base}{SERIES}", json={"inputs": inputs},
                              headers={"Prefer": "respond-async", **AUTH}, timeout=60)
            assert r.status_code == 201, r.text
            urls.append(r.headers["Location"])
        work = settings.runtime_dir / "work"
        _wait_for(urls[0], lambda j: j["status"] == "running" and j["progress"] > 5
                  and work.is_dir() and any(work.iterdir()))
    except BaseException:
        stop_server(proc)
        raise
    return proc, urls


def test_kill_during_a_series_and_the_queue(sample_settings: Settings, tmp_path: Path) -> None:
    settings = _copy(sample_settings, tmp_path / "data")
    before = set(catalog.load(settings))
    proc, urls = _two_series(settings)
    try:
        queued = _job(urls[1])
        assert queued["status"] == "accepted", queued
        assert "queued" in queued["message"] and "ONEMAP_MAX_JOBS" in queued["message"], queued
        _kill(proc)
    finally:
        if proc.poll() is None:
            stop_server(proc)
    assert _temporary(settings), ("the kill left no scratch store: "
                                  + (settings.data_dir / "server.log").read_text()[-3000:])
    proc, base = start_server(settings.data_dir, ONEMAP_MAX_JOBS="1")
    try:
        first, second = (_job(u.replace(u.split("/ogc/")[0], base)) for u in urls)
        assert first["status"] == "failed", first
        assert "while this job was running (at" in first["message"], first
        assert second["status"] == "failed" and "queued" in second["message"], second
        assert _temporary(settings) == []
        assert set(catalog.load(settings)) == before
        listed = requests.get(f"{base}/ogc/jobs", params={"f": "json"}, headers=AUTH,
                              timeout=30).json()
        assert {j["jobID"] for j in listed["jobs"]} >= {first["jobID"], second["jobID"]}
    finally:
        stop_server(proc)


def test_sigterm_stops_jobs_and_says_why(sample_settings: Settings, tmp_path: Path) -> None:
    """A graceful stop (SIGTERM, as systemd sends) does not wait for a long job to finish: the
    running job stops at its next step and cleans up, the queued one never starts, and both say
    the server shut down."""
    settings = _copy(sample_settings, tmp_path / "data")
    before = set(catalog.load(settings))
    proc, urls = _two_series(settings)
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=90)  # long before the series would have finished
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _temporary(settings) == []  # cleaned by the stopping process itself
    proc, base = start_server(settings.data_dir)
    try:
        first, second = (_job(u.replace(u.split("/ogc/")[0], base)) for u in urls)
        assert first["status"] == "failed", first
        assert "shut down while this job was running" in first["message"], first
        assert second["status"] == "failed", second
        assert "shut down while it was queued" in second["message"], second
        assert set(catalog.load(settings)) == before
    finally:
        stop_server(proc)


def test_sync_time_limit(sample_settings: Settings, tmp_path: Path) -> None:
    settings = _copy(sample_settings, tmp_path / "data")
    before = set(catalog.load(settings))
    proc, base = start_server(settings.data_dir, ONEMAP_PROCESS_TIMEOUT="1")
    try:
        r = requests.post(f"{base}{SERIES}", json={"inputs": LONG}, headers=AUTH, timeout=300)
        assert r.status_code == 400, r.text
        assert "ONEMAP_PROCESS_TIMEOUT" in r.json()["description"], r.text
        quick = requests.post(f"{base}/ogc/processes/aqi-hourly/execution",
                              json={"inputs": {"time": "2025-01-24T20:00:00+08:00"}},
                              timeout=60)
        assert quick.status_code == 200, quick.text
    finally:
        stop_server(proc)
    assert set(catalog.load(settings)) == before
    assert _temporary(settings) == []


def test_kill_during_an_import(sample_settings: Settings, tmp_path: Path) -> None:
    """``kill -9`` of ``onemap import`` half-way through a year of hourly rows: the next server
    start removes what it was writing and the catalogue is as before."""
    settings = _copy(sample_settings, tmp_path / "data")
    before = catalog.load(settings)
    source = sample_settings.sample_dir / "air_hourly_2025.csv"
    env = {**os.environ, "ONEMAP_DATA_DIR": str(settings.data_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "onemap", "import", str(source),
                             "--family", "air_hourly", "--id", "hourly_copy"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(settings.store_dir.glob(".hourly_copy.*")):
        assert proc.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    _kill(proc)
    assert list(settings.store_dir.glob(".hourly_copy.*"))
    proc, base = start_server(settings.data_dir)
    try:
        assert requests.get(f"{base}/ogc/collections/hourly_copy", params={"f": "json"},
                            timeout=60).status_code == 404
    finally:
        stop_server(proc)
    assert _temporary(settings) == []
    assert catalog.load(settings) == before


def test_sweep_spares_files_in_use(sample_settings: Settings, tmp_path: Path) -> None:
    """A temporary file some process still writes is not an orphan; one nobody holds is."""
    settings = _copy(sample_settings, tmp_path / "data")
    orphan = settings.store_dir / ".rivers.0a1b2c3d.tmp.gpkg"
    busy = settings.store_dir / ".rivers.deadbeef.tmp.gpkg"
    orphan.write_bytes(b"left by a killed import")
    with open(busy, "wb") as held:
        held.write(b"an import still running")
        proc, _base = start_server(settings.data_dir)
        stop_server(proc)
        assert busy.exists()
    assert not orphan.exists()
