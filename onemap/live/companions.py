"""The live side started beside the web server for a demo: ``onemap serve --live`` runs
``onemap hj212`` and, with ``--simulate``, ``onemap simulate hj212`` driving the sample's
devices, as child processes of their own (each can also run alone, as a bureau runs them:
the receiver as a service, the simulator not at all). They stop when the server stops.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

from onemap.config import Settings

LOGGER = logging.getLogger(__name__)


def _listening(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def companions(settings: Settings, simulate: bool = True) -> Iterator[None]:
    """The receiver (unless one already listens on the configured port) and the simulator,
    for as long as the block runs."""
    host = "127.0.0.1" if settings.hj212_host in ("0.0.0.0", "") else settings.hj212_host
    env = {**os.environ, "ONEMAP_DATA_DIR": str(settings.data_dir)}
    started: list[subprocess.Popen] = []
    try:
        if _listening(host, settings.hj212_port):
            LOGGER.info("an HJ 212 receiver already listens on %s:%d", host,
                        settings.hj212_port)
        else:
            started.append(subprocess.Popen([sys.executable, "-m", "onemap", "hj212"],
                                            env=env))
            deadline = time.monotonic() + 60
            while not _listening(host, settings.hj212_port):
                if started[0].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("onemap hj212 did not start; see its log above")
                time.sleep(0.3)
        if simulate:
            started.append(subprocess.Popen(
                [sys.executable, "-m", "onemap", "simulate", "hj212", "--host", host,
                 "--port", str(settings.hj212_port)], env=env))
        yield
    finally:
        for proc in reversed(started):
            stop(proc)
