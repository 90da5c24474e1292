"""The page's static files from memory, compressed once: not through Flask and gzip per request.

A first load asks for ~45 files: the page's ``assets/`` and Dash's bundles (React, the
renderer, the components, plotly's 4.8 MB). Served by Dash they go through the WSGI thread pool
and the server's gzip middleware compresses each one again at level 9 on the event loop:
plotly alone takes 0.2–0.7 s there, while the map's first callbacks wait behind it.

These files cannot change while the process runs when their URL carries their version — an
asset's ``?m=<mtime>``, a bundle from an installed package (versioned in its name or not) — so
the first answer for such a URL is kept: its body, the same gzip-compressed once at level 6 in
a worker thread, its headers and an ETag. Later requests are answered from memory (with 304 to
a matching ``If-None-Match``), never reaching Dash. Anything else — the page, callbacks, an
asset without ``m``, errors — passes through untouched. Memory is bounded (:data:`MAX_TOTAL`);
past it answers pass through as before.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import anyio

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Bytes kept in all (raw + compressed); one file larger than MAX_FILE is never kept.
MAX_TOTAL = 64 * 1024 * 1024
MAX_FILE = 16 * 1024 * 1024
#: Compressed only when it pays: text types, not already small.
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
MIN_COMPRESS = 1024
#: Headers of the inner answer that the memo sets itself.
_OWN = {b"content-length", b"content-encoding", b"etag", b"vary", b"date", b"server"}


@dataclass(frozen=True)
class Kept:
    """One file's answer: headers, body, the body gzip-compressed (or None) and its ETag."""

    headers: list[tuple[bytes, bytes]]
    body: bytes
    gzipped: bytes | None
    etag: bytes

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"")


def keepable(scope: Scope) -> bool:
    """Whether the URL names one version of a file: ``/assets/…?m=…`` or a Dash bundle (an
    installed package's file: it changes only with an upgrade, i.e. a new process)."""
    if scope.get("type") != "http" or scope.get("method") not in ("GET", "HEAD"):
        return False
    path: str = scope.get("path", "")
    if path.startswith(("/_dash-component-suites/", "/_bundle/")):
        return True  # a bundle's name is its content's hash (onemap.app.bundles)
    if path.startswith("/assets/"):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return bool(query.get("m"))
    return False


def _accepts_gzip(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"accept-encoding":
            return b"gzip" in value.lower()
    return False


def _if_none_match(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == b"if-none-match":
            return value
    return None


def _compress(headers: list[tuple[bytes, bytes]], body: bytes) -> bytes | None:
    kind = dict(headers).get(b"content-type", b"").decode("latin-1")
    if len(body) < MIN_COMPRESS or not kind.startswith(COMPRESSIBLE):
        return None
    return gzip.compress(body, compresslevel=6, mtime=0)


class StaticMemo:
    """ASGI wrapper around the web app: versioned static files answered from memory."""

    def __init__(self, app: ASGIApp, max_total: int = MAX_TOTAL) -> None:
        self.app = app
        self.max_total = max_total
        self.kept: dict[tuple[str, bytes], Kept] = {}
        self.total = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not keepable(scope):
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope.get("query_string", b""))
        kept = self.kept.get(key)
        if kept is None:
            kept = await self._fetch(scope, receive, send)
            if kept is None:
                return  # answered by the app itself (not a 200, or too big)
        await self._answer(kept, scope, send)

    async def _fetch(self, scope: Scope, receive: Receive, send: Send) -> Kept | None:
        """Ask the app once; keep a 200 (or pass the answer on as it came)."""
        start: Message = {}
        chunks: list[bytes] = []

        async def collect(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        inner = dict(scope, method="GET")  # a HEAD is answered from the kept GET
        inner["headers"] = [(k, v) for k, v in scope.get("headers", [])
                            if k not in (b"if-none-match", b"if-modified-since", b"range")]
        await self.app(inner, receive, collect)
        body = b"".join(chunks)
        headers = [(k.lower(), v) for k, v in start.get("headers", [])]
        if start.get("status") != 200 or len(body) > MAX_FILE or \
                any(k == b"content-encoding" for k, _ in headers):
            await send({"type": "http.response.start", "status": start.get("status", 500),
                        "headers": headers})
            await send({"type": "http.response.body",
                        "body": b"" if scope["method"] == "HEAD" else body})
            return None
        gzipped = await anyio.to_thread.run_sync(_compress, headers, body)
        # weak: the gzip and plain bodies are one resource, compared weakly by If-None-Match
        etag = b'W/"' + hashlib.sha1(body).hexdigest()[:20].encode() + b'"'  # noqa: S324 (not security)
        kept = Kept([(k, v) for k, v in headers if k not in _OWN], body, gzipped, etag)
        key = (scope["path"], scope.get("query_string", b""))
        if key not in self.kept and self.total + kept.size <= self.max_total:
            self.kept[key] = kept
            self.total += kept.size
        return kept

    async def _answer(self, kept: Kept, scope: Scope, send: Send) -> None:
        headers = list(kept.headers) + [(b"etag", kept.etag)]
        if kept.gzipped is not None:
            headers.append((b"vary", b"Accept-Encoding"))
        if _if_none_match(scope) == kept.etag:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        body = kept.body
        if kept.gzipped is not None and _accepts_gzip(scope):
            body = kept.gzipped
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body",
                    "body": b"" if scope["method"] == "HEAD" else body})
