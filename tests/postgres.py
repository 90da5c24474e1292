"""A throwaway PostgreSQL server for the tests: Debian's postgresql-15 binaries, a new cluster
in a temporary folder, on a free 127.0.0.1 port, as the ``postgres`` system user (PostgreSQL
refuses to run as root). Debian's own cluster on 5432 is left alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from onemap.config import Settings
from tests.server import free_port, run_server

BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(cmd: list[str]) -> list[str]:
    return cmd if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *cmd]


@contextmanager
def running_postgres(database: str = "onemap", postgis: bool = False) -> Iterator[str]:
    """A SQLAlchemy URL (psycopg 3) of a fresh database on a server started for the caller
    (with the PostGIS extension when ``postgis``)."""
    folder = Path(tempfile.mkdtemp(prefix="onemap-pg-"))
    data, sockets = folder / "data", folder / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
    port = free_port()
    subprocess.run(_as_postgres([str(BIN / "initdb"), "-D", str(data), "-U", "postgres",
                                 "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([
        str(BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"),
        "-o", f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={sockets} "
              "-c fsync=off", "start"]), check=True, capture_output=True)
    try:
        subprocess.run([str(BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                        "-U", "postgres", database], check=True, capture_output=True)
        if postgis:
            subprocess.run([str(BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U",
                            "postgres", "-d", database, "-c", "CREATE EXTENSION postgis"],
                           check=True, capture_output=True)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run(_as_postgres([str(BIN / "pg_ctl"), "-D", str(data), "-m", "fast",
                                     "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Pg:
    """A OneMap server whose store is PostGIS: its base URL, database URL and settings."""

    base: str
    url: str
    settings: Settings


@contextmanager
def postgis_server(data: Path, system_db: str) -> Iterator[Pg]:
    """A server on the data dir ``data`` (a copy: the server changes it) with
    ``ONEMAP_DATABASE_URL`` set to a fresh PostGIS database, once it holds every layer and
    series (the server loads them in the background, answering from the files meanwhile).
    ``system_db``: the system tables stay where the callers' keys are."""
    from onemap.store import pending, pg_pool

    with running_postgres("onemap", postgis=True) as sa_url:
        url = "postgresql://" + sa_url.split("://", 1)[1]
        with run_server(data, 240, ONEMAP_DATABASE_URL=url, ONEMAP_SYSTEM_DB=system_db) as base:
            settings = Settings(data_dir=data, database_url=url, system_db=system_db)
            deadline = time.monotonic() + 240
            while pending(settings) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert not pending(settings), pending(settings)
            yield Pg(base, url, settings)
        pg_pool.close_all()
