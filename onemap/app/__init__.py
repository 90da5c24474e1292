"""The OneMap web map (Dash + dash-leaflet): an OGC client of the OneMap server over HTTP.

Like QGIS, the app only talks to the server's public endpoints (OGC API Features, titiler,
``/api/*``); it never imports the server, store or analysis packages, which a test enforces.
"""

from onemap.app.dashapp import create_dash

__all__ = ["create_dash"]
