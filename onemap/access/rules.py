"""Access rules stored by admins: read allowed or denied per role and dataset pattern.

The defaults of :mod:`onemap.access.policy` (public whole, internal to viewers) cover a bureau
that marks each dataset; rules cover the exceptions (publish one internal layer, withhold one
from viewers) without re-importing. A rule never grants a write. Rules are read from the
system database at most once a second per process, and at once after a change made here.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from onemap import sysdb
from onemap.access.principal import ROLES, Principal
from onemap.config import Settings

#: How long a process trusts its copy of the rules (seconds).
TTL = 1.0
PATTERN_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_*?")


@dataclass(frozen=True)
class Rule:
    id: int
    priority: int
    role: str
    dataset: str
    allow: bool
    created: str = ""
    created_by: str = ""

    def applies(self, principal: Principal, dataset_id: str) -> bool:
        if self.role == "anonymous":
            who = principal.anonymous
        else:
            who = self.role == "*" or principal.has(self.role)
        return who and fnmatch.fnmatchcase(dataset_id, self.dataset)


_CACHE: dict[str, tuple[float, list[Rule]]] = {}
_LOCK = threading.Lock()


def load(settings: Settings, fresh: bool = False) -> list[Rule]:
    """All rules by priority (then id), from the cache when it is younger than :data:`TTL`."""
    url = settings.system_db_url
    with _LOCK:
        hit = _CACHE.get(url)
    if hit and not fresh and time.monotonic() - hit[0] < TTL:
        return hit[1]
    t = sysdb.RULES
    with sysdb.engine(settings).connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.priority, t.c.id)).mappings().all()
    out = [Rule(**dict(r)) for r in rows]
    with _LOCK:
        _CACHE[url] = (time.monotonic(), out)
    return out


def decide(principal: Principal, dataset_id: str, settings: Settings) -> bool | None:
    """True (allowed), False (denied) by the first matching rule, or None (no rule)."""
    for rule in load(settings):
        if rule.applies(principal, dataset_id):
            return rule.allow
    return None


def add(settings: Settings, *, role: str, dataset: str, allow: bool, priority: int = 100,
        by: str = "") -> Rule:
    """Store a rule; ValueError names a bad role or pattern."""
    if role not in ("*", "anonymous", *ROLES):
        raise ValueError(f"unknown role {role!r}: one of *, anonymous, {', '.join(ROLES)}")
    if not dataset or len(dataset) > 128 or not set(dataset) <= PATTERN_CHARS:
        raise ValueError(f"invalid dataset pattern {dataset!r}: an id, or a glob of "
                         "lowercase letters, digits, '_', '*' and '?'")
    t = sysdb.RULES
    with sysdb.engine(settings).begin() as conn:
        new_id = conn.execute(insert(t).values(
            priority=int(priority), role=role, dataset=dataset, allow=bool(allow),
            created=sysdb.now(), created_by=by)).inserted_primary_key[0]
    load(settings, fresh=True)
    return next(r for r in load(settings) if r.id == new_id)


def remove(settings: Settings, rule_id: int) -> Rule:
    """Delete a rule; KeyError when there is none with this id."""
    t = sysdb.RULES
    with sysdb.engine(settings).begin() as conn:
        row = conn.execute(select(t).where(t.c.id == rule_id)).mappings().first()
        if row is None:
            raise KeyError(rule_id)
        conn.execute(delete(t).where(t.c.id == rule_id))
    load(settings, fresh=True)
    return Rule(**dict(row))
