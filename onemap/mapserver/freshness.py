"""pygeoapi that follows the catalogue: a layer imported or removed while the server runs is
served (or gone) under ``/ogc`` at the next request, without a restart.

pygeoapi reads its configuration once, at import; our listings, STAC and tiles read the
catalogue on every request. :class:`FollowCatalogue` wraps the mounted pygeoapi app and compares
a signature of the catalogue's feature collections (vector layers and tables: ids, files,
update times, titles, access) before each request. When it changed, the configuration and
OpenAPI document are written anew and pygeoapi is loaded again (in a worker thread, once, under
a lock); requests that arrive meanwhile wait for it, so that after a change no answer comes from
the configuration of before (another worker process may have answered from the new one). A raster
added by an upload or a process does not
change the signature, so it costs pygeoapi nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from onemap.catalog import Entry
from onemap.config import Settings
from onemap.mapserver.rasters import Catalogue

LOGGER = logging.getLogger(__name__)
FEATURE_KINDS = ("vector", "table")


#: Entry fields left out of the signature: what single-feature edits and appends change, which
#: the served collections read from the catalogue at each request (their extents, see
#: :class:`onemap.mapserver.ogc_access.VisibleResources`) — an edit must not reload pygeoapi.
LIVE_FIELDS = {"extra", "feature_count", "bbox", "time_extent", "updated"}


def signature(entries: dict[str, Entry]) -> str:
    """What of the catalogue pygeoapi's configuration depends on, as one hash."""
    digest = hashlib.sha256()
    for entry in sorted(entries.values(), key=lambda e: e.id):
        if entry.kind in FEATURE_KINDS:
            digest.update(entry.model_dump_json(exclude=LIVE_FIELDS).encode("utf-8"))
    return digest.hexdigest()


class FollowCatalogue:
    """ASGI app: the pygeoapi app ``load(settings)`` gives, reloaded when the catalogue's
    feature collections change."""

    def __init__(self, cat: Catalogue, load: Callable[[Settings], Any]) -> None:
        self.cat, self.load = cat, load
        self._seen = cat.entries()  # the Catalogue returns the same dict until the file changes
        self.signature = signature(self._seen)
        self.app = load(cat.settings)
        self._lock = threading.Lock()
        self._pending: asyncio.Future[None] | None = None

    def _reload(self) -> None:
        with self._lock:
            current = signature(self.cat.entries())
            if current == self.signature:
                return  # another request reloaded first
            LOGGER.info("catalogue changed: reloading the OGC API configuration")
            self.app = self.load(self.cat.settings)
            self.signature = current

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        entries = self.cat.entries()
        if scope["type"] == "http" and entries is not self._seen:
            self._seen = entries
            if signature(entries) != self.signature:
                self._pending = asyncio.ensure_future(run_in_threadpool(self._reload))
        pending = self._pending
        if pending is not None:
            # every request that arrives during the reload waits for it: none is answered
            # from the configuration of before the change it may already have seen elsewhere
            try:
                await asyncio.shield(pending)
            finally:
                if self._pending is pending and pending.done():
                    self._pending = None
        await self.app(scope, receive, send)
