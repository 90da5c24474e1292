"""The HTTP audit: every state-changing request and every read of an internal dataset is
recorded, whatever route serves it — ours, titiler's, pygeoapi's — with no code in the route.

An ASGI middleware wired in :func:`onemap.mapserver.edge.harden` just *outside*
:class:`~onemap.mapserver.auth.Authenticate`, so that it also sees the 401 that refuses bad
credentials; it reads the principal from ``scope["state"]["principal"]`` once the inner app
has set it. What is recorded (see :mod:`onemap.access.audit` for the record):

* **writes** — POST, PUT, PATCH, DELETE, except the POSTs that only read (:data:`READ_POSTS`:
  STAC search, CQL2 item filters, titiler's feature and statistics images). The action is
  named from the route (:data:`ROUTES`: ``process_run``, ``job_cancel``, ``upload``,
  ``remove``, ``import``, ``feed``, ``login``/``login_failed``, the admin actions), else
  ``write``. The record is committed *before* the response starts, so a client that sees
  its answer knows it is in the audit; a request that fails with an exception is recorded as a 500.
* **reads of internal datasets** — :func:`onemap.access.policy.read` notes each internal
  dataset it grants (:func:`onemap.access.context.note_read`); after the response, one
  ``read_internal`` record lists them. These go through the batching background writer
  (:mod:`onemap.access.audit_queue`): an item page or a tile does not wait for a disk sync.
* **what a route asks for** — any request (a GET included) whose route put a dict at
  ``scope["state"]["audit"]`` (``request.state.audit = {...}`` in a Starlette route) is
  recorded with these optional keys overriding what the middleware derived:

  ``action`` (str), ``user`` (the account named, e.g. the user name a login tried — the
  principal is still anonymous then), ``via`` (how it tried: "session", "oidc", "key",
  "basic"), ``target`` (str), ``outcome`` ("ok", "denied", "failed"), ``detail`` (a dict,
  strict JSON).

  The login route sets ``{"user": <attempted name>, "via": "session", "outcome": "ok" |
  "failed", "detail": {"reason": ...}}``; a failed login is recorded as ``login_failed``.
  Authenticate sets ``{"action": "login_failed", "user", "via", "detail": {"reason"}}`` when
  it refuses credentials (401). Such hooked records are committed before the response, too.

The source address is the ASGI client's (uvicorn's ``proxy_headers`` already replaced it
with X-Forwarded-For's when the request came through a trusted proxy).

At startup the middleware archives audit records past ``ONEMAP_AUDIT_RETENTION_DAYS``; at
shutdown it flushes the background writer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool

from onemap import sysdb
from onemap.access import audit, audit_archive, audit_queue, context
from onemap.access.principal import ANONYMOUS, Principal
from onemap.config import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOGGER = logging.getLogger(__name__)
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: POST routes that change nothing (searches and images of a posted geometry).
READ_POSTS = re.compile(r"^/stac/search$|^/ogc/collections/[^/]+/items/?$"
                        r"|^(?:/[^/]+)*/_dash-update-component$"  # the app's callbacks: an HTTP
                        # client of this server, whose writes are recorded at the API they call
                        r"|^/(?:raster|cube)/[^/]+/(?:statistics|feature)(?:[./].*)?$")
#: (methods, path pattern, action): the first match names a write; group 1 is the target.
ROUTES: list[tuple[frozenset[str], re.Pattern[str], str]] = [
    (frozenset(m.split()), re.compile(p), a) for m, p, a in [
        ("POST", r"^/ogc/processes/([^/]+)/execution$", "process_run"),
        ("DELETE", r"^/(?:ogc|api)/jobs/([^/]+)$", "job_cancel"),
        ("POST", r"^/api/rasters/?()$", "upload"),
        ("PUT PATCH", r"^/api/rasters/([^/]+)$", "upload"),
        ("DELETE", r"^/api/rasters/([^/]+)$", "remove"),
        ("POST", r"^/api/layers/?()$", "import"),
        ("PUT PATCH", r"^/api/layers/([^/]+)$", "import"),
        ("DELETE", r"^/api/layers/([^/]+)$", "remove"),
        ("POST", r"^/api/feeds/([^/]+)$", "feed"),
        ("POST", r"^/api/auth/login/?()$", "login"),
        ("POST", r"^/api/auth/logout/?()$", "logout"),
        ("POST", r"^/api/auth/password/?()$", "password_change"),
        ("PUT", r"^/api/admin/users/([^/]+)/grant$", "user_grant"),
        ("POST", r"^/api/(?:admin/)?(?:users/[^/]+/)?keys/?()$", "key_create"),
        ("DELETE", r"^/api/(?:admin/)?(?:users/[^/]+/)?keys/([^/]+)$", "key_revoke"),
        ("POST", r"^/api/admin/users/?()$", "user_create"),
        ("PUT PATCH", r"^/api/admin/users/([^/]+)$", "user_change"),
        ("DELETE", r"^/api/admin/users/([^/]+)$", "user_remove"),
        ("POST PUT PATCH DELETE", r"^/api/admin/rules(?:/([^/]+))?/?$", "rule_change"),
        ("POST", r"^/api/alarms/([^/]+)/(?:acknowledge|close)$", "alarm_change"),
    ]
]
#: Longest query string kept in a record's detail.
MAX_QUERY = 500


def is_write(method: str, path: str) -> bool:
    return method in WRITES and not READ_POSTS.match(path)


def name_write(method: str, path: str) -> tuple[str, str]:
    """The action and target of a state-changing request, from its route."""
    for methods, pattern, action in ROUTES:
        m = pattern.match(path)
        if method in methods and m:
            return action, (m.group(1) or "") if m.groups() else ""
    return "write", path


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


class Audit:
    """Record writes (before their response), hooked requests, and internal reads."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})  # shared with the inner app (Authenticate)
        reads = context.collect_reads()
        method, path = scope["method"], scope["path"]
        write = is_write(method, path)
        started = sysdb.now()
        done: dict[str, Any] = {"status": 0, "committed": False}

        def sync() -> bool:
            return write or isinstance(state.get("audit"), dict)

        async def send_audited(message: Message) -> None:
            if message["type"] == "http.response.start" and not done["status"]:
                done["status"] = message["status"]
                location = next((v for k, v in message.get("headers", [])
                                 if k.lower() == b"location"), None)
                if location:  # where a created job or dataset is: the write's result
                    state["audit_location"] = location.decode("latin-1")[:MAX_QUERY]
                if sync():
                    done["committed"] = True
                    await self._commit(self._event(scope, message["status"], started, reads))
            await send(message)

        try:
            await self.app(scope, receive, send_audited)
        except BaseException:
            if sync() and not done["committed"]:
                done["committed"] = True
                await self._commit(self._event(scope, done["status"] or 500, started, reads))
            raise
        finally:
            if reads and not done["committed"]:
                await self._queue(self._event(scope, done["status"] or 500, started, reads,
                                              action="read_internal"))

    def _event(self, scope: Scope, status: int, started: str, reads: set[str],
               action: str | None = None) -> dict[str, Any]:
        """The record of this request; a hook the audit cannot use (a bad value a route put
        in its state) still leaves a record, saying so, and never fails the request."""
        try:
            return self._describe(scope, status, started, reads, action)
        except Exception as exc:  # noqa: BLE001 (see above)
            LOGGER.exception("audit: cannot describe %s %s", scope["method"], scope["path"])
            principal = scope.get("state", {}).get("principal", ANONYMOUS)
            return audit.event(principal, action or "request", method=scope["method"],
                               path=scope["path"], status=status, address=_address(scope),
                               detail={"audit_error": str(exc)[:MAX_QUERY]}, time=started)

    def _describe(self, scope: Scope, status: int, started: str, reads: set[str],
                  action: str | None) -> dict[str, Any]:
        state = scope.get("state", {})
        principal: Principal = state.get("principal", ANONYMOUS)
        hook = state.get("audit") if isinstance(state.get("audit"), dict) else {}
        method, path = scope["method"], scope["path"]
        detail: dict[str, Any] = {}
        query = scope.get("query_string", b"").decode("latin-1")
        if query:
            detail["query"] = query[:MAX_QUERY]
        if action == "read_internal":
            target = ",".join(sorted(reads))
        elif is_write(method, path):
            action, target = name_write(method, path)
        else:
            action, target = "request", path
        if reads and action != "read_internal":
            detail["reads"] = sorted(reads)
        if state.get("audit_location") and action != "read_internal":
            detail["location"] = state["audit_location"]
        outcome = hook.get("outcome") or audit.outcome_of(status)
        action = hook.get("action") or action
        if action == "login" and outcome != "ok":
            action = "login_failed"
        if action == "read_internal":
            detail["datasets"] = sorted(reads)
        if isinstance(hook.get("detail"), dict):
            detail.update(hook["detail"])
        return audit.event(principal, action, target=str(hook.get("target") or target),
                           method=method, path=path, status=status, outcome=outcome,
                           address=_address(scope), detail=detail, user=hook.get("user"),
                           via=hook.get("via"), time=started)

    async def _commit(self, event: dict[str, Any]) -> None:
        """Append now; if the database refuses, the background writer keeps retrying."""
        try:
            await run_in_threadpool(audit.append, self.settings, [event])
        except Exception as exc:  # noqa: BLE001 (the request is done: retry, never lose)
            LOGGER.error("audit: cannot commit a %s record now (%s); queued to retry",
                         event["action"], exc)
            await self._queue(event)

    async def _queue(self, event: dict[str, Any]) -> None:
        writer = audit_queue.writer(self.settings)
        if not writer.submit(event):
            await run_in_threadpool(writer.put, event)  # full: wait for room

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def receive_rotating() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await run_in_threadpool(self._rotate)
            return message

        async def send_flushing(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await run_in_threadpool(audit_queue.close_all)
            await send(message)

        await self.app(scope, receive_rotating, send_flushing)

    def _rotate(self) -> None:
        try:
            done = audit_archive.rotate(self.settings)
        except Exception as exc:  # noqa: BLE001 (a broken chain must not stop the map)
            LOGGER.error("audit rotation at startup failed: %s", exc)
            return
        if done.path is not None:
            LOGGER.info("audit: %d record(s) older than %d days archived to %s", done.count,
                        self.settings.audit_retention_days, done.path)
