"""The audit trail: who did what, when, from where, and how it ended — tamper-evident.

等保 2.0 level 3 asks that security-relevant events be recorded, protected and reviewable. Each
record is one row of the system database's ``audit`` table (see :mod:`onemap.sysdb`) and
carries ``prev_hash`` (the previous record's hash) and ``hash``, the SHA-256 of its canonical
form (:func:`canonical`: every column but ``hash``, as sorted compact JSON). Changing,
removing or inserting a row breaks the chain at that row, and :func:`verify` names it; the
head row (``audit_head``) keeps the last id and hash, so cutting the tail shows too. Someone
who may rewrite the whole database can recompute the chain: an admin who notes the head hash
``onemap audit verify`` prints (on paper, in a ticket) can later check it is still there
(``--expect``).

Appending serializes on the head row: the first statement of every append is an UPDATE of
it, which takes SQLite's write lock (the same as ``BEGIN IMMEDIATE``: nobody else may write
until commit, and no read happens before the lock, so two appenders never both read the same
last hash) and a row lock on PostgreSQL. That is portable SQLAlchemy Core with no dialect
branch, holds across threads and processes, and a batch of records shares one commit.

Actions recorded (the HTTP middleware names them from the route, see mapserver.auditing):
login, login_failed, logout, key_create, key_revoke, user_create, user_change, user_remove,
rule_change, alarm_change, device_change, upload, import, remove, write (any other
state-changing request), process_run, job_cancel, read_internal, audit_read, audit_rotate.
``outcome`` is ok, denied (401/403) or failed (any other error); ``detail`` is strict JSON.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from onemap import catalog, sysdb
from onemap.access.principal import Principal
from onemap.config import Settings

Outcome = Literal["ok", "denied", "failed"]
OUTCOMES: tuple[str, ...] = ("ok", "denied", "failed")
#: The ``prev_hash`` of the first record ever written.
GENESIS = "0" * 64
#: The columns of a record, in table order.
FIELDS = ("id", "time", "user", "via", "key", "roles", "region", "address", "action",
          "target", "method", "path", "status", "outcome", "detail", "prev_hash", "hash")
#: Longest ``target`` and ``path`` kept (a URL may be long; the record stays readable).
MAX_TEXT = 300

_READY: set[str] = set()
_READY_LOCK = threading.Lock()


class AuditError(ValueError):
    """A query the audit cannot answer (a bad time, outcome or limit), named in the message."""


def outcome_of(status: int) -> Outcome:
    """ok below 400; denied for 401 and 403; failed for any other error."""
    if status < 400:
        return "ok"
    return "denied" if status in (401, 403) else "failed"


def event(principal: Principal, action: str, *, target: str = "", method: str = "",
          path: str = "", status: int = 0, outcome: str | None = None, address: str = "",
          detail: dict[str, Any] | None = None, user: str | None = None,
          via: str | None = None, time: str | None = None) -> dict[str, Any]:
    """A record to append (without id and hashes) for what ``principal`` did. ``user`` and
    ``via`` override the principal's (a login names the account tried, not anonymous)."""
    if outcome is not None and outcome not in OUTCOMES:
        raise AuditError(f"unknown outcome {outcome!r}: one of {', '.join(OUTCOMES)}")
    return {
        "time": time or sysdb.now(),
        "user": principal.user if user is None else user,
        "via": principal.via if via is None else via,
        "key": principal.key or "",
        "roles": ",".join(sorted(principal.roles)),
        "region": principal.region or "",
        "address": address,
        "action": action,
        "target": target[:MAX_TEXT],
        "method": method,
        "path": path[:MAX_TEXT],
        "status": int(status),
        "outcome": outcome or outcome_of(status or 200),
        "detail": strict_detail(detail or {}),
    }


