"""``onemap hj212``: the receiver as a process of its own.

Not a worker of the web server: devices hold TCP connections for days, and the receiver must
keep taking data while the web server restarts (and the reverse). It shares the data dir with
the server: the live file it writes is catalogued (``outlet_readings``, ``devices``,
``alarms``), so the server, GDAL and QGIS see new rows at their next read.

Besides answering devices, it keeps the devices' layer in step with the registry (the outlets
layer) and sweeps for devices gone silent (offline) every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC, datetime

from onemap.config import Settings
from onemap.live import devices, livestore, rules
from onemap.live.hj212.server import Receiver
from onemap.live.intake import StoreHandler, Writer
from onemap.live.readings import stamp
from onemap.live.registry import Registry
from onemap.store import pg_live

LOGGER = logging.getLogger(__name__)
#: Seconds between reports of the receiver's counters in the log.
REPORT_S = 60.0


class Service:
    """The receiver with its store; ``await start()``, ``await stop()``."""

    def __init__(self, settings: Settings, host: str | None = None,
                 port: int | None = None) -> None:
        self.settings = settings
        self.rules = rules.load(settings)
        livestore.catalogue(settings)
        self.registry = Registry(settings)
        self.conn = livestore.connect(livestore.path(settings))
        # with PostgreSQL, the live tables follow each commit there (from a thread of its own)
        self.follower = pg_live.Follower(settings) if settings.database_url else None
        self.writer = Writer(self.conn, self.follower.poke if self.follower else None)
        self.handler = StoreHandler(settings, self.registry, self.writer, self.rules)
        self.receiver = Receiver(self.handler, settings.hj212_host if host is None else host,
                                 settings.hj212_port if port is None else port,
                                 idle_s=settings.hj212_idle_seconds)
        self._tasks: list[asyncio.Task] = []
        self._synced: object = None

    def _sync(self) -> None:
        registered = self.registry.devices()
        if registered is self._synced:
            return
        added, removed = self.writer.submit(
            lambda conn: devices.sync(conn, registered, stamp_now())).result()
        self._synced = registered
        LOGGER.info("HJ 212 registry: %d devices (%d new, %d removed)", len(registered),
                    added, removed)

    async def start(self) -> int:
        await asyncio.to_thread(self._sync)
        port = await self.receiver.start()
        self._tasks = [asyncio.create_task(self._sweeping()),
                       asyncio.create_task(self._reporting())]
        return port

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.receiver.stop()
        await asyncio.to_thread(self.writer.close)
        if self.follower is not None:
            await asyncio.to_thread(self.follower.close)
        self.conn.close()

    async def _sweeping(self) -> None:
        every = max(0.5, min(5.0, (self.rules.offline_minutes or 10) * 60 / 4))
        while True:
            await asyncio.sleep(every)
            try:
                await asyncio.to_thread(self._sync)
                went = await self.handler.sweep()
                if went:
                    LOGGER.info("HJ 212: %d devices went offline", went)
            except Exception:  # noqa: BLE001 - the sweep must outlive a bad moment
                LOGGER.exception("HJ 212: the offline sweep failed")

    async def _reporting(self) -> None:
        while True:
            await asyncio.sleep(REPORT_S)
            s = self.receiver.stats
            LOGGER.info("HJ 212: %d open connections, %d frames, %d stored, %d refused, "
                        "%d malformed, %d alarms opened, %d commits", s.open, s.frames,
                        s.stored, s.refused, s.malformed, self.handler.alarms_opened,
                        self.writer.commits)


def stamp_now() -> str:
    return stamp(datetime.now(UTC))


def run(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve until SIGINT or SIGTERM."""
    async def main() -> None:
        service = Service(settings, host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        port_ = await service.start()
        print(f"HJ 212 receiver on {service.receiver.host}:{port_} "
              f"({len(service.registry)} registered devices)", flush=True)
        await stop.wait()
        await service.stop()

    asyncio.run(main())
