"""Accounts and API keys in the system database: create, find, check, disable, revoke.

Passwords are hashed with argon2id (argon2-cffi's defaults) and checked against a policy;
repeated failures lock the account for a while. API keys are random 256-bit secrets shown once
(``om_<id>_<secret>``); only their SHA-256 is stored, which is safe for a secret no one chose
and cheap enough to check on every request a GIS client makes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update

from onemap import sysdb
from onemap.access import regions
from onemap.access.principal import ROLES, Principal, Via, make
from onemap.config import Settings

USER_NAME = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")
KEY_PATTERN = re.compile(r"^om_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")
KEY_NAME = re.compile(r"^[\w .:@()-]{1,100}$")
_HASHER = PasswordHasher()
#: A hash to verify against when the user does not exist, so that "no such user" and "wrong
#: password" take the same time.
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))


#: How long a checked API key is taken on trust without asking the database again (seconds).
#: A GIS client sends its key with every tile; a change made in this process (revoke, disable,
#: grant) forgets every checked key at once, another server process notices within this time.
KEY_TRUST_S = 2.0
_CHECKED: dict[tuple[str, str], tuple[float, dict]] = {}
_CHECKED_LOCK = threading.Lock()


def forget_checked_keys() -> None:
    """Make the next request of every API key ask the database (after any account change)."""
    with _CHECKED_LOCK:
        _CHECKED.clear()


class AccountError(ValueError):
    """A request about accounts that cannot be done (named in the message)."""


class AccountExists(AccountError):
    """The name is taken (409)."""


class NoSuchAccount(AccountError):
    """No such user or live key (404)."""


class LoginFailed(PermissionError):
    """Wrong name or secret, a disabled or locked account: the message says which only to the
    audit (``reason``), never to the caller."""

    def __init__(self, reason: str, user: str = "") -> None:
        super().__init__("wrong user name or password")
        self.reason = reason
        self.user = user


@dataclass(frozen=True)
class User:
    name: str
    display: str
    roles: tuple[str, ...]
    region: str | None
    disabled: bool
    has_password: bool
    locked_until: str | None
    created: str
    #: "local", or "oidc" for an account kept by single sign-on.
    source: str = "local"

    def principal(self, via: Via, key: str | None = None) -> Principal:
        return make(self.name, set(self.roles), self.region, via=via, key=key)


@dataclass(frozen=True)
class Key:
    id: str
    user: str
    name: str
    created: str
    last_used: str | None
    revoked: str | None


def _user(row: dict) -> User:
    return User(name=row["name"], display=row["display"] or "",
                roles=tuple(r for r in (row["roles"] or "").split(",") if r),
                region=row["region"], disabled=bool(row["disabled"]),
                has_password=bool(row["password"]), locked_until=row["locked_until"],
                created=row["created"], source=row.get("source") or "local")


def check_roles(roles: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise AccountError(f"unknown role {bad[0]!r}: one of {', '.join(ROLES)}")
    return tuple(dict.fromkeys(roles))


def check_region(code: str | None, settings: Settings) -> str | None:
    """A region the boundaries layer knows (or None)."""
    if not code:
        return None
    try:
        regions.check_code(code)
    except regions.UnknownRegion as exc:
        raise AccountError(str(exc)) from None
    known = regions.known(settings)
    if known and code not in known:
        raise AccountError(f"unknown region {code!r}: not in the admin boundaries "
                           f"(known: {', '.join(sorted(known))})")
    return code


def check_password(password: str, settings: Settings, user: str = "") -> None:
    """The password policy: long enough, three of four character classes, not the name."""
    n = settings.password_min_length
    if len(password) < n:
        raise AccountError(f"password too short: at least {n} characters")
    classes = sum(bool(re.search(p, password))
                  for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    if classes < 3:
        raise AccountError("password too simple: use three of lowercase, uppercase, digits "
                           "and other characters")
    if user and user.lower() in password.lower():
        raise AccountError("password must not contain the user name")


def get(settings: Settings, name: str) -> User | None:
    t = sysdb.USERS
    with sysdb.engine(settings).connect() as conn:
        row = conn.execute(select(t).where(t.c.name == name)).mappings().first()
    return _user(dict(row)) if row else None


def users(settings: Settings) -> list[User]:
    t = sysdb.USERS
    with sysdb.engine(settings).connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.name)).mappings().all()
    return [_user(dict(r)) for r in rows]


def add(settings: Settings, name: str, *, roles: list[str] | tuple[str, ...] = ("viewer",),
        region: str | None = None, password: str | None = None, display: str = "",
        source: str = "local") -> User:
    """A new account; AccountError for a taken or invalid name, role, region or password."""
    if not USER_NAME.fullmatch(name):
        raise AccountError(f"invalid user name {name!r}: 2–64 lowercase letters, digits, "
                           "'_', '.', '-', starting with a letter")
    roles = check_roles(list(roles))
    region = check_region(region, settings)
    if password is not None:
        check_password(password, settings, name)
    t = sysdb.USERS
    with sysdb.engine(settings).begin() as conn:
        if conn.execute(select(t.c.name).where(t.c.name == name)).first():
            raise AccountExists(f"user {name!r} exists already")
        conn.execute(insert(t).values(
            name=name, display=display, roles=",".join(roles), region=region,
            password=_HASHER.hash(password) if password is not None else None,
            disabled=False, failures=0, created=sysdb.now(), source=source,
            password_changed=sysdb.now() if password is not None else None))
    return get(settings, name)  # type: ignore[return-value]


def change(settings: Settings, name: str, *, roles: list[str] | None = None,
           region: str | None | bool = False, disabled: bool | None = None,
           password: str | None = None, display: str | None = None) -> User:
    """Change an account (``region=None`` unbinds it; the default False leaves it).

    Disabling the account or setting its password ends its web sessions: whoever held one
    (perhaps the reason for the change) must log in again."""
    if get(settings, name) is None:
        raise NoSuchAccount(f"no user {name!r}")
    values: dict = {}
    if roles is not None:
        values["roles"] = ",".join(check_roles(roles))
    if region is not False:
        values["region"] = check_region(region or None, settings)  # type: ignore[arg-type]
    if disabled is not None:
        values["disabled"] = disabled
    if display is not None:
        values["display"] = display
    if password is not None:
        check_password(password, settings, name)
        values.update(password=_HASHER.hash(password), password_changed=sysdb.now(),
                      failures=0, locked_until=None)
    if values:
        t = sysdb.USERS
        with sysdb.engine(settings).begin() as conn:
            conn.execute(update(t).where(t.c.name == name).values(**values))
            if disabled or password is not None:
                conn.execute(delete(sysdb.SESSIONS).where(sysdb.SESSIONS.c.user == name))
        forget_checked_keys()
    return get(settings, name)  # type: ignore[return-value]


def login(settings: Settings, name: str, password: str) -> User:
    """The user whose password this is; LoginFailed otherwise (counted toward the lockout).

    After ``lockout_attempts`` failures in a row the account refuses every password, the
    right one included, for ``lockout_minutes``."""
    t = sysdb.USERS
    now = datetime.now(UTC)
    failed: LoginFailed | None = None
    with sysdb.engine(settings).begin() as conn:  # a failure is counted: commit, then raise
        row = conn.execute(select(t).where(t.c.name == name)).mappings().first()
        if row is None or not row["password"]:
            _verify(_DUMMY, password)
            failed = LoginFailed("no such user" if row is None else "no password set", name)
        elif row["disabled"]:
            failed = LoginFailed("account disabled", name)
        elif row["locked_until"] and datetime.fromisoformat(row["locked_until"]) > now:
            failed = LoginFailed(f"account locked until {row['locked_until']}", name)
        elif not _verify(row["password"], password):
            # counted in the database, not from the row read above: failures arriving at once
            # are each counted (a read-then-write would lose some)
            failures = conn.execute(update(t).where(t.c.name == name)
                                    .values(failures=t.c.failures + 1)
                                    .returning(t.c.failures)).scalar_one()
            locked = None
            if failures >= settings.lockout_attempts:
                locked = (now + timedelta(minutes=settings.lockout_minutes)).isoformat()
                conn.execute(update(t).where(t.c.name == name)
                             .values(failures=0, locked_until=locked))
            failed = LoginFailed("wrong password" + (", account locked" if locked else ""), name)
        else:
            values: dict = {"failures": 0, "locked_until": None}
            if _HASHER.check_needs_rehash(row["password"]):
                values["password"] = _HASHER.hash(password)
            conn.execute(update(t).where(t.c.name == name).values(**values))
    if failed is not None:
        raise failed
    return _user({**dict(row), **values})


def _verify(digest: str, password: str) -> bool:
    try:
        return _HASHER.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(settings: Settings, user: str, name: str) -> tuple[Key, str]:
    """A new API key for ``user``: (its record, the key itself — shown once, never stored)."""
    if get(settings, user) is None:
        raise NoSuchAccount(f"no user {user!r}")
    if not KEY_NAME.fullmatch(name):
        raise AccountError(f"invalid key name {name!r}: 1–100 letters, digits, spaces or .:@()-")
    key_id = secrets.token_hex(6)
    secret = f"om_{key_id}_{secrets.token_urlsafe(32)}"
    t = sysdb.KEYS
    with sysdb.engine(settings).begin() as conn:
        conn.execute(insert(t).values(id=key_id, user=user, name=name, digest=_digest(secret),
                                      created=sysdb.now()))
    return Key(key_id, user, name, sysdb.now(), None, None), secret


def keys(settings: Settings, user: str | None = None) -> list[Key]:
    t = sysdb.KEYS
    q = select(t).order_by(t.c.user, t.c.created)
    if user is not None:
        q = q.where(t.c.user == user)
    with sysdb.engine(settings).connect() as conn:
        rows = conn.execute(q).mappings().all()
    return [Key(r["id"], r["user"], r["name"], r["created"], r["last_used"], r["revoked"])
            for r in rows]


def revoke_key(settings: Settings, key_id: str, user: str | None = None) -> Key:
    """Revoke a key (of ``user``, when given); AccountError when there is no such live key."""
    t = sysdb.KEYS
    q = t.c.id == key_id
    if user is not None:
        q = q & (t.c.user == user)
    with sysdb.engine(settings).begin() as conn:
        if conn.execute(update(t).where(q & t.c.revoked.is_(None))
                        .values(revoked=sysdb.now())).rowcount != 1:
            raise NoSuchAccount(f"no live key {key_id!r}")
    forget_checked_keys()
    return next(k for k in keys(settings) if k.id == key_id)


def _key_row(settings: Settings, key_id: str, digest: str) -> dict | None:
    """The key ``key_id`` joined with its owner: one query, or none when this very secret was
    checked less than :data:`KEY_TRUST_S` ago (what was read is checked again either way)."""
    cache_key, now = (settings.system_db_url, digest), time.monotonic()
    with _CHECKED_LOCK:
        hit = _CHECKED.get(cache_key)
    if hit is not None and hit[0] > now:
        return hit[1]
    t, u = sysdb.KEYS, sysdb.USERS
    with sysdb.engine(settings).connect() as conn:
        found = conn.execute(select(t, *[c.label(f"u_{c.name}") for c in u.c])
                             .join(u, u.c.name == t.c.user)
                             .where(t.c.id == key_id)).mappings().first()
    row = dict(found) if found is not None else None
    if row is not None and hmac.compare_digest(row["digest"], digest):
        with _CHECKED_LOCK:
            if len(_CHECKED) > 10_000:
                _CHECKED.clear()
            _CHECKED[cache_key] = (now + KEY_TRUST_S, row)
    return row


def check_key(settings: Settings, secret: str, user: str | None = None) -> tuple[User, Key]:
    """The live key ``secret`` names and its enabled owner (who must be ``user`` when given,
    as with HTTP Basic); LoginFailed otherwise."""
    m = KEY_PATTERN.fullmatch(secret)
    if not m:
        raise LoginFailed("not an API key", user or "")
    digest = _digest(secret)
    row = _key_row(settings, m.group(1), digest)
    if row is None or not hmac.compare_digest(row["digest"], digest):
        raise LoginFailed("unknown API key", user or "")
    if row["revoked"]:
        raise LoginFailed(f"revoked API key {row['name']!r}", row["user"])
    if user is not None and user != row["user"]:
        raise LoginFailed("API key of another user", user)
    if row["u_disabled"]:
        raise LoginFailed("account disabled", row["user"])
    owner = _user({c.name: row[f"u_{c.name}"] for c in sysdb.USERS.c})
    return owner, Key(row["id"], row["user"], row["name"], row["created"], row["last_used"],
                      row["revoked"])
