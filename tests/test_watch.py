"""``onemap watch DIR``: files landing in a drop folder are fed once finished, moved to done/
or failed/ (with their errors), and a file left behind by a crash is fed again harmlessly —
with real files and the real command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from onemap import catalog
from onemap.access import audit
from onemap.config import Settings
from onemap.layers import feeds
from onemap.layers.importer import import_frame
from onemap.mapserver.feeds_api import ingest
from onemap.watch import Watcher, table_for

GOOD = "station_id,time,pm25,flag\n1001A,2026-01-02 08:00,31,N\n1002A,2026-01-02 08:00,44,N\n"
BAD = "station_id,time,pm25,flag\n1001A,2026-01-02 09:00,31,N\n1002A,2026-01-02 09:00,-5,Q\n"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A data dir with a small air_hourly table, and the drop folder beside it."""
    s = Settings(data_dir=tmp_path / "data")
    import_frame(pd.DataFrame({"station_id": ["1001A"], "time": ["2026-01-01 08:00"],
                               "pm25": [20], "flag": ["N"]}), "air_hourly",
                 source="air_hourly.csv", settings=s)
    (tmp_path / "drop").mkdir()
    return s


@pytest.fixture
def watching(settings: Settings, tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen]]:
    """Starts ``onemap watch`` on the drop folder (polling every 0.2 s); stopped at the end."""
    procs: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        env = {**os.environ, "ONEMAP_DATA_DIR": str(settings.data_dir)}
        proc = subprocess.Popen([sys.executable, "-m", "onemap", "watch",
                                 str(tmp_path / "drop"), "--interval", "0.2"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def _wait_for(check: Callable[[], bool], proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None:
            raise AssertionError(f"watch exited: {proc.stdout.read() if proc.stdout else ''}")
        if time.monotonic() > deadline:
            raise AssertionError("the watcher did not handle the files in time")
        time.sleep(0.1)


def _count(settings: Settings) -> int:
    return catalog.get("air_hourly", settings).feature_count


def test_a_file_is_taken_once_it_stops_changing(settings: Settings, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    watcher = Watcher(drop, settings)
    growing = drop / "air_hourly_1.csv"
    growing.write_text(GOOD[:30])
    (drop / ".hidden.csv").write_text(GOOD)
    (drop / "air_hourly_2.csv.part").write_text(GOOD)
    (drop / "air_hourly_3.tmp").write_text(GOOD)
    assert watcher.ready() == []  # first sight: not known to be finished
    with open(growing, "a") as fh:
        fh.write(GOOD[30:])
    assert watcher.ready() == []  # still growing
    assert watcher.ready() == [growing]  # unchanged since the last look
    assert (drop / "done").is_dir() and (drop / "failed").is_dir()


def test_the_table_comes_from_the_file_name() -> None:
    tables = ["air_hourly", "air", "water_samples"]
    assert table_for("air_hourly_20261203T10.csv", tables) == "air_hourly"
    assert table_for("air_hourly.json", tables) == "air_hourly"
    assert table_for("air-2026.csv", tables) == "air"
    assert table_for("water_samples-12.csv", tables) == "water_samples"
    assert table_for("air_hourlyx.csv", tables) == "air"  # the longest id that fits
    assert table_for("airx.csv", tables) is None
    assert table_for("incidents_1.csv", tables) is None


def test_files_landing_are_fed_or_refused(settings: Settings, tmp_path: Path,
                                          watching: Callable[[], subprocess.Popen]) -> None:
    drop = tmp_path / "drop"
    proc = watching()
    # an FTP upload: written under a temporary name, renamed when complete
    part = drop / "air_hourly_20260102T08.csv.part"
    part.write_text(GOOD)
    (drop / ".air_hourly_hidden.csv").write_text(GOOD)
    os.replace(part, drop / "air_hourly_20260102T08.csv")
    (drop / "air_hourly_20260102T09.csv").write_text(BAD)
    (drop / "rainfall_20260102.csv").write_text(GOOD)
    (drop / "air_hourly_x.json").write_text('{"rows": [{"station_id": "1003A", '
                                             '"time": "2026-01-02T10:00:00+08:00", '
                                             '"pm25": 12, "flag": "N"}]}')
    done, failed = drop / "done", drop / "failed"
    _wait_for(lambda: len(list(done.glob("*"))) == 2 and len(list(failed.glob("*.csv"))) == 2,
              proc)
    assert sorted(p.name for p in done.iterdir()) == ["air_hourly_20260102T08.csv",
                                                      "air_hourly_x.json"]
    assert _count(settings) == 4  # 1 imported + 2 + 1; nothing of the refused file
    errors = (failed / "air_hourly_20260102T09.csv.errors.txt").read_text(encoding="utf-8")
    assert "nothing was written" in errors
    assert "row 3, field 'pm25'" in errors and "row 3, field 'flag'" in errors
    assert "feed table" in (failed / "rainfall_20260102.csv.errors.txt").read_text()
    assert (drop / ".air_hourly_hidden.csv").exists()  # dotfiles are not ours
    records = audit.query(settings, action="feed", limit=10)
    assert sorted(r["outcome"] for r in records) == ["failed", "failed", "ok", "ok"]
    assert {r["target"] for r in records if r["outcome"] == "ok"} == {"air_hourly"}
    # the same file again (a resend): fed, nothing changes
    (drop / "air_hourly_20260102T08.csv").write_text(GOOD)
    _wait_for(lambda: (done / "air_hourly_20260102T08.1.csv").exists(), proc)
    assert _count(settings) == 4


def test_a_file_left_by_a_crash_is_fed_again(settings: Settings, tmp_path: Path,
                                             watching: Callable[[], subprocess.Popen]) -> None:
    """Killed after the commit and before the move, the watcher finds the file again when it
    restarts: the upsert leaves the table as the first feed made it."""
    drop = tmp_path / "drop"
    path = drop / "air_hourly_20260102T08.csv"
    path.write_text(GOOD)
    frame, unit = feeds.read_batch(path, settings)
    ingest("air_hourly", frame, settings, source=path.name, unit=unit)  # committed, not moved
    assert _count(settings) == 3
    proc = watching()
    _wait_for(lambda: bool(audit.query(settings, action="feed", limit=1)), proc)
    assert _count(settings) == 3 and not path.exists()
    assert (drop / "done" / path.name).exists()
    (record,) = [audit.readable(r) for r in audit.query(settings, action="feed", limit=5)]
    assert record["outcome"] == "ok"
    assert {k: record["detail"][k] for k in ("inserted", "updated", "unchanged", "file")} == {
        "inserted": 0, "updated": 0, "unchanged": 2, "file": path.name}


def test_the_feed_command(settings: Settings, tmp_path: Path) -> None:
    env = {**os.environ, "ONEMAP_DATA_DIR": str(settings.data_dir)}
    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_text(BAD)
    good.write_text(GOOD)

    def feed(path: Path, table: str = "air_hourly") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "onemap", "feed", str(path), "--table",
                               table], env=env, capture_output=True, text=True, timeout=120)

    refused = feed(bad)
    assert refused.returncode == 1
    assert "bad.csv, row 3, field 'pm25'" in refused.stderr
    assert "bad.csv, row 3, field 'flag'" in refused.stderr
    assert _count(settings) == 1
    fed = feed(good)
    assert fed.returncode == 0 and "2 inserted" in fed.stdout
    assert _count(settings) == 3
    again = feed(good)
    assert again.returncode == 0 and "2 unchanged" in again.stdout
    unknown = feed(good, "nope")
    assert unknown.returncode == 2 and "no table 'nope'" in unknown.stderr
