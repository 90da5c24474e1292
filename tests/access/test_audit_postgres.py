"""The audit chain on PostgreSQL: the same code as on SQLite (only ``ONEMAP_SYSTEM_DB``
changes); concurrent appenders — threads and processes — serialize on the head row."""
from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from onemap import sysdb
from onemap.access import audit, audit_archive
from onemap.config import Settings
from tests.access.test_audit import VIEWER, _append_in_process
from tests.postgres import running_postgres


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    data = tmp_path_factory.mktemp("pg-audit")
    with running_postgres("audit") as url:
        yield Settings(data_dir=data, system_db=url)


def test_concurrent_threads_and_processes_on_postgres(pg: Settings) -> None:
    with sysdb.engine(pg).connect() as conn:
        assert conn.dialect.name == "postgresql"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_in_process,
                         args=(pg.system_db_url, str(pg.data_dir), 30, f"p{n}"))
             for n in range(2)]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                audit.append(pg, [audit.event(VIEWER, "read_internal", target=f"t{n}-{i}-{j}")
                                  for j in range(3)])
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for p in procs:
        p.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert not errors
    verdict = audit.verify(pg)
    assert verdict.ok and verdict.count == 2 * 30 + 6 * 20 * 3


def test_rotation_and_tampering_on_postgres(pg: Settings) -> None:
    before = audit.head(pg)["last_id"]
    old = (datetime.now(UTC) + timedelta(days=-400)).isoformat(timespec="microseconds")
    audit.append(pg, [audit.event(VIEWER, "write", time=old)])
    # everything so far is older than a day from now+2 days: the whole chain is archived
    done = audit_archive.rotate(pg, days=1, now=datetime.now(UTC) + timedelta(days=2))
    assert done.count == before + 1 and audit_archive.verify_archive(done.path).ok
    recs = audit.append(pg, [audit.event(VIEWER, "write", target=str(i)) for i in range(3)])
    assert recs[0]["prev_hash"] == audit.head(pg)["anchor_hash"]
    assert audit.verify(pg).ok and audit.verify(pg).count == 3
    with sysdb.engine(pg).begin() as conn:
        conn.exec_driver_sql(f"UPDATE audit SET status = 500 WHERE id = {recs[1]['id']}")
    verdict = audit.verify(pg)
    assert not verdict.ok and verdict.broken_id == recs[1]["id"]
