"""What the receiver does with a packet: check the device, then store its readings, its
device's state and the alarms they raise — one transaction, committed before the answer.

Writes go through one writer thread that owns the live file's connection and commits in
groups: packets that arrive while a commit is on disk wait for the next one and share it
(group commit), so a full sync per transaction does not cap the receiver at the disk's syncs
per second. Each packet runs in a savepoint of its own, so a packet whose data area cannot be
read fails alone (no answer; logged) and its neighbours in the group are stored. A
``Future`` per packet resolves only after the commit: the receiver answers 9014 then, never
before.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

from onemap.config import Settings
from onemap.live import alarms, devices, livestore, readings
from onemap.live.hj212 import codes, frames
from onemap.live.hj212.frames import Packet
from onemap.live.registry import Registry, UnknownDevice
from onemap.live.rules import Rules

LOGGER = logging.getLogger(__name__)
#: Most packets one commit carries.
GROUP = 500
#: System types a device of each medium may send (its own, and 91: system interaction).
_ST_OK = {"air": {codes.ST_AIR_SOURCE, "91"}, "water": {codes.ST_WATER_SOURCE, "91"}}


class Writer:
    """The live file's one writer: jobs ``fn(conn)`` run in a thread, in groups, each group
    one transaction; ``submit`` gives a future set after the commit, and ``on_commit`` is
    called then (PostGIS follows: :class:`onemap.store.pg_live.Follower`)."""

    def __init__(self, conn: sqlite3.Connection,
                 on_commit: Callable[[], None] | None = None) -> None:
        self.conn = conn
        self.on_commit = on_commit
        self._jobs: queue.Queue = queue.Queue()
        self.commits = 0
        self._thread = threading.Thread(target=self._run, name="live-writer", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[sqlite3.Connection], Any]) -> Future:
        done: Future = Future()
        self._jobs.put((fn, done))
        return done

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            group = [first]
            while len(group) < GROUP:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._jobs.put(None)
                    break
                group.append(job)
            self._commit(group)

    def _commit(self, group: list) -> None:
        results: list[tuple[Future, Any, BaseException | None]] = []
        try:
            with livestore.transaction(self.conn):
                for i, (fn, done) in enumerate(group):
                    self.conn.execute(f"SAVEPOINT p{i}")
                    try:
                        results.append((done, fn(self.conn), None))
                        self.conn.execute(f"RELEASE p{i}")
                    except Exception as exc:  # noqa: BLE001 - this packet fails alone
                        self.conn.execute(f"ROLLBACK TO p{i}")
                        self.conn.execute(f"RELEASE p{i}")
                        results.append((done, None, exc))
        except BaseException as exc:  # the commit itself failed: nothing of the group is kept
            LOGGER.error("live store: a commit of %d packets failed: %s", len(group), exc)
            for _, done in group:
                done.set_exception(exc)
            return
        self.commits += 1
        for done, value, exc in results:
            if exc is None:
                done.set_result(value)
            else:
                done.set_exception(exc)
        if self.on_commit is not None:
            self.on_commit()


class StoreHandler:
    """The receiver's :class:`~onemap.live.hj212.server.Handler` on the live store."""

    def __init__(self, settings: Settings, registry: Registry, writer: Writer,
                 rules: Rules) -> None:
        self.settings, self.registry, self.writer, self.rules = settings, registry, writer, rules
        self.alarms_opened = 0

    async def check(self, packet: Packet) -> int | None:
        try:
            device = self.registry.get(packet.mn or "")
        except UnknownDevice:
            return frames.QN_MN
        if not self.registry.password_ok(device.mn, packet.pw):
            return frames.QN_PW
        if packet.st is not None and packet.st not in _ST_OK.get(device.medium, ()):
            return frames.QN_ST
        return None

    async def store(self, packet: Packet) -> None:
        device = self.registry.get(packet.mn or "")
        received = datetime.now(UTC)
        rows = readings.rows_of(packet, received, device.outlet_code)  # CPError: refused

        def write(conn: sqlite3.Connection) -> int:
            now = readings.stamp(received)
            readings.upsert(conn, rows)
            devices.seen(conn, device, packet.cn or "", now)
            return alarms.evaluate(conn, device, rows, self.rules, now)

        self.alarms_opened += await asyncio.wrap_future(self.writer.submit(write))

    async def sweep(self) -> int:
        """Mark silent devices offline (run every few seconds)."""
        registered = self.registry.devices()

        def run(conn: sqlite3.Connection) -> int:
            return devices.sweep(conn, registered, self.rules)

        return await asyncio.wrap_future(self.writer.submit(run))

