"""The PostGIS server every module of tests/store asks (one per session: its start loads the
sample's layers and series by COPY)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from onemap.config import Settings
from onemap.store import pending, pg_pool
from tests.conftest import Caller
from tests.postgres import running_postgres
from tests.server import run_server, sample_copy


@dataclass(frozen=True)
class Pg:
    base: str
    url: str
    settings: Settings


@pytest.fixture(scope="session")
def pg(sample_settings: Settings, callers: dict[str, Caller],
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pg]:
    data = sample_copy(sample_settings.data_dir, tmp_path_factory.mktemp("postgis"))
    with running_postgres("onemap", postgis=True) as sa_url:
        url = "postgresql://" + sa_url.split("://", 1)[1]
        # the system tables stay in the copied SQLite file (the callers' keys are there)
        with run_server(data, 240, ONEMAP_DATABASE_URL=url,
                        ONEMAP_SYSTEM_DB=sample_settings.system_db_url) as base:
            settings = Settings(data_dir=data, database_url=url,
                                system_db=sample_settings.system_db_url)
            # the server answers at once (from the files) while it loads PostGIS
            deadline = time.monotonic() + 240
            while pending(settings) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert not pending(settings), pending(settings)
            yield Pg(base, url, settings)
        pg_pool.close_all()


