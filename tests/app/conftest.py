"""Browser pages logged in as one of the test accounts (tests/conftest.py ``callers``).

Internal layers (pollution sources, incidents, sensitive receptors) and the analyses that read
them are for logged-in users; a browser test that reads them logs its page in first with
``login(page, "viewer")``. The login is a real one (``POST /api/auth/login`` on the live server
with the caller's password); its cookies are put in the page's browser context, exactly as the
login form leaves them (the form itself is tested in test_login.py).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from onemap.config import Settings

#: The password every test caller gets for browser logins (meets the password policy and
#: contains no caller's name).
PASSWORD = "Browser-Test-Pass-1"


@pytest.fixture(scope="session")
def login(live_server: str, sample_settings: Settings, callers
          ) -> Callable[..., dict]:  # type: ignore[no-untyped-def]
    """``login(page, who="viewer")``: log ``page``'s browser context in as caller ``who``
    (before its first ``goto``); returns the login's answer (user, roles, region, csrf)."""
    from onemap.access import accounts

    ready: set[str] = set()

    def log_in(page, who: str = "viewer") -> dict:  # type: ignore[no-untyped-def]
        if who not in ready:
            accounts.change(sample_settings, who, password=PASSWORD)
            ready.add(who)
        resp = requests.post(f"{live_server}/api/auth/login",
                             json={"user": callers[who].user, "password": PASSWORD}, timeout=60)
        assert resp.status_code == 200, resp.text
        page.context.add_cookies([
            {"name": c.name, "value": c.value, "url": live_server,
             "httpOnly": c.name == "onemap_session",
             "sameSite": "Lax" if c.name == "onemap_session" else "Strict"}
            for c in resp.cookies])
        return resp.json()

    return log_in
