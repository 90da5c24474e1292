"""The live file's writers' lock: a write transaction holds it against every other process
(SQLite's own locks can be dropped by GDAL's second copy of SQLite in the same process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from onemap.live import livestore

PROBE = ("import fcntl, os, sys\n"
         "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n")


def _taken_elsewhere(lock: Path) -> bool:
    return subprocess.run([sys.executable, "-c", PROBE, str(lock)],
                          capture_output=True, timeout=60).returncode != 0


def test_a_write_transaction_holds_the_writers_lock(tmp_path: Path) -> None:
    path = tmp_path / "live.gpkg"
    conn = livestore.connect(path)
    lock = Path(f"{path}.writer-lock")
    try:
        with livestore.transaction(conn):
            assert _taken_elsewhere(lock)  # another process waits for this writer
            with livestore.transaction(conn):  # a savepoint inside: the same lock
                conn.execute("INSERT INTO outlet_readings (mn, pollutant, interval, time, "
                             "received) VALUES ('A', 'w01018', 'hour', "
                             "'2026-11-01T00:00:00Z', '2026-11-01T00:05:00Z')")
        assert not _taken_elsewhere(lock)  # and takes it once this one has committed
        assert conn.execute("SELECT count(*) FROM outlet_readings").fetchone()[0] == 1
    finally:
        conn.close()
