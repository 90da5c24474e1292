"""The audit chain on a real system database: appends, tampering, concurrency, rotation, the
background writer, and the policy's note of internal reads."""
from __future__ import annotations

import json
import multiprocessing
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from onemap import catalog, sysdb
from onemap.access import audit, audit_archive, audit_queue, context, policy
from onemap.access.principal import ANONYMOUS, SYSTEM, make
from onemap.config import Settings

VIEWER = make("vera", {"viewer"}, "340181", via="key", key="QGIS")


@pytest.fixture()
def settings(sample_settings: Settings, tmp_path) -> Settings:
    """The sample's catalogue with a system database and audit dir of this test's own."""
    return Settings(data_dir=sample_settings.data_dir, system_db=f"sqlite:///{tmp_path}/s.db")


def _fill(settings: Settings, n: int) -> list[dict]:
    return audit.append(settings, [audit.event(VIEWER, "write", target=f"t{i}", method="POST",
                                               path=f"/api/x/{i}", status=201,
                                               address="10.0.0.7", detail={"i": i})
                                   for i in range(n)])


def test_records_chain_and_verify(settings: Settings) -> None:
    assert audit.verify(settings).ok and audit.verify(settings).count == 0
    recs = _fill(settings, 5)
    assert [r["id"] for r in recs] == [1, 2, 3, 4, 5]
    assert recs[0]["prev_hash"] == audit.GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(recs, recs[1:], strict=False))
    got = audit.query(settings, limit=10)
    assert [r["id"] for r in got] == [5, 4, 3, 2, 1]
    first = got[-1]
    assert (first["user"], first["via"], first["key"], first["region"], first["address"]) == (
        "vera", "key", "QGIS", "340181", "10.0.0.7")
    assert first["roles"] == "viewer" and first["outcome"] == "ok"
    assert json.loads(first["detail"]) == {"i": 0}
    assert first["time"].endswith("+00:00") and len(first["time"].split(".")[1]) == 12
    verdict = audit.verify(settings)
    assert (verdict.ok, verdict.count, verdict.last_id) == (True, 5, 5)
    assert verdict.last_hash == recs[-1]["hash"] == audit.head(settings)["last_hash"]
    assert audit.verify(settings, expect=recs[2]["hash"]).ok
    assert not audit.verify(settings, expect="f" * 64).ok


@pytest.mark.parametrize("tamper, reason", [
    ("UPDATE audit SET status = 200 WHERE id = 3", "changed"),
    ("UPDATE audit SET detail = '{\"i\":99}' WHERE id = 3", "changed"),
    ("DELETE FROM audit WHERE id = 3", "missing"),
    ("UPDATE audit SET hash = 'x' WHERE id = 3", "changed"),
])
def test_tampered_row_is_named(settings: Settings, tamper: str, reason: str) -> None:
    _fill(settings, 6)
    with sysdb.engine(settings).begin() as conn:
        conn.exec_driver_sql(tamper)
    verdict = audit.verify(settings)
    assert not verdict.ok and verdict.broken_id in (3, 4) and reason in verdict.reason
    assert verdict.last_id == 2


def test_cut_tail_is_seen(settings: Settings) -> None:
    _fill(settings, 4)
    with sysdb.engine(settings).begin() as conn:
        conn.execute(text("DELETE FROM audit WHERE id = 4"))
    verdict = audit.verify(settings)
    assert not verdict.ok and verdict.broken_id == 4 and "missing" in verdict.reason


def test_concurrent_appends_keep_the_chain(settings: Settings) -> None:
    """Eight threads, each with its own connections, append 25 single records and 5 batches;
    the chain has every record once, in one unbroken order."""
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                audit.record(settings, VIEWER, "write", target=f"{n}-{i}")
            for i in range(5):
                audit.append(settings, [audit.event(ANONYMOUS, "read_internal",
                                                    target=f"{n}-b{i}-{j}") for j in range(4)])
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    verdict = audit.verify(settings)
    assert verdict.ok and verdict.count == 8 * (25 + 20)
    targets = [r["target"] for r in audit.query(settings, limit=10000)]
    assert len(set(targets)) == len(targets) == 8 * 45


def _append_in_process(url: str, data_dir: str, n: int, tag: str) -> None:
    settings = Settings(data_dir=Path(data_dir), system_db=url)
    for i in range(n):
        audit.record(settings, VIEWER, "write", target=f"{tag}-{i}")


def test_concurrent_processes_keep_the_chain(settings: Settings) -> None:
    """Three processes (as a server and two CLI commands would) append at once."""
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_in_process,
                         args=(settings.system_db_url, str(settings.data_dir), 40, f"p{n}"))
             for n in range(3)]
    for p in procs:
        p.start()
    for i in range(40):
        audit.record(settings, VIEWER, "write", target=f"main-{i}")
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    verdict = audit.verify(settings)
    assert verdict.ok and verdict.count == 160


