"""Web sessions: a browser that logged in carries a random token in an HttpOnly cookie.

The server keeps one row per session (:data:`onemap.sysdb.SESSIONS`) under the SHA-256 of the
token, so the system database alone opens nothing. A session ends at logout (its row is
deleted), after ``ONEMAP_SESSION_IDLE_MINUTES`` without a request, ``ONEMAP_SESSION_MAX_HOURS``
after the login, and when its user is disabled or changes password (accounts.change deletes
the user's rows). The user's roles and region are read with the session on every request, so a
grant takes effect at the next request, not the next login.

Each session has a CSRF token: a state-changing request that the cookie authenticates must
echo it in the ``X-CSRF-Token`` header (checked once, in mapserver.auth). The token is also
sent in a second, script-readable cookie (``onemap_csrf``) so the page's scripts and Dash's
renderer can add the header; another site's page can neither read that cookie nor set the
header.

A session is made by :func:`start` for a user already proven (a password here, an OpenID
Connect login later: ``via="oidc"``), whatever proved it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.cookies import CookieError, SimpleCookie

from sqlalchemy import delete, insert, select, update

from onemap import sysdb
from onemap.access.principal import Principal, Via, make
from onemap.config import Settings

COOKIE = "onemap_session"
CSRF_COOKIE = "onemap_csrf"
CSRF_HEADER = "X-CSRF-Token"
#: last_seen is written at most this often per session: a page load makes dozens of tile
#: requests, and idle timeouts are counted in minutes.
TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class Session:
    """One live session: its row (``id`` is the token's digest) and who it is now."""

    id: str
    user: str
    via: str
    csrf: str
    created: str
    last_seen: str
    source: str
    principal: Principal

    def csrf_ok(self, sent: str | None) -> bool:
        """Whether ``sent`` (the request's X-CSRF-Token) is this session's token."""
        return bool(sent) and hmac.compare_digest(self.csrf.encode(), str(sent).encode())


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def secure(settings: Settings) -> bool:
    """Cookies are Secure when the server is reached over https (ONEMAP_PUBLIC_URL)."""
    return settings.public_url.lower().startswith("https://")


def token_of(cookie_header: str) -> str | None:
    """The session token in a ``Cookie`` header (None when absent or unparseable)."""
    if COOKIE not in cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def start(settings: Settings, user: str, source: str = "", via: Via = "session"
          ) -> tuple[str, Session]:
    """A new session for ``user`` (already proven): (the cookie's token, shown to nobody
    else, and the session)."""
    token = secrets.token_urlsafe(32)
    now = sysdb.now()
    row = {"id": digest(token), "user": user, "via": via, "csrf": secrets.token_urlsafe(32),
           "created": now, "last_seen": now, "source": source[:64]}
    with sysdb.engine(settings).begin() as conn:
        conn.execute(insert(sysdb.SESSIONS).values(**row))
    found = resolve(settings, token)
    if found is None:  # the user was disabled in between
        raise LookupError(f"no session for {user!r}")
    return token, found


def _expired(row: dict, settings: Settings, now: datetime) -> bool:
    created = datetime.fromisoformat(row["created"])
    seen = datetime.fromisoformat(row["last_seen"])
    return (now - seen > timedelta(minutes=settings.session_idle_minutes)
            or now - created > timedelta(hours=settings.session_max_hours))


def resolve(settings: Settings, token: str) -> Session | None:
    """The live session of ``token`` with its user's current roles and region; None when it
    is unknown, timed out (its row is then deleted) or its user disabled."""
    s, u = sysdb.SESSIONS, sysdb.USERS
    sid = digest(token)
    with sysdb.engine(settings).connect() as conn:
        row = conn.execute(select(s, u.c.roles, u.c.region, u.c.disabled)
                           .join(u, u.c.name == s.c.user).where(s.c.id == sid)
                           ).mappings().first()
    if row is None:
        return None
    now = datetime.now(UTC)
    if row["disabled"] or _expired(dict(row), settings, now):
        end(settings, token)
        return None
    last_seen = row["last_seen"]
    if now - datetime.fromisoformat(last_seen) > TOUCH_EVERY:
        last_seen = now.isoformat(timespec="microseconds")
        with sysdb.engine(settings).begin() as conn:
            conn.execute(update(s).where(s.c.id == sid).values(last_seen=last_seen))
    roles = [r for r in (row["roles"] or "").split(",") if r]
    principal = make(row["user"], roles, row["region"], via=row["via"])
    return Session(id=sid, user=row["user"], via=row["via"], csrf=row["csrf"],
                   created=row["created"], last_seen=last_seen, source=row["source"],
                   principal=principal)


def end(settings: Settings, token: str) -> bool:
    """Log out: delete the session of ``token``; whether there was one."""
    with sysdb.engine(settings).begin() as conn:
        return conn.execute(delete(sysdb.SESSIONS)
                            .where(sysdb.SESSIONS.c.id == digest(token))).rowcount > 0


def end_user(settings: Settings, user: str) -> int:
    """End every session of ``user``; how many there were."""
    with sysdb.engine(settings).begin() as conn:
        return conn.execute(delete(sysdb.SESSIONS)
                            .where(sysdb.SESSIONS.c.user == user)).rowcount


def sessions(settings: Settings, user: str | None = None) -> list[dict]:
    """Rows of the live sessions (no token, no CSRF), oldest first, for admins."""
    s = sysdb.SESSIONS
    q = select(s.c.user, s.c.via, s.c.created, s.c.last_seen, s.c.source).order_by(s.c.created)
    if user is not None:
        q = q.where(s.c.user == user)
    with sysdb.engine(settings).connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings().all()]


def purge(settings: Settings) -> int:
    """Delete the rows of sessions that timed out (at server start); how many."""
    s = sysdb.SESSIONS
    now = datetime.now(UTC)
    idle = (now - timedelta(minutes=settings.session_idle_minutes)).isoformat(
        timespec="microseconds")
    old = (now - timedelta(hours=settings.session_max_hours)).isoformat(timespec="microseconds")
    with sysdb.engine(settings).begin() as conn:
        return conn.execute(delete(s).where((s.c.last_seen < idle) | (s.c.created < old))
                            ).rowcount
