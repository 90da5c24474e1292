"""``onemap postgis`` (``make postgis``): a local PostgreSQL + PostGIS cluster made, started and
found again without harm, its URL the one ``ONEMAP_DATABASE_URL`` takes; the system tables follow
that URL."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from onemap import pgcluster, sysdb
from onemap.config import Settings
from tests.server import free_port


def _postgis(folder: Path, port: int, *more: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "onemap", "postgis", "--dir", str(folder),
                           "--port", str(port), *more], capture_output=True, text=True,
                          timeout=180)


@pytest.fixture()
def where() -> Iterator[Path]:
    """A folder the postgres user can reach (pytest's own tmp folders are closed to others)."""
    folder = Path(tempfile.mkdtemp(prefix="onemap-pgcluster-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_made_once_found_again_and_stopped(where: Path, tmp_path: Path) -> None:
    folder, port = where / "pg", free_port()
    try:
        first = _postgis(folder, port)
        assert first.returncode == 0, first.stderr
        url = f"postgresql://postgres@127.0.0.1:{port}/onemap"
        assert f"ONEMAP_DATABASE_URL={url}" in first.stdout
        settings = Settings(data_dir=tmp_path / "data", database_url=url)
        assert settings.system_db_url.startswith("postgresql+psycopg://")
        with sysdb.engine(settings).connect() as conn:  # the system tables go there too
            assert conn.execute(text("SELECT postgis_version()")).scalar().startswith("3.")
            assert "jobs" in set(conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
            conn.execute(text("CREATE TABLE kept (n int)"))
            conn.execute(text("INSERT INTO kept VALUES (42)"))
            conn.commit()
        # again while it runs, and again after a stop: the same cluster, nothing lost
        assert _postgis(folder, port).returncode == 0
        assert _postgis(folder, port, "--stop").returncode == 0
        assert not pgcluster.running(folder)
        again = _postgis(folder, port)
        assert again.returncode == 0, again.stderr
        out = pgcluster._psql(port, "onemap", "SELECT n FROM kept", "reading")
        assert out.strip() == "42"
    finally:
        pgcluster.stop(folder)


def test_a_folder_that_holds_something_else_is_refused(where: Path) -> None:
    folder = where / "pg"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "notes.txt").write_text("not a cluster")
    done = _postgis(folder, free_port())
    assert done.returncode == 1
    assert "holds no cluster" in done.stderr and "Traceback" not in done.stderr
    assert (folder / "data" / "notes.txt").exists()


@pytest.mark.parametrize("url", ["postgresql://u:p@db:5432/onemap",
                                 "postgres://u@db/onemap"])
def test_the_database_url_names_the_system_database(url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=url)
    assert settings.system_db_url == "postgresql+psycopg://" + url.split("://", 1)[1]
    named = Settings(data_dir=tmp_path, database_url=url, system_db="sqlite:///x.db")
    assert named.system_db_url == "sqlite:///x.db"
