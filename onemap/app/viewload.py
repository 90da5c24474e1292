"""Layers too big to ship whole are loaded per view: counts on a grid, then the view's features.

A national pollution-source layer has a million points; sending it to a browser, even
clustered, would take minutes and hundreds of megabytes (``bench/viewload.py``). Such a layer
(more features than ``ONEMAP_APP_MAX_FEATURES``) is drawn feature by feature only from
``ONEMAP_APP_BBOX_MIN_ZOOM`` on, with the features in the view from the same OGC API Features
endpoint QGIS uses (``bbox=``, at most ``ONEMAP_MAX_ITEMS``); below that zoom the map shows how
many features each part of the view holds (``/api/clusters/{id}``, a grid count the server runs
on the GeoPackage's R-tree) as bubbles a click zooms into. The URL is computed in the browser
(``assets/viewload.js``) as the map moves, so panning costs one request and no Dash round trip.
"""

from __future__ import annotations

import dash
from dash import ALL, ClientsideFunction, Input, Output


def register(app: dash.Dash) -> None:
    """Point each per-view layer at the map's current bbox (or at nothing below its zoom)."""
    app.clientside_callback(
        ClientsideFunction("onemap_viewload", "viewUrls"),
        Output({"type": "om-view-layer", "layer": ALL}, "url"),
        Output({"type": "om-view-layer", "layer": ALL}, "data"),
        Input("om-map", "bounds"),
        Input("om-map", "zoom"),
        Input("om-map", "center"),
        Input({"type": "om-view-layer", "layer": ALL}, "hideout"),
    )