def strict_detail(detail: dict[str, Any]) -> str:
    """``detail`` as the strict, compact JSON text a record stores (a NaN becomes null, an
    object that JSON lacks its ``str``: a record is never refused for its detail)."""
    return json.dumps(catalog.finite(detail), ensure_ascii=False, allow_nan=False,
                      sort_keys=True, separators=(",", ":"), default=str)


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes a record's hash covers: every field but ``hash``, sorted compact JSON."""
    body = {k: record[k] for k in FIELDS if k != "hash"}
    body["id"], body["status"] = int(body["id"]), int(body["status"])
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def digest(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


def _ready(settings: Settings) -> None:
    """Make sure the head row exists (once per process and database)."""
    url = settings.system_db_url
    with _READY_LOCK:
        if url in _READY:
            return
    eng = sysdb.engine(settings)
    h = sysdb.AUDIT_HEAD
    try:
        with eng.begin() as conn:
            if conn.execute(select(h.c.id).where(h.c.id == 1)).first() is None:
                conn.execute(insert(h).values(id=1, last_id=0, last_hash=GENESIS, anchor_id=0,
                                              anchor_hash=GENESIS, appends=0))
    except IntegrityError:
        pass  # another process made it first
    with _READY_LOCK:
        _READY.add(url)


def lock_head(conn: Connection) -> dict[str, Any]:
    """Lock the chain's head for this transaction and return it (the first statement of
    every transaction that appends or archives: see the module docstring)."""
    h = sysdb.AUDIT_HEAD
    conn.execute(update(h).where(h.c.id == 1).values(appends=h.c.appends + 1))
    return dict(conn.execute(select(h).where(h.c.id == 1)).mappings().one())


def append(settings: Settings, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Append ``events`` (from :func:`event`) in one transaction; the stored records."""
    events = list(events)
    if not events:
        return []
    _ready(settings)
    out = []
    with sysdb.engine(settings).begin() as conn:
        head = lock_head(conn)
        last_id, last_hash = head["last_id"], head["last_hash"]
        for ev in events:
            rec = {**ev, "id": last_id + 1, "prev_hash": last_hash}
            rec["detail"] = strict_detail(json.loads(rec["detail"]))
            rec["hash"] = digest(rec)
            out.append(rec)
            last_id, last_hash = rec["id"], rec["hash"]
        conn.execute(insert(sysdb.AUDIT), out)
        h = sysdb.AUDIT_HEAD
        conn.execute(update(h).where(h.c.id == 1).values(last_id=last_id, last_hash=last_hash))
    return out


def record(settings: Settings, principal: Principal, action: str, **fields: Any
           ) -> dict[str, Any]:
    """Append one record at once (for the CLI and other callers outside HTTP)."""
    return append(settings, [event(principal, action, **fields)])[0]


def head(settings: Settings) -> dict[str, Any]:
    """The chain's head: last_id, last_hash, anchor_id, anchor_hash."""
    _ready(settings)
    h = sysdb.AUDIT_HEAD
    with sysdb.engine(settings).connect() as conn:
        return dict(conn.execute(select(h).where(h.c.id == 1)).mappings().one())


@dataclass(frozen=True)
class Verdict:
    """What :func:`verify` found: ``ok``, the records checked, the last good id and hash; when
    broken, the first bad record's id (``broken_id``) and why."""

    ok: bool
    count: int
    last_id: int
    last_hash: str
    broken_id: int | None = None
    reason: str = ""


def check_chain(records: Iterable[dict[str, Any]], anchor_id: int, anchor_hash: str,
                expect: str | None = None) -> Verdict:
    """Walk ``records`` (in id order) from the anchor; the first record that does not follow
    (wrong id, wrong prev_hash, wrong hash) breaks it. ``expect``: a hash noted earlier that
    must be the anchor's or one record's."""
    count, last_id, last_hash = 0, anchor_id, anchor_hash
    seen = expect is None or expect == anchor_hash
    for rec in records:
        if rec["id"] != last_id + 1:
            return Verdict(False, count, last_id, last_hash, rec["id"],
                           f"record {last_id + 1} is missing (next is {rec['id']})")
        if rec["prev_hash"] != last_hash:
            return Verdict(False, count, last_id, last_hash, rec["id"],
                           "prev_hash does not match the previous record's hash")
        if digest(rec) != rec["hash"]:
            return Verdict(False, count, last_id, last_hash, rec["id"],
                           "hash does not match the record (it was changed)")
        count, last_id, last_hash = count + 1, rec["id"], rec["hash"]
        seen = seen or last_hash == expect
    if not seen:
        return Verdict(False, count, last_id, last_hash, None,
                       f"the expected hash {expect} is not in the chain")
    return Verdict(True, count, last_id, last_hash)


def _rows(settings: Settings, after: int, upto: int, chunk: int = 2000
          ) -> Iterator[dict[str, Any]]:
    t = sysdb.AUDIT
    eng = sysdb.engine(settings)
    while True:
        with eng.connect() as conn:
            rows = conn.execute(select(t).where((t.c.id > after) & (t.c.id <= upto))
                                .order_by(t.c.id).limit(chunk)).mappings().all()
        for row in rows:
            yield dict(row)
        if len(rows) < chunk:
            return
        after = rows[-1]["id"]


def verify(settings: Settings, expect: str | None = None) -> Verdict:
    """Check the whole chain in the database, from its anchor to its head."""
    top = head(settings)
    verdict = check_chain(_rows(settings, top["anchor_id"] - 1, top["last_id"]),
                          top["anchor_id"], top["anchor_hash"], expect)
    if verdict.ok and (verdict.last_id, verdict.last_hash) != (top["last_id"],
                                                               top["last_hash"]):
        return Verdict(False, verdict.count, verdict.last_id, verdict.last_hash,
                       verdict.last_id + 1, f"the head names record {top['last_id']}: the "
                       "records after the last good one are missing or changed")
    return verdict


def parse_time(text: str) -> str:
    """An ISO 8601 date or time as the audit stores it (UTC, µs); naive times are UTC."""
    try:
        when = datetime.fromisoformat(text.strip())
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.astimezone(UTC).isoformat(timespec="microseconds")
    except (ValueError, OverflowError):  # OverflowError: year 1 at +14:00
        raise AuditError(f"invalid time {text!r}: ISO 8601, e.g. 2026-05-01 or "
                         "2026-05-01T08:00:00+08:00") from None


def query(settings: Settings, *, user: str | None = None, action: str | None = None,
          outcome: str | None = None, since: str | None = None, until: str | None = None,
          before: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Records matching every given filter, newest (highest id) first; ``before`` an id to
    continue a page from; ``since``/``until`` ISO times (until exclusive)."""
    if not 1 <= limit <= 10000:
        raise AuditError(f"limit must be 1–10000, got {limit}")
    if outcome is not None and outcome not in OUTCOMES:
        raise AuditError(f"unknown outcome {outcome!r}: one of {', '.join(OUTCOMES)}")
    t = sysdb.AUDIT
    q = select(t).order_by(t.c.id.desc()).limit(limit)
    if user is not None:
        q = q.where(t.c.user == user)
    if action is not None:
        q = q.where(t.c.action == action)
    if outcome is not None:
        q = q.where(t.c.outcome == outcome)
    if since:
        q = q.where(t.c.time >= parse_time(since))
    if until:
        q = q.where(t.c.time < parse_time(until))
    if before is not None:
        q = q.where(t.c.id < before)
    with sysdb.engine(settings).connect() as conn:
        rows = conn.execute(q).mappings().all()
    return [dict(r) for r in rows]


def readable(rec: dict[str, Any]) -> dict[str, Any]:
    """A record for people and the admin API: ``detail`` parsed, roles as a list."""
    return {**rec, "detail": json.loads(rec["detail"]),
            "roles": [r for r in rec["roles"].split(",") if r]}
