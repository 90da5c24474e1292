"""OneMap's map server: OGC API Features, raster tiles and catalogue listings.

Only :mod:`onemap.server` (the composition root) imports this package's app; the import of
pygeoapi is deferred to :func:`create_app` because pygeoapi reads its config at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from onemap.config import Settings


def create_app(settings: Settings, *, prepared: bool = False) -> FastAPI:
    """See :func:`onemap.mapserver.app.create_app`."""
    from onemap.mapserver.app import create_app as _create_app

    return _create_app(settings, prepared=prepared)


__all__ = ["create_app"]
