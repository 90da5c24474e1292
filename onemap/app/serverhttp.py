"""Every HTTP call the app's Python side makes to the server, made as the browser's user.

The Dash callbacks and the page layout run in the server process but talk to the map server
over HTTP like any client (onemap.app never imports the server). So that the server decides
with the rights of the person at the browser — a viewer sees internal layers, an anonymous
visitor only public ones — each call carries the browser's session cookie, taken from the Flask
request being served, and, for a state-changing call, the session's CSRF token, which the
browser sent with the Dash request (Dash's renderer adds it from the ``onemap_csrf`` cookie; the
server's edge already checked it on that request). Outside a request (a background thread) a
call is anonymous — it sees less, never more — unless the code around it names credentials
with :func:`acting_with` (an API key: a script or test that drives the app's client code).

The cookie and header names are those of onemap.access.sessions, repeated here because the app
must not import server code; tests/app/test_login.py checks that they agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import requests
from flask import has_request_context, request

SESSION_COOKIE = "onemap_session"
CSRF_COOKIE = "onemap_csrf"
CSRF_HEADER = "X-CSRF-Token"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORWARDED_FOR = "X-Forwarded-For"

_OUTSIDE: ContextVar[dict[str, str] | None] = ContextVar("onemap_app_credentials", default=None)


@contextmanager
def acting_with(headers: dict[str, str]) -> Iterator[None]:
    """Calls made outside a browser request in this block carry ``headers`` (e.g.
    ``{"Authorization": "Bearer om_…"}``); inside a browser request the browser decides."""
    token = _OUTSIDE.set(dict(headers))
    try:
        yield
    finally:
        _OUTSIDE.reset(token)


def forwarded(method: str = "GET") -> dict[str, str]:
    """The headers that make a call to the server act as the browser's user (outside a
    browser request: those of :func:`acting_with`, or none)."""
    if not has_request_context():
        return dict(_OUTSIDE.get() or {})
    token = request.cookies.get(SESSION_COOKIE, "")
    headers: dict[str, str] = {}
    if token:
        headers["Cookie"] = f"{SESSION_COOKIE}={token}"
        csrf = request.headers.get(CSRF_HEADER, "")
        if method.upper() in WRITES and csrf:
            headers[CSRF_HEADER] = csrf
    if request.remote_addr:
        # the browser's address for the server's audit: the call comes from loopback, which
        # the server trusts as a proxy (uvicorn's forwarded_allow_ips), so it records this
        headers[FORWARDED_FOR] = request.remote_addr
    return headers


def identity() -> str:
    """A stand-in for "who is asking" in cache keys (a digest of the credentials sent, "" for
    anonymous): what one user was shown is never served to another."""
    sent = {k: v for k, v in forwarded().items() if k != FORWARDED_FOR}
    who = sent.get("Cookie") or "|".join(f"{k}={v}" for k, v in sorted(sent.items()))
    return hashlib.sha256(who.encode()).hexdigest()[:16] if who else ""


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


def parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Run ``calls`` at once in threads, each as the browser's user (its cookie and CSRF
    token, captured here in the request): their results, or the exception each raised.

    A callback that needs several independent answers from the server waits for the slowest,
    not for their sum."""
    headers = forwarded("POST")  # the token too: a call may be a process execution

    def run(fn: Callable[[], Any]) -> Any:
        with acting_with(headers):
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 (handed back to the caller, who decides)
                return exc

    if len(calls) <= 1:
        return [run(fn) for fn in calls]
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
