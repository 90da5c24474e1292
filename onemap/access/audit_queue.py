"""A background writer for audit records that need not hold up their request (reads).

Recording every read of an internal dataset with its own commit (an fsync on SQLite's
``synchronous=FULL``) would cost a tile or an items page more than the 5 % the issue allows.
So reads are handed to one thread per process and database that commits them in batches
(up to :data:`BATCH` records, at least every :data:`INTERVAL` seconds). The trade-off,
documented in the README: a crash of the process (kill -9, power cut) may lose the reads of
the last fraction of a second; a normal shutdown flushes them (the server's lifespan calls
:func:`close_all`; ``atexit`` too). Writes and logins are never queued: the HTTP audit commits
them before their response is sent.

The queue is bounded (:data:`MAX_QUEUED`): when the database falls behind, requests wait for
room (back-pressure) instead of the audit dropping records or the memory growing.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from typing import Any

from onemap.access import audit
from onemap.config import Settings

LOGGER = logging.getLogger(__name__)
BATCH = 500
INTERVAL = 0.2
MAX_QUEUED = 10000
_STOP = object()


class Writer:
    """One thread appending queued events to the audit of ``settings``' database."""

    def __init__(self, settings: Settings, max_queued: int = MAX_QUEUED) -> None:
        self.settings = settings
        self.queue: queue.Queue[Any] = queue.Queue(max_queued)
        self.thread = threading.Thread(target=self._run, name="onemap-audit", daemon=True)
        self.thread.start()

    def submit(self, event: dict[str, Any]) -> bool:
        """Queue ``event`` without waiting; False when the queue is full (then call
        :meth:`put` from a thread that may wait)."""
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            return False
        return True

    def put(self, event: dict[str, Any]) -> None:
        """Queue ``event``, waiting for room (back-pressure on the caller)."""
        self.queue.put(event)

    def flush(self) -> None:
        """Return once everything queued so far is committed."""
        self.queue.join()

    def close(self, timeout: float = 30) -> None:
        """Commit what is queued and stop the thread."""
        if self.thread.is_alive():
            self.queue.put(_STOP)
            self.thread.join(timeout)

    def _batch(self) -> tuple[list[dict[str, Any]], bool]:
        first = self.queue.get()
        if first is _STOP:
            self.queue.task_done()
            return [], True
        batch, stop = [first], False
        deadline = time.monotonic() + INTERVAL
        while len(batch) < BATCH:
            try:
                item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is _STOP:
                self.queue.task_done()
                stop = True
                break
            batch.append(item)
        return batch, stop

    def _run(self) -> None:
        stop = False
        while not stop:
            batch, stop = self._batch()
            if batch:
                self._commit(batch, stop)

    def _commit(self, batch: list[dict[str, Any]], stopping: bool) -> None:
        """Append ``batch``, retrying while the database is unavailable; when it never comes
        back during a shutdown, the records go to the log rather than nowhere."""
        tries = 0
        while True:
            try:
                audit.append(self.settings, batch)
                break
            except Exception as exc:  # noqa: BLE001 (any database error: retry, never drop)
                tries += 1
                LOGGER.error("audit: cannot append %d record(s) (try %d): %s",
                             len(batch), tries, exc)
                if stopping and tries >= 3:
                    for ev in batch:
                        LOGGER.error("audit record not stored: %s",
                                     audit.strict_detail(ev))
                    break
                time.sleep(min(5.0, 0.5 * tries))
        for _ in batch:
            self.queue.task_done()


_WRITERS: dict[str, Writer] = {}
_LOCK = threading.Lock()


def writer(settings: Settings) -> Writer:
    """The process's writer for ``settings``' system database (started on first use)."""
    url = settings.system_db_url
    with _LOCK:
        found = _WRITERS.get(url)
        if found is None or not found.thread.is_alive():
            found = _WRITERS[url] = Writer(settings)
        return found


def close_all() -> None:
    """Flush and stop every writer (at shutdown)."""
    with _LOCK:
        writers = list(_WRITERS.values())
        _WRITERS.clear()
    for w in writers:
        w.close()


atexit.register(close_all)
