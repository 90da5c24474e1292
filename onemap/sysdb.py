"""The system database: OneMap's own records, beside the data it serves.

Jobs (upload conversions and process runs) live here so that they survive a restart and so that
what a client polls is what a worker wrote, not the memory of one process; users, API keys,
access rules and the audit trail are here too. SQLAlchemy Core keeps the SQL portable: the
default is one SQLite file in the data dir (``ONEMAP_SYSTEM_DB``), and a PostgreSQL URL replaces
it without a code change.

One engine per URL and process: SQLite in WAL mode with a busy timeout, so readers never wait
for a writer and two writers queue instead of failing.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    text,
)

from onemap.config import Settings

METADATA = MetaData()

#: One row per background job. ``kind`` is "upload" (``name`` = the dataset id being made) or
#: "process" (``name`` = the process id). ``worker`` is "host:pid" of the process running it, so
#: a restart can tell an interrupted job from one another process still runs; ``cancel`` is
#: the client's request to stop, read by the worker between steps.
JOBS = Table(
    "jobs", METADATA,
    Column("id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("progress", Integer, nullable=False, default=0),
    Column("created", String(40), nullable=False),
    Column("started", String(40)),
    Column("updated", String(40)),
    Column("finished", String(40)),
    Column("worker", String(200)),
    Column("cancel", Boolean, nullable=False, default=False),
    Column("location", Text),
    Column("mimetype", String(200)),
    #: Anything else a job record carries (pygeoapi's fields), as strict JSON.
    Column("extra", Text, nullable=False, default="{}"),
    #: Who started the job ("" anonymous), with the roles (comma-separated, expanded) and
    #: region they had: the job and its results are theirs (onemap.access.policy.job_visible),
    #: and a queued job runs as them, in whichever thread or process picks it up.
    Column("owner", String(64), nullable=False, default="", index=True),
    Column("owner_roles", String(200), nullable=False, default=""),
    Column("owner_region", String(6)),
)

#: Access rules stored by admins (GeoFence-like): whether principals with ``role`` ("*" any,
#: "anonymous", or a role name) may read datasets matching ``dataset`` (an id or a glob such
#: as ``pollution_*``). The lowest ``priority`` that matches decides; no match, the defaults
#: of onemap.access.policy.
RULES = Table(
    "rules", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("priority", Integer, nullable=False),
    Column("role", String(32), nullable=False),
    Column("dataset", String(128), nullable=False),
    Column("allow", Boolean, nullable=False),
    Column("created", String(40), nullable=False),
    Column("created_by", String(128), nullable=False, default=""),
)

#: People and service accounts. ``roles`` is a comma-separated list of role names; ``region``
#: an adcode or NULL (the whole territory); ``password`` an argon2 hash or NULL (key-only or
#: single sign-on accounts); ``failures``/``locked_until`` the lockout after failed logins.
USERS = Table(
    "users", METADATA,
    Column("name", String(64), primary_key=True),
    Column("display", String(200), nullable=False, default=""),
    Column("roles", String(200), nullable=False, default=""),
    Column("region", String(6)),
    Column("password", Text),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("locked_until", String(40)),
    Column("password_changed", String(40)),
    Column("created", String(40), nullable=False),
    #: "local" (made here) or "oidc" (made and kept in step by single sign-on logins).
    Column("source", String(16), nullable=False, default="local"),
)

#: API keys: ``om_<id>_<secret>`` is shown once; ``id`` finds the row, the SHA-256 of the whole
#: key (256 random bits: no dictionary to try) is what is kept.
KEYS = Table(
    "api_keys", METADATA,
    Column("id", String(16), primary_key=True),
    Column("user", String(64), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created", String(40), nullable=False),
    Column("last_used", String(40)),
    Column("revoked", String(40)),
)

#: The audit trail (onemap.access.audit): append-only, one row per audited event. ``id`` is
#: the chain's order (contiguous: a gap is a deleted record); ``hash`` the SHA-256 of the
#: canonical record including ``prev_hash``, the previous record's hash.
AUDIT = Table(
    "audit", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("time", String(40), nullable=False, index=True),
    Column("user", String(64), nullable=False, default="", index=True),
    Column("via", String(16), nullable=False, default=""),
    Column("key", String(100), nullable=False, default=""),
    Column("roles", String(200), nullable=False, default=""),
    Column("region", String(6), nullable=False, default=""),
    Column("address", String(64), nullable=False, default=""),
    Column("action", String(32), nullable=False, index=True),
    Column("target", String(300), nullable=False, default=""),
    Column("method", String(10), nullable=False, default=""),
    Column("path", Text, nullable=False, default=""),
    Column("status", Integer, nullable=False, default=0),
    Column("outcome", String(8), nullable=False),
    Column("detail", Text, nullable=False, default="{}"),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

#: The audit chain's head, one row (``id`` 1): the last record's id and hash, and the anchor
#: (the last archived record's id and hash, or 0 and the genesis hash) that the first record
#: in the table follows. Appenders lock this row first (an UPDATE), which serializes them on
#: SQLite and PostgreSQL alike; its last id and hash also reveal a truncated tail.
AUDIT_HEAD = Table(
    "audit_head", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_id", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("anchor_id", Integer, nullable=False),
    Column("anchor_hash", String(64), nullable=False),
    Column("appends", Integer, nullable=False, default=0),
)

#: Single sign-on logins under way: the state sent to the identity provider, with the nonce
#: and PKCE verifier that only this server knows, for ten minutes.
OIDC_PENDING = Table(
    "oidc_pending", METADATA,
    Column("state", String(64), primary_key=True),
    Column("nonce", String(64), nullable=False),
    Column("verifier", String(128), nullable=False),
    Column("next", Text, nullable=False, default="/"),
    Column("created", String(40), nullable=False),
)

#: Web sessions: ``id`` is the SHA-256 of the cookie's random token (a stolen database opens no
#: session); ``csrf`` the token every state-changing request of the session must echo in a
#: header; ``via`` how the person logged in ("session" for a password, "oidc" for single
#: sign-on), ``source`` the address they logged in from (for the audit and the admin).
SESSIONS = Table(
    "sessions", METADATA,
    Column("id", String(64), primary_key=True),
    Column("user", String(64), nullable=False, index=True),
    Column("via", String(16), nullable=False, default="session"),
    Column("csrf", String(64), nullable=False),
    Column("created", String(40), nullable=False),
    Column("last_seen", String(40), nullable=False),
    Column("source", String(64), nullable=False, default=""),
)

#: HJ 212 devices with a password of their own (``onemap hj212 password``); any other
#: registered device uses ``ONEMAP_HJ212_PASSWORD``. The salted SHA-256 of the password.
DEVICES = Table(
    "hj212_devices", METADATA,
    Column("mn", String(32), primary_key=True),
    Column("salt", String(32), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("updated", String(40), nullable=False),
    Column("updated_by", String(64), nullable=False, default=""),
)

_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")  # a job's final state survives a power cut
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def engine(settings: Settings) -> Engine:
    """The process's engine for ``settings``' system database; tables created on first use."""
    url = settings.system_db_url
    with _LOCK:
        eng = _ENGINES.get(url)
        if eng is None:
            if url.startswith("sqlite"):
                settings.data_dir.mkdir(parents=True, exist_ok=True)
                eng = create_engine(url, connect_args={"timeout": 30,
                                                       "check_same_thread": False})
                event.listen(eng, "connect", _sqlite_pragmas)
            else:
                eng = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                                    pool_recycle=1800)
            METADATA.create_all(eng)
            _add_columns(eng)
            _ENGINES[url] = eng
        return eng


def _add_columns(eng: Engine) -> None:
    """Columns a newer OneMap added to a table an older one created (``create_all`` makes
    missing tables only): added with their default, so an upgraded server starts on its old
    system database. Only nullable columns or columns with a scalar default can be added."""
    names = inspect(eng).get_table_names()
    with eng.begin() as conn:
        for table in METADATA.sorted_tables:
            if table.name not in names:
                continue
            have = {c["name"] for c in inspect(conn).get_columns(table.name)}
            for col in table.columns:
                if col.name in have:
                    continue
                kind = col.type.compile(dialect=eng.dialect)
                default = col.default.arg if col.default is not None else None
                tail = "" if col.nullable else " NOT NULL"
                if default is not None:
                    tail += f" DEFAULT {_literal(default)}"
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{col.name}" '
                                  f"{kind}{tail}"))


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def now() -> str:
    """An ISO time with microseconds (jobs are ordered by it)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def dumps(value: Any) -> str:
    """Strict JSON (no NaN/Infinity) for the ``extra`` column."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, default=str)


def interrupted(how: str, status: str, progress: int) -> str:
    """The message of a job that a shutdown or a crash interrupted (same words for both)."""
    where = ("while it was queued" if status == "accepted"
             else f"while this job was running (at {progress} %)")
    return f"interrupted: the server {how} {where}; nothing of it was kept — run it again"
