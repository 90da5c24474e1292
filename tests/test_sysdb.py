"""The system database upgrades a table an older OneMap made: new columns are added."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from onemap import sysdb
from onemap.config import Settings


def test_old_jobs_table_gets_the_owner_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    old = sa.create_engine(url)
    with old.begin() as conn:  # the jobs table as it was before owners
        conn.execute(sa.text(
            "CREATE TABLE jobs (id VARCHAR(64) PRIMARY KEY, kind VARCHAR(16) NOT NULL, "
            "name VARCHAR(128) NOT NULL, status VARCHAR(16) NOT NULL, message TEXT NOT NULL, "
            "progress INTEGER NOT NULL, created VARCHAR(40) NOT NULL, started VARCHAR(40), "
            "updated VARCHAR(40), finished VARCHAR(40), worker VARCHAR(200), "
            "cancel BOOLEAN NOT NULL, location TEXT, mimetype VARCHAR(200), "
            "extra TEXT NOT NULL)"))
        conn.execute(sa.text(
            "INSERT INTO jobs VALUES ('j1', 'upload', 'x', 'successful', '', 100, 't', NULL, "
            "NULL, NULL, NULL, 0, NULL, NULL, '{}')"))
    old.dispose()
    eng = sysdb.engine(Settings(data_dir=tmp_path, system_db=url))
    with eng.connect() as conn:
        row = conn.execute(sa.select(sysdb.JOBS).where(sysdb.JOBS.c.id == "j1")).mappings().one()
    assert (row["owner"], row["owner_roles"], row["owner_region"]) == ("", "", None)
