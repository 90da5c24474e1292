"""Retention of the audit trail: old records move to archive files that verify on their own.

A bureau keeps audit records for a set time (等保 asks at least six months) but the system
database should not grow forever. :func:`rotate` moves the oldest records — the longest
prefix of the chain older than ``ONEMAP_AUDIT_RETENTION_DAYS`` — into one strict-JSON-lines
file in ``ONEMAP_DATA_DIR/audit/`` and deletes them from the table. The chain stays
verifiable: the file's header names its anchor (the hash the first archived record follows)
and its last hash; the head row's new anchor is that last hash, which the first record left
in the table follows. So the archives and the table verify one after another, each alone too
(:func:`verify_archive`).

The file is written to a temporary name, synced and renamed before any row is deleted, in
the same transaction that holds the chain's head lock (no append or second rotation runs in
between). A part of the chain that does not verify is not archived: the rows stay as
evidence and :class:`~onemap.access.audit.AuditError` says where it breaks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from onemap import sysdb
from onemap.access import audit
from onemap.config import Settings

MAGIC = "onemap-audit-archive"


@dataclass(frozen=True)
class Rotation:
    """What :func:`rotate` did: the archive written (None: nothing was old enough), how many
    records it holds, and the chain's new anchor."""

    path: Path | None
    count: int
    anchor_id: int


def _chunks(conn: Connection, after: int, upto: int, size: int = 2000
            ) -> Iterator[dict[str, Any]]:
    t = sysdb.AUDIT
    while after < upto:
        rows = conn.execute(select(t).where((t.c.id > after) & (t.c.id <= upto))
                            .order_by(t.c.id).limit(size)).mappings().all()
        if not rows:
            return
        for row in rows:
            yield dict(row)
        after = rows[-1]["id"]


def rotate(settings: Settings, days: int | None = None, now: datetime | None = None
           ) -> Rotation:
    """Archive the records older than ``days`` (default ``settings.audit_retention_days``;
    0 archives nothing) and delete them from the database."""
    days = settings.audit_retention_days if days is None else days
    audit.head(settings)  # the head row exists
    if days <= 0:
        return Rotation(None, 0, audit.head(settings)["anchor_id"])
    cutoff = ((now or datetime.now(UTC)) - timedelta(days=days)).isoformat(
        timespec="microseconds")
    t, h = sysdb.AUDIT, sysdb.AUDIT_HEAD
    with sysdb.engine(settings).begin() as conn:
        top = audit.lock_head(conn)
        young = conn.execute(select(func.min(t.c.id)).where(
            (t.c.time >= cutoff) & (t.c.id <= top["last_id"]))).scalar()
        upto = top["last_id"] if young is None else young - 1
        if upto <= top["anchor_id"]:
            return Rotation(None, 0, top["anchor_id"])
        verdict = audit.check_chain(_chunks(conn, top["anchor_id"], upto),
                                    top["anchor_id"], top["anchor_hash"])
        if not verdict.ok:
            raise audit.AuditError(f"the audit chain is broken at record {verdict.broken_id} "
                                   f"({verdict.reason}): nothing archived")
        path = _write(settings, conn, top, verdict)
        conn.execute(delete(t).where(t.c.id <= upto))
        conn.execute(update(h).where(h.c.id == 1).values(anchor_id=verdict.last_id,
                                                          anchor_hash=verdict.last_hash))
    return Rotation(path, verdict.count, verdict.last_id)


def _write(settings: Settings, conn: Connection, top: dict[str, Any],
           verdict: audit.Verdict) -> Path:
    """The archive of records anchor+1 … verdict.last_id: temp file, fsync, rename."""
    settings.audit_dir.mkdir(parents=True, exist_ok=True)
    first = top["anchor_id"] + 1
    path = settings.audit_dir / f"audit-{first:012d}-{verdict.last_id:012d}.jsonl"
    tmp = path.with_name(f".{path.name}.tmp")
    header = {"format": MAGIC, "version": 1, "anchor_id": top["anchor_id"],
              "anchor_hash": top["anchor_hash"], "first_id": first,
              "last_id": verdict.last_id, "last_hash": verdict.last_hash,
              "count": verdict.count, "created": sysdb.now()}
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(json.dumps(header, ensure_ascii=False, allow_nan=False) + "\n")
        for rec in _chunks(conn, top["anchor_id"], verdict.last_id):
            out.write(json.dumps(rec, ensure_ascii=False, allow_nan=False,
                                 separators=(",", ":")) + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    _sync_dir(path.parent)
    return path


def _sync_dir(directory: Path) -> None:
    """Make a rename durable (POSIX: fsync the directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as src:
        next(src)
        for n, line in enumerate(src, start=2):
            try:
                yield json.loads(line, parse_constant=_no_constant)
            except ValueError as exc:
                raise audit.AuditError(f"{path.name} line {n}: not strict JSON ({exc})") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def verify_archive(path: Path, expect: str | None = None) -> audit.Verdict:
    """Check an archive file on its own: its records chain from the header's anchor to the
    header's last hash."""
    with open(path, encoding="utf-8") as src:
        try:
            header = json.loads(src.readline())
        except ValueError:
            header = {}
    if not isinstance(header, dict) or header.get("format") != MAGIC:
        raise audit.AuditError(f"{path} is not an OneMap audit archive")
    verdict = audit.check_chain(_lines(path), header["anchor_id"], header["anchor_hash"], expect)
    if verdict.ok and (verdict.last_id, verdict.last_hash) != (header["last_id"],
                                                               header["last_hash"]):
        return audit.Verdict(False, verdict.count, verdict.last_id, verdict.last_hash,
                             verdict.last_id + 1, f"the header names record "
                             f"{header['last_id']}: records after the last good one are "
                             "missing or changed")
    return verdict
