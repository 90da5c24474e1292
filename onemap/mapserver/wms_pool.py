"""A pool of MapServer worker processes (:mod:`onemap.mapserver.mapserv_worker`).

MapServer's map objects, error stack and GDAL handles are not meant to be shared between
threads, and Debian's mapscript links a GDAL/PROJ other than the one rasterio brings into the
server's process; so MapServer runs in processes of its own, under Debian's Python, each
answering one request at a time. The pool starts them with the server (FastAPI's lifespan) and
stops them with it; a worker that overruns ``wms_timeout`` or dies is killed and replaced, so a
slow request costs one worker for that long, never the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

LOGGER = logging.getLogger(__name__)
WORKER = Path(__file__).with_name("mapserv_worker.py")
CHUNK = 64 * 1024


class Unavailable(RuntimeError):
    """MapServer cannot run here (no python3-mapscript) or did not answer in time."""


@dataclass
class Answer:
    status: int
    content_type: str
    length: int


class Worker:
    """One ``mapserv_worker.py`` process and its pipes."""

    def __init__(self, python: str) -> None:
        self.python = python
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            self.python, str(WORKER), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            limit=1024 * 1024)
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        if b"ready" not in line:
            await self.kill()
            raise Unavailable("the MapServer worker did not start (is python3-mapscript "
                              "installed? `make apt`)")

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        self.proc = None


class Pool:
    """``size`` workers; :meth:`request` waits for a free one."""

    def __init__(self, size: int, timeout: float, python: str = "/usr/bin/python3") -> None:
        self.size, self.timeout, self.python = size, timeout, python
        self._free: asyncio.Queue[Worker] | None = None
        self._all: list[Worker] = []
        self._restarts: set[asyncio.Task] = set()

    @property
    def available(self) -> bool:
        return shutil.which(self.python) is not None

    async def start(self) -> None:
        self._free = asyncio.Queue()
        for _ in range(self.size):
            worker = Worker(self.python)
            try:
                await worker.start()
            except (OSError, Unavailable, TimeoutError) as exc:
                LOGGER.warning("WMS/WFS off: %s", exc)
                await self.stop()
                return
            self._all.append(worker)
            self._free.put_nowait(worker)
        LOGGER.info("MapServer: %d worker processes (%s)", self.size, self.python)

    async def stop(self) -> None:
        for task in list(self._restarts):
            task.cancel()
        for worker in self._all:
            await worker.kill()
        self._all.clear()
        self._free = None

    async def _replace(self, worker: Worker) -> None:
        """Kill ``worker`` and start it again (its request overran, or it died)."""
        await worker.kill()
        try:
            await worker.start()
        except (OSError, Unavailable, TimeoutError) as exc:
            LOGGER.error("MapServer worker could not be restarted: %s", exc)
            self._all.remove(worker)
            return
        if self._free is not None:
            self._free.put_nowait(worker)

    async def request(self, payload: dict) -> tuple[Answer, AsyncIterator[bytes]]:
        """Send ``payload`` to a free worker; the answer's head and its body in chunks. The
        worker is busy until the body is read whole (or given back killed if not)."""
        if self._free is None or not self._all:
            raise Unavailable("MapServer is not running on this server (python3-mapscript "
                              "missing: `make apt`)")
        try:
            worker = await asyncio.wait_for(self._free.get(), self.timeout)
        except TimeoutError:
            raise Unavailable("every MapServer worker stayed busy: try again") from None
        proc = worker.proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps(payload).encode("utf-8") + b"\n")
            await proc.stdin.drain()
            head = json.loads(await asyncio.wait_for(proc.stdout.readline(), self.timeout))
            answer = Answer(int(head["status"]), str(head["content_type"]), int(head["length"]))
        except (TimeoutError, OSError, ValueError, KeyError) as exc:
            LOGGER.warning("MapServer worker failed (%s): restarting it", type(exc).__name__)
            self._restart(worker)
            raise Unavailable("MapServer did not answer in time") from exc
        except asyncio.CancelledError:  # the request went away mid-exchange
            self._restart(worker)
            raise
        return answer, self._body(worker, answer.length)

    async def _body(self, worker: Worker, length: int) -> AsyncIterator[bytes]:
        proc = worker.proc
        assert proc is not None and proc.stdout is not None
        left, whole = length, False
        try:
            while left > 0:
                chunk = await asyncio.wait_for(proc.stdout.read(min(CHUNK, left)),
                                               self.timeout)
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk
            whole = left == 0
        finally:
            if whole and self._free is not None:
                self._free.put_nowait(worker)
            else:  # the client left mid-answer, or the worker died: its pipe is out of step
                self._restart(worker)

    def _restart(self, worker: Worker) -> None:
        """Replace ``worker`` in a task of its own: this may run in a request being cancelled
        (the client went away), where any await would be cancelled too and the pool would
        lose the worker."""
        if worker.proc is not None and worker.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                worker.proc.kill()
        task = asyncio.get_running_loop().create_task(self._replace(worker))
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)
