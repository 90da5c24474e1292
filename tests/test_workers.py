"""``onemap serve --workers 2``: two processes on one port that share no state in memory.

Each test asks the server several times in a row; with two workers the kernel hands the
connections to either, so an answer that depended on one worker's memory (a job, a catalogue
change, a page's script nonce) would come out wrong in some of them. Both workers are seen doing
work (their CPU time grows), and a worker killed with SIGKILL is replaced while the other goes
on answering."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from onemap.access import accounts
from onemap.config import Settings
from onemap.layers.store import read_layer
from tests.server import sample_copy, start_server, stop_server, worker_pids

pytestmark = pytest.mark.server
ROUNDS = 16


@dataclass(frozen=True)
class Workers:
    base: str
    pid: int
    settings: Settings
    manager: dict[str, str]
    analyst: dict[str, str]


def _cpu(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks


@pytest.fixture(scope="module")
def served(sample_settings: Settings, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Workers]:
    data = sample_copy(sample_settings.data_dir, tmp_path_factory.mktemp("workers"))
    settings = Settings(data_dir=data)
    keys = {}
    for name, role in (("manager", "data_manager"), ("analyst", "analyst")):
        if accounts.get(settings, name) is None:
            accounts.add(settings, name, roles=[role])
        keys[name] = {"Authorization": f"Bearer {accounts.create_key(settings, name, 'tests')[1]}"}
    proc, base = start_server(data, 180, args=("--workers", "2"))
    try:
        deadline = time.monotonic() + 120
        while len(worker_pids(proc.pid)) < 2:  # the second may still be loading
            assert time.monotonic() < deadline, "two workers never started"
            time.sleep(0.5)
        yield Workers(base, proc.pid, settings, keys["manager"], keys["analyst"])
    finally:
        stop_server(proc)


def _answer(served: Workers, path: str, headers: dict[str, str] | None = None
            ) -> list[requests.Response]:
    """``path`` asked ROUNDS times, a new connection each time, four at once."""
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda _i: requests.get(served.base + path, headers=headers,
                                                      timeout=60), range(ROUNDS)))


def test_both_workers_serve(served: Workers) -> None:
    workers = worker_pids(served.pid)
    assert len(workers) == 2
    before = {pid: _cpu(pid) for pid in workers}
    answers = []
    for _ in range(4):
        answers += _answer(served, "/ogc/collections/air_hourly/items?limit=2000")
    assert all(r.status_code == 200 for r in answers)
    after = {pid: _cpu(pid) for pid in workers}
    assert all(after[pid] > before[pid] for pid in workers), (before, after)


def test_a_new_layer_and_its_removal_are_seen_by_every_worker_at_once(
        served: Workers, tmp_path: Path) -> None:
    src = tmp_path / "intakes.geojson"
    src.write_text(read_layer("water_intakes", served.settings).to_json(), encoding="utf-8")
    with open(src, "rb") as fh:
        made = requests.post(served.base + "/api/layers", headers=served.manager,
                             files={"file": (src.name, fh)},
                             data={"family": "water_intakes", "id": "intakes_workers"},
                             timeout=120)
    assert made.status_code == 201, made.text
    seen = _answer(served, "/ogc/collections/intakes_workers/items?limit=1")
    assert [r.status_code for r in seen] == [200] * ROUNDS
    assert {r.json()["numberMatched"] for r in seen} == {6}
    gone = requests.delete(served.base + "/api/layers/intakes_workers", headers=served.manager,
                           timeout=60)
    assert gone.status_code in (200, 204), gone.text
    unseen = _answer(served, "/ogc/collections/intakes_workers/items?limit=1")
    assert [r.status_code for r in unseen] == [404] * ROUNDS


def test_a_job_is_followed_and_dismissed_through_either_worker(served: Workers) -> None:
    inputs = {"start": "2025-02-01T01:00:00+08:00", "end": "2025-05-31T00:00:00+08:00",
              "res_deg": 0.01}
    r = requests.post(served.base + "/ogc/processes/pm25-surface-series/execution",
                      json={"inputs": inputs}, timeout=60,
                      headers={**served.analyst, "Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    job = r.headers["Location"]
    path = job.removeprefix(served.base) + "?f=json"
    polled = _answer(served, path, served.analyst)
    assert [p.status_code for p in polled] == [200] * ROUNDS
    assert {p.json()["jobID"] for p in polled} == {job.rsplit("/", 1)[1]}
    assert {p.json()["status"] for p in polled} <= {"accepted", "running", "successful"}
    dismissed = requests.delete(job, headers=served.analyst, timeout=30)
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    assert [p.status_code for p in _answer(served, path, served.analyst)] == [404] * ROUNDS
    work = served.settings.runtime_dir / "work"
    deadline = time.monotonic() + 60
    while list(work.glob("*pm25_idw_2025020101*")):  # whichever worker ran it stops
        assert time.monotonic() < deadline, list(work.iterdir())
        time.sleep(0.2)


def test_every_worker_fills_its_own_pages_script_nonce(served: Workers) -> None:
    for page in _answer(served, "/ogc/collections?f=html"):
        assert page.status_code == 200
        allowed = re.search(r"'nonce-([0-9a-f]+)'", page.headers["Content-Security-Policy"])
        assert allowed, page.headers["Content-Security-Policy"]
        used = set(re.findall(r'<script nonce="([^"]+)"', page.text))
        assert used == {allowed.group(1)}, used  # not another worker's slot


def test_a_killed_worker_is_replaced_while_the_other_answers(served: Workers) -> None:
    first = worker_pids(served.pid)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    answers = _answer(served, "/ogc/collections/rivers/items?limit=1")
    assert [r.status_code for r in answers] == [200] * ROUNDS
    deadline = time.monotonic() + 120
    while True:
        now = worker_pids(served.pid)
        if len(now) == 2 and victim not in now:
            break
        assert time.monotonic() < deadline, now
        time.sleep(0.5)
    time.sleep(1)
    assert [r.status_code for r in _answer(served, "/healthz")] == [200] * ROUNDS
    # the dead worker's generated files go when its replacement starts
    deadline = time.monotonic() + 60
    while (served.settings.runtime_dir / "proc" / str(victim)).exists():
        assert time.monotonic() < deadline
        time.sleep(0.5)
