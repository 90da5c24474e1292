"""Start the real OneMap server (``python -m onemap serve``) on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from onemap.live.companions import stop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, timeout: float = 120, port: int | None = None,
                 args: tuple[str, ...] = (), **env: str) -> tuple[subprocess.Popen, str]:
    """Start a server on ``data_dir`` and wait until it answers: (process, base URL). Its log is
    appended to ``data_dir/server.log``, shown if it dies before answering. ``port``: a given
    one (a restart where the last one listened), else a free one; ``args``: more of
    ``onemap serve``'s options (``--workers 2``)."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, "ONEMAP_DATA_DIR": str(data_dir), "ONEMAP_PORT": str(port),
                "ONEMAP_PUBLIC_URL": base, **env}
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "onemap", "serve", *args], env=full_env,
                                stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError("server exited:\n" + log_path.read_text())
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except (requests.ConnectionError, requests.Timeout):  # still starting
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server did not answer within {timeout:.0f} s")
        time.sleep(0.3)


stop_server = stop  # SIGTERM, then SIGKILL after 15 s


def worker_pids(parent: int) -> set[int]:
    """The worker processes of ``onemap serve --workers N`` started as ``parent``: its children
    started by multiprocessing's spawn (not its resource tracker)."""
    out = set()
    for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        try:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmd and b"resource_tracker" not in cmd:
            out.add(int(child))
    return out


@contextmanager
def run_server(data_dir: Path, timeout: float = 120, **env: str) -> Iterator[str]:
    """The base URL of a server on ``data_dir`` (extra ``ONEMAP_*`` settings in ``env``)."""
    proc, base = start_server(data_dir, timeout, **env)
    try:
        yield base
    finally:
        stop_server(proc)


@contextmanager
def run_receiver(data_dir: Path, **env: str) -> Iterator[int]:
    """The port of ``onemap hj212`` running on ``data_dir`` (its log in
    ``data_dir/hj212.log``), stopped with SIGTERM at the end."""
    port = free_port()
    full_env = {**os.environ, "ONEMAP_DATA_DIR": str(data_dir), "ONEMAP_HJ212_PORT": str(port),
                **env}
    log_path = data_dir / "hj212.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "onemap", "hj212"], env=full_env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while b"HJ 212 receiver on" not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("receiver did not start:\n" + log_path.read_text())
            time.sleep(0.2)
        yield port
    finally:
        stop_server(proc)


def sample_copy(sample_dir: Path, parent: Path) -> Path:
    """A copy of the sample's data dir in ``parent`` (without its server log and runtime
    files): a server of its own for a test that writes (edits, photos, users)."""
    import shutil

    data = parent / "data"
    shutil.copytree(sample_dir, data, ignore=shutil.ignore_patterns("server.log", "runtime"))
    return data
