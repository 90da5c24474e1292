"""Jobs take one of ONEMAP_MAX_JOBS slots shared by every process of the data dir (the workers
of ``onemap serve --workers N``): a second process waits while the slots are held, and a killed
holder frees its slot at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from onemap.config import Settings
from onemap.mapserver import jobs

HOLD = """
import sys, time
from pathlib import Path
from onemap.config import Settings
from onemap.mapserver.jobs import slot
with slot(Settings(data_dir=Path(sys.argv[1]), max_jobs=int(sys.argv[2]))) as i:
    print(i, flush=True)
    time.sleep(600)
"""


def _holder(data: Path, max_jobs: int) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(data), str(max_jobs)],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    assert line.strip(), "the holder got no slot"
    return proc, int(line)


def test_another_process_holding_the_slots_makes_a_job_wait(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_jobs=1)
    holder, held = _holder(tmp_path, 1)
    got: list[int] = []
    waiting = threading.Thread(target=lambda: got.append(
        jobs.slot(settings).__enter__()))
    try:
        assert held == 0
        waiting.start()
        time.sleep(1.5)
        assert got == [] and waiting.is_alive()  # all (one) slots are the other process's
        holder.send_signal(signal.SIGKILL)  # a worker killed mid-job: the kernel frees it
        waiting.join(timeout=10)
        assert got == [0]
    finally:
        holder.kill()
        holder.wait()


def test_free_slots_are_taken_at_once(tmp_path: Path) -> None:
    holder, held = _holder(tmp_path, 2)
    try:
        start = time.monotonic()
        with jobs.slot(Settings(data_dir=tmp_path, max_jobs=2)) as mine:
            assert {held, mine} == {0, 1} and time.monotonic() - start < 1
    finally:
        holder.kill()
        holder.wait()


def test_a_stopping_server_does_not_wait_for_a_slot(tmp_path: Path) -> None:
    holder, _ = _holder(tmp_path, 1)
    jobs.STOPPING.set()
    try:
        with jobs.slot(Settings(data_dir=tmp_path, max_jobs=1)) as mine:
            assert mine == -1
    finally:
        jobs.STOPPING.clear()
        holder.kill()
        holder.wait()