def test_query_filters(settings: Settings) -> None:
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="microseconds")
    audit.append(settings, [audit.event(VIEWER, "login", time=old),
                            audit.event(ANONYMOUS, "login_failed", user="mallory",
                                        via="session", status=401),
                            audit.event(SYSTEM, "audit_rotate")])
    assert [r["user"] for r in audit.query(settings, outcome="denied")] == ["mallory"]
    assert [r["action"] for r in audit.query(settings, user="vera")] == ["login"]
    day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert {r["action"] for r in audit.query(settings, since=day)} == {"login_failed",
                                                                        "audit_rotate"}
    assert [r["action"] for r in audit.query(settings, until=day)] == ["login"]
    assert [r["id"] for r in audit.query(settings, limit=1, before=3)] == [2]
    for bad in ({"since": "yesterday"}, {"since": "0001-01-01T00:00:00+14:00"},
                {"outcome": "maybe"}, {"limit": 0}):
        with pytest.raises(audit.AuditError):
            audit.query(settings, **bad)


def test_rotation_archives_a_verifiable_prefix(settings: Settings) -> None:
    now = datetime.now(UTC)
    times = [(now - timedelta(days=d)).isoformat(timespec="microseconds")
             for d in (40, 35, 31, 2, 1)]
    recs = audit.append(settings, [audit.event(VIEWER, "write", target=str(i), time=t)
                                   for i, t in enumerate(times)])
    assert audit_archive.rotate(settings, days=0).path is None
    done = audit_archive.rotate(settings, days=30)
    assert done.count == 3 and done.anchor_id == 3 and done.path is not None
    assert done.path.parent == settings.audit_dir
    assert not list(settings.audit_dir.glob(".*.tmp"))
    lines = done.path.read_text().splitlines()
    assert json.loads(lines[0])["last_hash"] == recs[2]["hash"] and len(lines) == 4
    assert audit_archive.verify_archive(done.path).ok
    assert [r["id"] for r in audit.query(settings)] == [5, 4]
    verdict = audit.verify(settings)
    assert verdict.ok and verdict.count == 2 and verdict.last_hash == recs[-1]["hash"]
    assert audit_archive.rotate(settings, days=30).count == 0
    # an appended record follows the table's chain, not the archive's
    audit.record(settings, SYSTEM, "audit_rotate")
    assert audit.verify(settings).ok
    # an edited archive line is named
    edited = lines[2].replace('"target":"1"', '"target":"9"')
    done.path.write_text("\n".join([lines[0], lines[1], edited, lines[3]]) + "\n")
    broken = audit_archive.verify_archive(done.path)
    assert not broken.ok and broken.broken_id == 2


def test_rotation_keeps_a_broken_chain_as_evidence(settings: Settings) -> None:
    old = (datetime.now(UTC) - timedelta(days=90)).isoformat(timespec="microseconds")
    audit.append(settings, [audit.event(VIEWER, "write", time=old) for _ in range(3)])
    with sysdb.engine(settings).begin() as conn:
        conn.execute(text("UPDATE audit SET user = 'eve' WHERE id = 2"))
    with pytest.raises(audit.AuditError, match="broken at record 2"):
        audit_archive.rotate(settings, days=30)
    assert len(audit.query(settings)) == 3


def test_background_writer_batches_and_flushes(settings: Settings) -> None:
    w = audit_queue.Writer(settings, max_queued=50)
    try:
        for i in range(120):  # more than the queue holds: put() waits for room
            if not w.submit(audit.event(VIEWER, "read_internal", target=str(i))):
                w.put(audit.event(VIEWER, "read_internal", target=str(i)))
        w.flush()
        assert len(audit.query(settings, action="read_internal", limit=500)) == 120
    finally:
        w.close()
    assert not w.thread.is_alive()
    assert audit.verify(settings).count == 120


def test_policy_read_notes_internal_reads(settings: Settings) -> None:
    """policy.read notes an internal dataset it grants (once per request), not a public one,
    and not one it hides."""
    entries = catalog.load(settings)
    internal = entries["pollution_sources"]
    assert internal.access == "internal" and entries["air_stations"].access == "public"
    viewer = make("vera", {"viewer"})
    context.note_read("nobody collects this")  # outside a request: nothing to note into
    reads = context.collect_reads()
    policy.read(viewer, internal, settings)
    policy.read(viewer, internal, settings)
    policy.read(viewer, entries["air_stations"], settings)
    with pytest.raises(policy.Hidden):
        policy.read(ANONYMOUS, entries["incidents"], settings)
    assert reads == {"pollution_sources"}
