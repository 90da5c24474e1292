"""A throwaway PostgreSQL server for the tests: Debian's postgresql-15 binaries, a new cluster
in a temporary folder, on a free 127.0.0.1 port, as the ``postgres`` system user (PostgreSQL
refuses to run as root). Debian's own cluster on 5432 is left alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.server import free_port

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
