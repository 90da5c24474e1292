"""The app's calls to the server act as the browser's user: checked against the real server
with a real Flask request context (what a Dash callback runs in)."""
from __future__ import annotations

import secrets
import time

import flask
import pytest
import requests

from onemap.access import accounts
from onemap.app import serverhttp
from onemap.config import Settings

pytestmark = [pytest.mark.server]


def test_calls_carry_the_browsers_session(live_server: str, sample_settings: Settings,
                                          callers) -> None:  # type: ignore[no-untyped-def]
    name = f"app{secrets.token_hex(3)}"
    accounts.add(sample_settings, name, roles=["analyst"], password="Sturdy-Otter-42")
    login = requests.post(f"{live_server}/api/auth/login", timeout=30,
                          json={"user": name, "password": "Sturdy-Otter-42"})
    token, csrf = login.cookies[serverhttp.SESSION_COOKIE], login.json()["csrf"]
    me = f"{live_server}/api/auth/me"
    keys = f"{live_server}/api/auth/keys"
    flask_app = flask.Flask("test")
    cookie = {"Cookie": f"{serverhttp.SESSION_COOKIE}={token}; other=1"}

    assert serverhttp.get_json(me, timeout=30)["anonymous"] is True  # no browser: nobody
    with flask_app.test_request_context(headers=cookie):
        assert serverhttp.get_json(me, timeout=30)["user"] == name
        # a write is refused without the token the browser sent with its Dash request …
        resp = serverhttp.call("POST", keys, json={"name": "x"}, timeout=30)
        assert resp.status_code == 403 and resp.json()["code"] == "CsrfFailed"
        anonymous_key = serverhttp.identity()
    with flask_app.test_request_context(headers={**cookie, serverhttp.CSRF_HEADER: csrf}):
        # … and done as the user with it
        resp = serverhttp.call("POST", keys, json={"name": "from the app"}, timeout=30)
        assert resp.status_code == 201 and resp.json()["user"] == name
        assert serverhttp.identity() == anonymous_key != ""  # same browser, same cache key
    with flask_app.test_request_context():
        assert serverhttp.get_json(me, timeout=30)["anonymous"] is True
        assert serverhttp.identity() == ""
        with serverhttp.acting_with(callers["viewer"].headers):  # a browser request decides
            assert serverhttp.get_json(me, timeout=30)["anonymous"] is True
    with serverhttp.acting_with(callers["viewer"].headers):  # outside one, these credentials
        assert serverhttp.get_json(me, timeout=30)["user"] == "viewer"
        assert serverhttp.identity() not in ("", anonymous_key)


def test_the_audit_has_the_browsers_address(live_server: str, sample_settings: Settings,
                                            callers) -> None:  # type: ignore[no-untyped-def]
    """A write the app makes for a browser is recorded with the browser's address, not the
    loopback the app calls from; the address is no part of the cache identity."""
    from onemap.access import audit

    flask_app = flask.Flask("test")
    name = f"addr{secrets.token_hex(3)}"
    with flask_app.test_request_context(environ_base={"REMOTE_ADDR": "10.20.30.40"}):
        assert serverhttp.identity() == ""
        resp = serverhttp.call("POST", f"{live_server}/api/auth/login", timeout=30,
                               json={"user": name, "password": "not-this-one"})
        assert resp.status_code == 401
    deadline = time.monotonic() + 30
    while True:
        found = [r for r in audit.query(sample_settings, user=name, limit=5)]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert found and found[0]["action"] == "login_failed"
    assert found[0]["address"] == "10.20.30.40"
