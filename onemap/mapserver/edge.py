"""The HTTP edge: what every response carries and what every request may be, before any route.

A bureau's intranet browser must not run a script it was not given by OneMap's own files, let
another site frame the map (clickjacking) or read the API (CORS), sniff a JSON answer into HTML,
or leak the map's URL to a basemap server. These are pure ASGI wrappers, not Starlette's
``BaseHTTPMiddleware``, so streamed answers (COG range requests, tiles) pass through untouched.

* :class:`SecurityHeaders` sets the Content-Security-Policy (one per kind of page, see
  :func:`policies`), X-Frame-Options, X-Content-Type-Options and Referrer-Policy on every answer,
  keeping a CSP an inner layer already chose (:class:`NonceScripts` for pygeoapi's pages).
* :class:`NonceScripts` gives pygeoapi's HTML a fresh script nonce per answer: the templates
  carry a per-process secret slot (:data:`NONCE_SLOT`) in their own ``<script>`` tags only, so
  a feature property that smuggles a ``<script>`` into a page is never run.
* :class:`BodyLimit` answers 413 to a request body over ``ONEMAP_MAX_BODY_MB``, from its
  Content-Length or while it streams.
* :class:`SameOriginWrites` refuses a write that another site's page sends (CSRF).
* :class:`Slashes` serves ``/ogc`` as ``/ogc/`` and ``/stac/`` as ``/stac``: the same document
  at both, since QGIS takes the URL it is given as the landing page and may not follow a
  redirect.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.middleware.cors import CORSMiddleware

from onemap.config import Settings
from onemap.mapserver.auditing import Audit
from onemap.mapserver.auth import Authenticate

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Written into pygeoapi's templates in place of a nonce (see offline.write_templates); secret
#: and new in every process, so no data shown on a page can know it; the same length as a nonce,
#: so a Content-Length stays right.
NONCE_SLOT = secrets.token_hex(16)

#: Where the self-contained offline documents are served: they run their own inline scripts,
#: so they get a sandbox (an opaque origin: no access to this site's storage or API).
DOCUMENT_PREFIXES = ("/api/exports/", "/api/reports/")

#: The raster upload has its own streaming limit (ONEMAP_MAX_UPLOAD_MB).
UPLOAD_ROUTE = ("POST", "/api/rasters")

#: Path → the path whose answer it gets (the same document at both spellings).
ALIASES = {"/ogc": "/ogc/", "/stac/": "/stac"}

FIXED_HEADERS = [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
                 (b"referrer-policy", b"same-origin")]


def source_of(url: str) -> str:
    """The CSP source of a tile URL template: scheme, host and port (``{s}`` subdomains as
    ``*``); empty for none or a relative URL (already 'self')."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    host = re.sub(r"^\{[a-z]\}\.", "*.", parts.netloc)
    return f"{parts.scheme}://{host}"


def _policy(**directives: str) -> str:
    return "; ".join(f"{k.replace('_', '-')} {v}" for k, v in directives.items())


def policies(settings: Settings, script_hashes: list[str]) -> dict[str, str]:
    """The CSP of each kind of answer: ``app`` (the map page and everything not below),
    ``nonced`` (pygeoapi's HTML and the API docs; ``{nonce}`` is filled per answer) and
    ``document`` (an offline export or report, run sandboxed)."""
    basemap = source_of(settings.basemap_url)
    images = " ".join(filter(None, ["'self' data: blob:", basemap]))
    common = {"object_src": "'none'", "base_uri": "'self'", "form_action": "'self'",
              "frame_ancestors": "'none'"}
    # Inline style attributes stay allowed: React, Leaflet and pygeoapi's templates set them,
    # and a style cannot run code; scripts are what CSP is here for.
    page = {"default_src": "'self'", "img_src": images, "style_src": "'self' 'unsafe-inline'",
            "font_src": "'self' data:", "connect_src": "'self'"}
    return {
        "app": _policy(**page, script_src=" ".join(["'self'", *script_hashes]), **common),
        "nonced": _policy(**page, script_src="'self' 'nonce-{nonce}'", **common),
        "document": _policy(sandbox="allow-scripts allow-popups allow-downloads",
                            default_src="'none'", script_src="'unsafe-inline'",
                            style_src="'unsafe-inline'", img_src=images,
                            font_src="data:", frame_ancestors="'none'"),
    }


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((v for k, v in headers if k.lower() == name), None)


class SecurityHeaders:
    """Security headers on every answer; a Content-Security-Policy chosen by path unless an
    inner layer set one."""

    def __init__(self, app: ASGIApp, csp: dict[str, str]) -> None:
        self.app = app
        self.csp = csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in {h for h, _ in FIXED_HEADERS}]
                if _header(headers, b"content-security-policy") is None:
                    html = (_header(headers, b"content-type") or b"").startswith(b"text/html")
                    kind = "document" if html and path.startswith(DOCUMENT_PREFIXES) else "app"
                    headers.append((b"content-security-policy", self.csp[kind].encode()))
                message["headers"] = headers + FIXED_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


