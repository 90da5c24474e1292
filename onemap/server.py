"""Composition root: the one place that joins the map server and the web app into one ASGI app.

Nothing else may import both ``onemap.mapserver`` and ``onemap.app``; the app talks to the server
over HTTP only. The Dash app is mounted last, at "/", so the more specific ``/ogc``, ``/raster``
and ``/api`` routes always win.
"""

from __future__ import annotations

import logging
import socket
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


def _pages_only(flask_app: Any) -> None:
    """Dash answers its page for any path; keep its own routes (the page at "/", ``/_dash-*``,
    ``/_reload-hash``, ``/_favicon.ico``, ``/assets/…``, component suites) and answer every
    other path a JSON 404 like the server's, so a mistyped URL (``/wcs``) is not a blank map.
    The app has no client-side paths of its own: its state lives in the query string."""
    from flask import jsonify, request

    def not_found(*_args: Any, **_kwargs: Any) -> Any:
        return jsonify(code="NotFound", detail=f"no such page or endpoint: {request.path}"), 404

    catch_all = [r for r in flask_app.url_map.iter_rules() if r.rule.endswith("/<path:path>")]
    for rule in catch_all:
        flask_app.view_functions[rule.endpoint] = not_found
    flask_app.register_error_handler(404, not_found)
    flask_app.register_error_handler(405, lambda _exc: (jsonify(
        code="MethodNotAllowed", detail=f"{request.method} is not allowed on {request.path}"),
        405))


def create_asgi(settings: Settings, *, prepared: bool = False) -> Any:
    """The whole OneMap ASGI app for ``settings``, behind the HTTP edge (edge.harden).
    ``prepared``: the data dir was already recovered by the parent of several workers."""
    from a2wsgi import WSGIMiddleware

    from onemap.mapserver import create_app
    from onemap.mapserver.edge import harden

    app = create_app(settings, prepared=prepared)
    create_dash = _dash_factory()
    scripts: list[str] = []
    if create_dash is not None:
        from onemap.app.static_memo import StaticMemo

        dash_app = create_dash(settings)
        _pages_only(dash_app.server)
        # The page's inline scripts (renderer, inline clientside callbacks) by hash: no other
        # inline script runs on the map.
        scripts = list(dash_app.csp_hashes())
        app.mount("/", StaticMemo(WSGIMiddleware(dash_app.server)), name="app")
    return harden(app, settings, scripts)


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s")


def worker_app() -> Any:
    """One worker process's app (uvicorn's factory when ``--workers N`` > 1): settings from the
    ``ONEMAP_*`` environment the parent passed on; the data dir is the parent's to recover."""
    from onemap.config import get_settings
    from onemap.recovery import hold_data_dir

    _logging()
    settings = get_settings()
    hold_data_dir(settings)
    return create_asgi(settings, prepared=True)


#: Seconds a stopping server waits for requests under way.
GRACE_S = 10


def serve(settings: Settings, workers: int = 1) -> None:
    """Run uvicorn on ``settings.host:settings.port``, logs on stdout.

    One worker: the app is built here. Several: this process recovers the data dir and makes
    the first admin once (:func:`onemap.mapserver.app.prepare`), then uvicorn starts
    ``workers`` processes on one socket, each building its own app (:func:`worker_app`). They
    share nothing in memory: jobs, sessions, rules, the audit and the catalogue are in the
    system database and the data dir, which every worker reads at each request."""
    import uvicorn

    _logging()
    common: dict[str, Any] = dict(host=settings.host, port=settings.port, log_config=None,
                                  proxy_headers=True, access_log=True,
                                  timeout_graceful_shutdown=GRACE_S)
    # at a stop, requests under way get GRACE_S to finish; then the rest (browsers' alarm
    # streams, which never end by themselves: they reconnect to the next server) are cut
    if workers <= 1:
        app = create_asgi(settings)
        LOGGER.info("OneMap serving %s on %s:%s", settings.public_url, settings.host,
                    settings.port)
        uvicorn.run(app, workers=1, **common)
        return
    from onemap.mapserver.app import prepare

    prepare(settings)
    LOGGER.info("OneMap serving %s on %s:%s with %d workers", settings.public_url,
                settings.host, settings.port, workers)
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("onemap.server:worker_app", factory=True, workers=workers, **common)
    sock = config.bind_socket()
    # A worker's accepted connections inherit this from the listening socket (Linux). asyncio
    # would set it per connection, but the socket a spawned worker gets back has proto 0 and
    # asyncio then leaves it off: every keep-alive answer waited ~40 ms for a delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()
