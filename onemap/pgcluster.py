"""A local PostgreSQL 15 + PostGIS 3 cluster for OneMap, made and started idempotently.

``make postgis`` (``onemap postgis``) runs :func:`ensure`: a cluster in ``<data dir>/postgres``
listening on 127.0.0.1 only, run by the ``postgres`` system user when we are root (PostgreSQL
refuses to run as root) and by ourselves otherwise — no system service, no systemd, Debian's own
cluster on 5432 left alone — with a database that has the PostGIS extension. It prints the URL
to put in ``ONEMAP_DATABASE_URL``. Running it again finds the cluster made, starts it if it is
down, and makes what is missing; nothing is ever dropped. Local connections are trusted (the
cluster listens on 127.0.0.1 only); a shared server is set up by its DBA and named by URL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")
DEFAULT_PORT = 5433


class ClusterError(RuntimeError):
    """The cluster could not be made or started (the message says which step and why)."""


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], step: str, owner: bool = True) -> str:
    try:
        done = subprocess.run(_as_owner(cmd) if owner else cmd, check=True,
                              capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise ClusterError(f"{step}: {exc.filename} is missing (apt-get install "
                           "postgresql-15 postgresql-15-postgis-3, or `make postgis`)") from exc
    except subprocess.CalledProcessError as exc:
        raise ClusterError(f"{step} failed: {(exc.stderr or exc.stdout).strip()}") from exc
    return done.stdout


def _psql(port: int, database: str, sql: str, step: str) -> str:
    return _run([str(BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                 "-d", database, "-v", "ON_ERROR_STOP=1", "-tAc", sql], step, owner=False)


#: Beyond PostgreSQL's defaults (sized for a small machine of 2005): room for building the
#: indexes of a 170-million-row series (``maintenance_work_mem``) and for loading it without a
#: checkpoint every few seconds (``max_wal_size``), a cache for the hot pages; no JIT (see
#: :func:`onemap.store.pg_pool._configure`).
TUNING = ("-c shared_buffers=512MB -c maintenance_work_mem=512MB -c max_wal_size=4GB "
          "-c checkpoint_timeout=15min -c effective_cache_size=8GB -c jit=off")


def running(folder: Path) -> bool:
    data = folder / "data"
    if not (data / "PG_VERSION").exists():
        return False
    return subprocess.run(_as_owner([str(BIN / "pg_ctl"), "-D", str(data), "status"]),
                          capture_output=True).returncode == 0


def ensure(folder: Path, port: int = DEFAULT_PORT, database: str = "onemap") -> str:
    """Make (if missing) and start (if down) the cluster in ``folder``, with ``database`` and
    PostGIS in it; return its URL (``postgresql://postgres@127.0.0.1:PORT/DATABASE``)."""
    if not (BIN / "initdb").exists():
        raise ClusterError(f"{BIN / 'initdb'} is missing: apt-get install postgresql-15 "
                           "postgresql-15-postgis-3 (or run `make postgis`)")
    if not Path("/usr/share/postgresql/15/extension/postgis.control").exists():
        raise ClusterError("PostGIS is missing: apt-get install postgresql-15-postgis-3 "
                           "(or run `make postgis`)")
    folder = folder.resolve()
    data, sockets = folder / "data", folder / "run"
    sockets.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
        if subprocess.run(_as_owner(["test", "-w", str(folder)])).returncode != 0:
            raise ClusterError(f"the postgres user cannot reach {folder}: a folder above it is "
                               "closed to other users (chmod o+x it, or pass --dir a folder "
                               "such as /var/lib/onemap-postgres)")
    if not (data / "PG_VERSION").exists():
        if data.exists() and any(data.iterdir()):
            raise ClusterError(f"{data} exists but holds no cluster: move it away first")
        _run([str(BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
              "-E", "UTF8", "--locale=C.UTF-8"], "initdb")
    if not running(folder):
        _run([str(BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "postgres.log"),
              "-o", f"-p {int(port)} -c listen_addresses=127.0.0.1 "
                    f"-c unix_socket_directories={sockets} {TUNING}", "start"],
             f"starting PostgreSQL on 127.0.0.1:{port} (log: {folder / 'postgres.log'})")
    exists = _psql(port, "postgres", "SELECT 1 FROM pg_database WHERE datname = "
                   f"'{database}'", "looking for the database").strip()
    if exists != "1":
        _run([str(BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
              database], f"creating database {database}", owner=False)
    _psql(port, database, "CREATE EXTENSION IF NOT EXISTS postgis", "adding PostGIS")
    return f"postgresql://postgres@127.0.0.1:{int(port)}/{database}"


def stop(folder: Path) -> None:
    """Stop the cluster in ``folder`` if it runs (its files stay)."""
    if running(folder):
        _run([str(BIN / "pg_ctl"), "-D", str(folder.resolve() / "data"), "-m", "fast", "-w",
              "stop"], "stopping PostgreSQL")
