"""The first admin: a fresh install must be administrable without editing a database.

When the system database has no user at all, the server creates ``admin`` with the password of
``ONEMAP_ADMIN_PASSWORD`` or, when it is unset, a generated one that is printed once to the
server's log (``make run`` then works with no configuration; the admin changes it in the app or
with ``onemap users password admin``). Once any user exists nothing happens, so deleting the
variable later changes nothing and a leaked log line is only as good as the admin's diligence.
"""

from __future__ import annotations

import secrets
import string

from sqlalchemy import func, select

from onemap import sysdb
from onemap.access import accounts
from onemap.config import Settings

ADMIN = "admin"


def generate_password(settings: Settings, user: str = "") -> str:
    """A random password (at least 20 characters, of four classes) that meets the policy."""
    alphabet = string.ascii_letters + string.digits + "-_.!@#%+="
    while True:
        pw = "".join(secrets.choice(alphabet)
                     for _ in range(max(20, settings.password_min_length)))
        try:
            accounts.check_password(pw, settings, user)
        except accounts.AccountError:
            continue
        if all(any(test(c) for c in pw) for test in (str.islower, str.isupper, str.isdigit,
                                                      lambda c: not c.isalnum())):
            return pw


def first_admin(settings: Settings) -> str | None:
    """Create ``admin`` when there is no user: the generated password (to print once), ""
    when ONEMAP_ADMIN_PASSWORD was used, None when users exist already. AccountError when
    ONEMAP_ADMIN_PASSWORD does not meet the password policy (the server must not start with
    an admin nobody can log in as)."""
    with sysdb.engine(settings).connect() as conn:
        if conn.execute(select(func.count()).select_from(sysdb.USERS)).scalar_one():
            return None
    password = settings.admin_password or generate_password(settings, ADMIN)
    try:
        accounts.check_password(password, settings, ADMIN)
    except accounts.AccountError as exc:
        raise accounts.AccountError(f"ONEMAP_ADMIN_PASSWORD: {exc}") from None
    try:
        accounts.add(settings, ADMIN, roles=["admin"], password=password,
                     display="Administrator")
    except accounts.AccountExists:
        return None  # another process made it first
    return "" if settings.admin_password else password