class NonceScripts:
    """pygeoapi's HTML with this answer's nonce in its own script tags and in its CSP."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_hex(16)  # as long as NONCE_SLOT: Content-Length stays right
        slot, fill = NONCE_SLOT.encode(), nonce.encode()
        html = False

        async def send_nonced(message: Message) -> None:
            nonlocal html
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                html = (_header(headers, b"content-type") or b"").startswith(b"text/html")
                if html:
                    headers.append((b"content-security-policy",
                                    self.policy.replace("{nonce}", nonce).encode()))
                message["headers"] = headers
            elif message["type"] == "http.response.body" and html:
                # The slot is written whole in one place of a template; pygeoapi sends its
                # page as one body, so a slot is never split between two messages.
                message["body"] = message.get("body", b"").replace(slot, fill)
            await send(message)

        await self.app(scope, receive, send_nonced)


def _json_error(status: int, code: str, detail: str) -> tuple[Message, Message]:
    body = json.dumps({"code": code, "detail": detail}).encode()
    return ({"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]},
            {"type": "http.response.body", "body": body})


class BodyLimit:
    """413 ``{"code": "PayloadTooLarge"}`` for a body over ``limit`` bytes: at once from its
    Content-Length, or as soon as a streamed (chunked) body passes it; the route then sees the
    client gone and whatever it answers is replaced by the 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _too_large(self) -> tuple[Message, Message]:
        mb = self.limit / (1024 * 1024)
        return _json_error(413, "PayloadTooLarge",
                           f"request body larger than {mb:g} MB (ONEMAP_MAX_BODY_MB)")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) == UPLOAD_ROUTE:
            await self.app(scope, receive, send)
            return
        length = _header(list(scope.get("headers", [])), b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            for message in self._too_large():
                await send(message)
            return
        state = {"seen": 0, "over": False, "started": False}

        async def counted() -> Message:
            if state["over"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > self.limit:
                    state["over"] = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if state["over"] and not state["started"]:
                return  # the 413 is sent below instead of the route's answer
            state["started"] = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            for message in self._too_large():
                await send(message)


class SameOriginWrites:
    """403 ``{"code": "CrossOriginWrite"}`` for a state-changing request (POST, PUT, PATCH,
    DELETE) that a browser sends from another site's page: its ``Origin`` is neither this
    server as the browser reached it (the Host header), nor ``ONEMAP_PUBLIC_URL``, nor one of
    ``ONEMAP_CORS_ORIGINS``. A plain HTML form needs no CORS to post, so without this any page
    on the intranet could upload or run analyses through a visitor's browser. GIS clients and
    scripts send no Origin and are not affected."""

    WRITES = {"POST", "PUT", "PATCH", "DELETE"}

    def __init__(self, app: ASGIApp, public_url: str, origins: list[str]) -> None:
        self.app = app
        self.allowed = {source_of(public_url), *origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.WRITES:
            headers = list(scope.get("headers", []))
            origin = (_header(headers, b"origin") or b"").decode("latin-1")
            host = (_header(headers, b"host") or b"").decode("latin-1")
            if origin and origin not in self.allowed and urlsplit(origin).netloc != host:
                for message in _json_error(403, "CrossOriginWrite",
                                           f"a page of {origin} may not change data on this "
                                           "server (add it to ONEMAP_CORS_ORIGINS to allow "
                                           "it)"):
                    await send(message)
                return
        await self.app(scope, receive, send)


class Slashes:
    """Serve each path of :data:`ALIASES` as its other spelling (no redirect)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        alias = ALIASES.get(scope.get("path", "")) if scope["type"] == "http" else None
        if alias is not None:
            scope = {**scope, "path": alias, "raw_path": alias.encode()}
        await self.app(scope, receive, send)


def cors_origins(settings: Settings) -> list[str]:
    return [o.strip().rstrip("/") for o in settings.cors_origins.split(",") if o.strip()]


def harden(app: ASGIApp, settings: Settings, script_hashes: list[str]) -> ASGIApp:
    """``app`` behind the edge: headers outermost (even a 500 or a refused preflight gets
    them), then CORS for the configured origins only, the body limit, the slash aliases.

    Cross-origin pages may read (GET, HEAD) and run processes or searches (POST); DELETE is
    not offered to any origin: removing data is for the map itself and for the CLI.
    """
    origins = cors_origins(settings)
    # Who is calling is settled before anything else reads the request (mapserver.auth); the
    # audit wraps it, so that it records the 401 of bad credentials too (mapserver.auditing).
    inner: ASGIApp = SameOriginWrites(
        BodyLimit(Slashes(Audit(Authenticate(app, settings), settings)),
                  settings.max_body_mb * 1024 * 1024),
        settings.public_url, origins)
    if origins:
        inner = CORSMiddleware(inner, allow_origins=origins,
                               allow_methods=["GET", "HEAD", "POST"],
                               allow_headers=["Accept", "Accept-Language", "Content-Type",
                                              "Authorization", "X-API-Key", "Prefer", "Range"],
                               expose_headers=["Content-Crs", "Link", "Location",
                                               "Preference-Applied", "Content-Range"])
    return SecurityHeaders(inner, policies(settings, script_hashes))
