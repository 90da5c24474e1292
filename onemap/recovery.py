"""Start-up recovery: what a killed process left behind is cleaned before anything is served.

Every write in the data dir goes to a temporary file (a dot-name with ``.tmp``, or an
``.upload-`` staging file) that is renamed into place only when complete, and a catalogue entry
is added only after its file is in place. So a ``kill -9`` at any moment leaves, at worst:
temporary files nobody will rename, an upload's staged file, a result written but never
catalogued, and job rows that say "running" forever. :func:`recover` removes the first three
and marks the jobs failed with the reason, so a client polling one learns what happened.

Which files are orphans: every OneMap process (server, CLI) holds a shared lock on the data dir
for its lifetime (:func:`hold_data_dir`). At start-up the server upgrades its own to an
exclusive lock without waiting; only when that succeeds — no other OneMap process is alive on
this data dir — are temporary files swept, and even then a file some process still holds open
is left alone. A job is interrupted when the process named in its ``worker`` column ("host:pid")
is no longer alive on this host.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import IO

from sqlalchemy import select, update

from onemap import catalog, sysdb
from onemap.config import Settings
from onemap.sysdb import JOBS

LOGGER = logging.getLogger(__name__)
#: Lock files held for a process's lifetime, by data dir (never closed: closing drops the lock).
_HELD: dict[Path, IO[str]] = {}


def hold_data_dir(settings: Settings) -> None:
    """Take this process's shared lock on the data dir (idempotent)."""
    folder = settings.data_dir.resolve()
    if folder in _HELD:
        return
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / ".processes.lock", "a")  # noqa: SIM115 - held until exit
    fcntl.flock(handle, fcntl.LOCK_SH)
    _HELD[folder] = handle


def _alone(settings: Settings) -> bool:
    """True if no other process holds the data dir (our lock briefly upgraded to exclusive,
    then back to shared)."""
    hold_data_dir(settings)
    handle = _HELD[settings.data_dir.resolve()]
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        # a refused conversion may have dropped the shared lock (flock(2) converts by
        # removing, then taking): take it again, or this process would hold none
        fcntl.flock(handle, fcntl.LOCK_SH)
        return False
    fcntl.flock(handle, fcntl.LOCK_SH)
    return True


def _open_files() -> set[str]:
    """Every file any process on this machine holds open (what /proc lets us see)."""
    out: set[str] = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    out.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
                except OSError:
                    continue
        except OSError:
            continue
    return out


def _is_temp(name: str) -> bool:
    return name.startswith(".upload-") or (name.startswith(".") and ".tmp" in name)


def _in_use(path: Path, open_files: set[str]) -> bool:
    text = str(path)
    return any(f == text or f.startswith(text + os.sep) for f in open_files)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def sweep(settings: Settings) -> list[Path]:
    """Remove temporary files, staged uploads and uncatalogued results left by dead processes;
    return what was removed. Does nothing while another OneMap process uses the data dir."""
    if not _alone(settings):
        LOGGER.info("another OneMap process uses %s: temporary files left for it",
                    settings.data_dir)
        return []
    open_files = _open_files()
    folders = [settings.data_dir, settings.store_dir, settings.raster_dir, settings.cube_dir,
               settings.upload_dir, settings.runtime_dir, settings.runtime_dir / "jobs"]
    candidates = [p for folder in folders if folder.is_dir() for p in folder.iterdir()
                  if _is_temp(p.name)]
    candidates += [p for p in Path(tempfile.gettempdir()).glob("onemap-unzip-*")]
    work = settings.runtime_dir / "work"  # processes' scratch files, all of it
    candidates += list(work.iterdir()) if work.is_dir() else []
    results = settings.runtime_dir / "jobs"  # results of jobs that are gone or failed
    with sysdb.engine(settings).connect() as conn:
        kept = {str(Path(v).resolve()) for v in conn.execute(
            select(JOBS.c.location).where(JOBS.c.location.is_not(None))).scalars()}
    candidates += [p for p in results.iterdir() if p.is_file() and not p.name.startswith(".")
                   and str(p.resolve()) not in kept] if results.is_dir() else []
    known = {e.file(settings).resolve() for e in catalog.load(settings).values()}
    for folder, pattern in ((settings.raster_dir, "*.tif"), (settings.cube_dir, "*.zarr")):
        if folder.is_dir():
            candidates += [p for p in folder.glob(pattern) if p.resolve() not in known]
    removed = []
    for path in candidates:
        if _in_use(path.resolve(), open_files):
            continue
        _remove(path)
        removed.append(path)
    if removed:
        LOGGER.warning("removed %d file(s) left by an interrupted process: %s", len(removed),
                       ", ".join(p.name for p in removed[:10]))
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != 0


def sweep_processes(settings: Settings) -> list[Path]:
    """Remove the generated files (``runtime_dir/proc/<pid>``) of processes no longer alive,
    whatever else runs: each live process keeps its own folder."""
    removed = []
    folder = settings.runtime_dir / "proc"
    for path in folder.iterdir() if folder.is_dir() else ():
        if path.name.isdigit() and not _pid_alive(int(path.name)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(worker: str | None) -> bool:
    """True unless ``worker`` names a process of this host that no longer runs (a worker on
    another host is taken as alive: its own host's start-up judges it)."""
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    return _pid_alive(int(pid))


def reap_jobs(settings: Settings) -> int:
    """Mark jobs whose process died as failed, saying so; remove their partial results."""
    now = sysdb.now
    eng = sysdb.engine(settings)
    with eng.connect() as conn:
        rows = conn.execute(select(JOBS.c.id, JOBS.c.status, JOBS.c.progress, JOBS.c.worker,
                                   JOBS.c.location)
                            .where(JOBS.c.status.in_(("accepted", "running")))).all()
    dead = [r for r in rows if not _alive(r.worker)]
    for row in dead:
        message = sysdb.interrupted("stopped", row.status, row.progress)
        if row.location:
            Path(row.location).unlink(missing_ok=True)
        with eng.begin() as conn:
            conn.execute(update(JOBS).where(JOBS.c.id == row.id, JOBS.c.status == row.status)
                         .values(status="failed", message=message, finished=now(),
                                 updated=now(), location=None))
    if dead:
        LOGGER.warning("marked %d interrupted job(s) as failed", len(dead))
    return len(dead)


def recover(settings: Settings) -> None:
    """Everything start-up does to leave the data dir consistent (call before serving)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    reap_jobs(settings)
    sweep_processes(settings)
    sweep(settings)
