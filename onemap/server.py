"""Composition root: the one place that joins the map server and the web app into one ASGI app.

Nothing else may import both ``onemap.mapserver`` and ``onemap.app``; the app talks to the server
over HTTP only. The Dash app is mounted last, at "/", so the more specific ``/ogc``, ``/raster``
and ``/api`` routes always win.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from onemap.config import Settings

LOGGER = logging.getLogger("onemap.server")


def _dash_factory() -> Any:
    """``onemap.app.create_dash`` if the web app is installed, else None (server-only mode)."""
    try:
        from onemap.app import create_dash
    except ImportError as exc:
        LOGGER.warning("web app not available (%s): serving the OGC endpoints only", exc)
        return None
    return create_dash


def create_asgi(settings: Settings) -> Any:
    """The whole OneMap ASGI app for ``settings``."""
    from a2wsgi import WSGIMiddleware

    from onemap.mapserver import create_app

    app = create_app(settings)
    create_dash = _dash_factory()
    if create_dash is not None:
        dash_app = create_dash(settings)
        app.mount("/", WSGIMiddleware(dash_app.server), name="app")
    return app


def serve(settings: Settings) -> None:
    """Run uvicorn on ``settings.host:settings.port`` (one worker, logs on stdout)."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_asgi(settings)
    LOGGER.info("OneMap serving %s on %s:%s", settings.public_url, settings.host, settings.port)
    uvicorn.run(app, host=settings.host, port=settings.port, workers=1, log_config=None,
                proxy_headers=True, access_log=True)
