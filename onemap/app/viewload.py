"""Layers too big to ship whole are loaded per view: ``items?bbox=<view>`` from a minimum zoom.

A national pollution-source layer has a million points; sending it to a browser, even
clustered, would take minutes and hundreds of megabytes. Like a scale-dependent layer in QGIS or
GeoServer, such a layer (more features than ``ONEMAP_APP_MAX_FEATURES``) is drawn only from
``ONEMAP_APP_BBOX_MIN_ZOOM`` on, and then only the features in the view are requested from the
same OGC API Features endpoint QGIS uses (``bbox=``, at most ``ONEMAP_MAX_ITEMS``), clustered in
the browser. The URL is computed in the browser (``assets/viewload.js``) as the map moves, so
panning costs one items request and no Dash round trip.
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
        Input({"type": "om-view-layer", "layer": ALL}, "hideout"),
    )
