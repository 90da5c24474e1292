"""gzip for every answer, at a level that suits its size.

Starlette's middleware compresses at one level. Level 6 gives nearly level 9's size at a
fraction of its time for pages, tiles and documents; but a body of megabytes (a station's
13 years of hours as CoverageJSON, 3 MB; a big GeoJSON page) then costs ~70 ms of a core, more
than reading it from the database. Such a body is compressed at level 1 (~20 ms, about a
quarter larger). Bodies of 64 KB or more are compressed in a thread, off the event loop.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipMiddleware, GZipResponder, IdentityResponder
from starlette.types import ASGIApp, Receive, Scope, Send

LEVEL = 6
#: A first body chunk this large is compressed at level 1.
BIG = 1024 * 1024
THREAD = 64 * 1024


class _Responder(GZipResponder):
    def __init__(self, app: ASGIApp, minimum_size: int, **kwargs: object) -> None:
        super().__init__(app, minimum_size, **kwargs)  # type: ignore[arg-type]
        self._sized = False

    async def apply_compression(self, body: bytes, *, more_body: bool) -> bytes:
        if not self._sized:  # the level is chosen once, before the compressor exists
            self._sized = True
            if len(body) >= BIG:
                self.compresslevel = 1
        return await super().apply_compression(body, more_body=more_body)


class GZip(GZipMiddleware):
    """:class:`starlette.middleware.gzip.GZipMiddleware` with the level by size."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, minimum_size=1024, compresslevel=LEVEL,
                         thread_minimum_size=THREAD)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        responder: ASGIApp
        if "gzip" in Headers(scope=scope).get("Accept-Encoding", ""):
            responder = _Responder(self.app, self.minimum_size, compresslevel=self.compresslevel,
                                   thread_minimum_size=self.thread_minimum_size,
                                   exclude_content_types=self.exclude_content_types)
        else:
            responder = IdentityResponder(self.app, self.minimum_size,
                                          exclude_content_types=self.exclude_content_types)
        await responder(scope, receive, send)
