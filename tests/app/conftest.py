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
    (before its first ``goto``); returns the login's answer (user, roles, region, csrf).
    Another server than ``live_server`` (a copy of the sample's data dir made after the
    ``callers`` fixture): ``base`` and the ``settings`` of its data dir."""
    from onemap.access import accounts

    ready: set[tuple[str, str]] = set()

    def log_in(page, who: str = "viewer", base: str | None = None,  # type: ignore[no-untyped-def]
               settings: Settings | None = None) -> dict:
        base = base or live_server
        settings = settings or sample_settings
        if (settings.system_db_url, who) not in ready:
            accounts.change(settings, who, password=PASSWORD)
            ready.add((settings.system_db_url, who))
        resp = requests.post(f"{base}/api/auth/login",
                             json={"user": callers[who].user, "password": PASSWORD}, timeout=60)
        assert resp.status_code == 200, resp.text
        page.context.add_cookies([
            {"name": c.name, "value": c.value, "url": base,
             "httpOnly": c.name == "onemap_session",
             "sameSite": "Lax" if c.name == "onemap_session" else "Strict"}
            for c in resp.cookies])
        return resp.json()

    return log_in


def _acting(callers, who: str):  # type: ignore[no-untyped-def]
    from onemap.app import serverhttp

    with serverhttp.acting_with(callers[who].headers):
        yield callers[who]


@pytest.fixture()
def as_viewer(callers):  # type: ignore[no-untyped-def]
    """The app's client code called by the test (outside a browser request) acts as the
    viewer (onemap.app.serverhttp.acting_with); the fixture's value is the caller."""
    yield from _acting(callers, "viewer")


@pytest.fixture()
def as_commander(callers):  # type: ignore[no-untyped-def]
    """As :func:`as_viewer`, for the commander (incident assessment)."""
    yield from _acting(callers, "commander")


@pytest.fixture()
def as_analyst(callers):  # type: ignore[no-untyped-def]
    """As :func:`as_viewer`, for the analyst (upwind sources, ecology change, series)."""
    yield from _acting(callers, "analyst")
