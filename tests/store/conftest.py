"""The PostGIS server the modules of tests/store change (their own copy of the sample: the
read-only comparisons of tests/mapserver use the session's, ``pg_server``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from onemap.config import Settings
from tests.conftest import Caller
from tests.postgres import Pg, postgis_server
from tests.server import sample_copy

__all__ = ["Pg"]


@pytest.fixture(scope="session")
def pg(sample_settings: Settings, callers: dict[str, Caller],
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pg]:
    data = sample_copy(sample_settings.data_dir, tmp_path_factory.mktemp("postgis"))
    with postgis_server(data, sample_settings.system_db_url) as server:
        yield server
