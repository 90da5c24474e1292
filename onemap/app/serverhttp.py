"""Every HTTP call the app's Python side makes to the server, made as the browser's user.

The Dash callbacks and the page layout run in the server process but talk to the map server
over HTTP like any client (onemap.app never imports the server). So that the server decides
with the rights of the person at the browser — a viewer sees internal layers, an anonymous
visitor only public ones — each call carries the browser's session cookie, taken from the Flask
request being served, and, for a state-changing call, the session's CSRF token, which the
browser sent with the Dash request (Dash's renderer adds it from the ``onemap_csrf`` cookie; the
server's edge already checked it on that request). Outside a request (a background thread) a
call is anonymous: it sees less, never more.

The cookie and header names are those of onemap.access.sessions, repeated here because the app
must not import server code; tests/app/test_login.py checks that they agree.
"""

from __future__ import annotations

import hashlib
from typing import Any

import requests

SESSION_COOKIE = "onemap_session"
CSRF_COOKIE = "onemap_csrf"
CSRF_HEADER = "X-CSRF-Token"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _incoming() -> tuple[str, str]:
    """(session token, CSRF token) of the browser request being served ("" when none)."""
    try:
        from flask import has_request_context, request
    except ImportError:  # pragma: no cover - flask comes with dash
        return "", ""
    if not has_request_context():
        return "", ""
    return (request.cookies.get(SESSION_COOKIE, ""),
            request.headers.get(CSRF_HEADER, ""))


def forwarded(method: str = "GET") -> dict[str, str]:
    """The headers that make a call to the server act as the browser's user."""
    token, csrf = _incoming()
    headers: dict[str, str] = {}
    if token:
        headers["Cookie"] = f"{SESSION_COOKIE}={token}"
        if method.upper() in WRITES and csrf:
            headers[CSRF_HEADER] = csrf
    return headers


def identity() -> str:
    """A stand-in for "who is asking" in cache keys (a digest of the session token, "" for
    anonymous): what one user was shown is never served to another."""
    token, _ = _incoming()
    return hashlib.sha256(token.encode()).hexdigest()[:16] if token else ""


def call(method: str, url: str, *, timeout: float, headers: dict[str, str] | None = None,
         **kw: Any) -> requests.Response:
    """``requests.request`` with the browser's identity added to ``headers``."""
    return requests.request(method, url, timeout=timeout,
                            headers={**(headers or {}), **forwarded(method)}, **kw)


def get_json(url: str, *, timeout: float, **kw: Any) -> Any:
    """GET ``url`` as the browser's user; the JSON answer (HTTPError on 4xx/5xx)."""
    resp = call("GET", url, timeout=timeout, headers={"Accept": "application/json"}, **kw)
    resp.raise_for_status()
    return resp.json()
