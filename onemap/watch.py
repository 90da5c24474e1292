"""``onemap watch DIR``: feed the files an FTP drop folder receives, as they land.

An intranet's data arrive as files put by FTP into a folder, on their own schedule. The
watcher polls the folder (no inotify: it works on NFS and SMB mounts too) and feeds each file
to its table through :func:`onemap.mapserver.feeds_api.ingest`, exactly as ``onemap feed``
and ``POST /api/feeds`` do.

- Only finished files: a file is taken once its size and modification time have not changed
  between two polls (a file renamed into place is taken at the second poll after it
  appeared); dotfiles and ``*.part`` / ``*.tmp`` / ``*.filepart`` names (how FTP servers and
  clients write a file before renaming it) are left alone.
- The table is the option's, or the longest feed table id the file name starts with
  (``air_hourly_20261203T10.csv`` → ``air_hourly``).
- A fed file is moved to ``DIR/done/``; a refused one to ``DIR/failed/`` with
  ``<name>.errors.txt`` beside it listing every problem. A failure that is not the file's
  fault (the store busy, a disk error) leaves it in place for the next poll.
- Restart-safe: a file is moved only after its rows are committed, so a watcher killed in
  between feeds the file again when it restarts — the upsert by key makes that harmless.

Every file fed or refused is recorded in the audit trail (action ``feed``, as the system).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from onemap import catalog
from onemap.config import Settings
from onemap.layers import feeds
from onemap.layers.errors import LayerImportError

LOGGER = logging.getLogger(__name__)
#: Names of files still being written (FTP servers' and clients' temporary names).
PARTIAL_SUFFIXES = (".part", ".tmp", ".filepart", ".crdownload", ".partial")
SUFFIXES = (".csv", ".json")


def table_for(name: str, tables: list[str]) -> str | None:
    """The feed table a file name names by its prefix (the longest that matches, followed by
    ``_``, ``-``, ``.`` or nothing)."""
    stem = Path(name).stem
    for table in sorted(tables, key=len, reverse=True):
        if stem == table or (stem.startswith(table) and stem[len(table)] in "_-."):
            return table
    return None


def _free(path: Path) -> Path:
    """``path``, or the same name with a number added when it is taken."""
    n, out = 1, path
    while out.exists():
        out = path.with_name(f"{path.stem}.{n}{path.suffix}")
        n += 1
    return out


def _errors_text(exc: Exception) -> str:
    if isinstance(exc, LayerImportError):
        lines = [str(p) for p in exc.problems]
        more = exc.total - len(lines)
        return "\n".join([f"{exc.total} problem(s); nothing was written:", *lines,
                          *([f"… and {more} more"] if more > 0 else [])]) + "\n"
    return f"{exc}\n"


@dataclass
class Watcher:
    """Polls ``folder``; ``table`` fixes the table, else it comes from each file's name."""

    folder: Path
    settings: Settings
    table: str | None = None
    report: Callable[[str], None] = print
    #: name -> (size, mtime_ns) at the last poll.
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.folder.is_dir():
            raise FileNotFoundError(f"no such folder: {self.folder}")
        self.done = self.folder / "done"
        self.failed = self.folder / "failed"
        self.done.mkdir(exist_ok=True)
        self.failed.mkdir(exist_ok=True)

    def ready(self) -> list[Path]:
        """Files finished since the last poll (unchanged since it), oldest first."""
        now: dict[str, tuple[int, int]] = {}
        for entry in os.scandir(self.folder):
            name = entry.name
            if name.startswith(".") or name.lower().endswith(PARTIAL_SUFFIXES) \
                    or not entry.is_file(follow_symlinks=False):
                continue
            st = entry.stat(follow_symlinks=False)
            now[name] = (st.st_size, st.st_mtime_ns)
        stable = [n for n, stamp in now.items() if self.seen.get(n) == stamp]
        self.seen = now
        return sorted((self.folder / n for n in stable), key=lambda p: (now[p.name][1], p.name))

    def poll(self) -> int:
        """Feed every finished file once; how many were handled (fed or refused)."""
        handled = 0
        for path in self.ready():
            if self.handle(path):
                handled += 1
                self.seen.pop(path.name, None)
        return handled

    def handle(self, path: Path) -> bool:
        """Feed one file and move it; False when it stays for the next poll."""
        from onemap.mapserver.feeds_api import ingest

        table = self.table
        try:
            if path.suffix.lower() not in SUFFIXES:
                raise LayerImportError.single(path.name, "a feed is a CSV (.csv) or JSON "
                                              "(.json) file", unit="row")
            if table is None:
                tables = [e.id for e in catalog.load(self.settings).values()
                          if feeds.feed_of(e) is not None]
                table = table_for(path.name, tables)
                if table is None:
                    raise ValueError(f"{path.name}: the name does not start with a feed "
                                     f"table's id ({', '.join(sorted(tables)) or 'none'})")
            frame, unit = feeds.read_batch(path, self.settings)
            result = ingest(table, frame, self.settings, source=path.name, unit=unit)
        except (ValueError, catalog.UnknownDataset) as exc:  # the file's fault: refused
            if isinstance(exc, catalog.UnknownDataset):
                exc = ValueError(f"no table {table!r} in the catalogue")
            target = _free(self.failed / path.name)
            target.with_name(target.name + ".errors.txt").write_text(_errors_text(exc),
                                                                      encoding="utf-8")
            os.replace(path, target)
            self._audit(table, path.name, "failed", {"error": str(exc)[:500]})
            self.report(f"refused {path.name}: see {target}.errors.txt")
            return True
        except (OSError, sqlite3.Error) as exc:  # not the file's fault: try at the next poll
            LOGGER.warning("cannot feed %s now (%s); trying again", path.name, exc)
            return False
        os.replace(path, _free(self.done / path.name))
        self._audit(table, path.name, "ok", result.doc())
        self.report(f"fed {path.name} into {table}: {result.inserted} inserted, "
                    f"{result.updated} updated, {result.unchanged} unchanged")
        return True

    def _audit(self, table: str | None, name: str, outcome: str, detail: dict) -> None:
        from onemap.access import audit
        from onemap.access.principal import SYSTEM
        from onemap.cli_audit import os_user

        try:
            audit.record(self.settings, SYSTEM, "feed", target=table or "", outcome=outcome,
                         detail={"file": name, "via": "watch", "os_user": os_user(),
                                 **detail})
        except Exception as exc:  # noqa: BLE001 - the data is in: say it is unrecorded
            LOGGER.error("feed of %s not recorded in the audit trail: %s", name, exc)

    def run(self, interval: float, stop: Callable[[], bool] = lambda: False) -> None:
        """Poll every ``interval`` seconds until ``stop()`` says so."""
        while not stop():
            self.poll()
            time.sleep(interval)
