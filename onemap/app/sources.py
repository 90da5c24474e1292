"""The app's view of the server: which layers exist and where the browser fetches them.

The app is a client of the OneMap server exactly like QGIS, so it learns the layers from
``/api/catalog`` and ``/api/rasters`` over HTTP (never from the store). The list is read on each
page load through the server's internal address, while every URL handed to the browser is
relative to the page, so the same page works behind a proxy at any public URL.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from urllib.parse import urlencode, urlsplit

import requests

from onemap.app import serverhttp
from onemap.app.i18n import FAMILY_GROUP
from onemap.app.rasters import RASTER_Z, raster_entries
from onemap.config import Settings

TIMEOUT_S = 5.0
#: The vector tiles' matrix set the map (Web Mercator, like Leaflet's) asks for.
TILE_MATRIX_SET = "WebMercatorQuad"

#: Drawing order, bottom to top; each layer gets its own Leaflet pane at this z-index.
Z_ORDER: dict[str, int] = {
    "admin_boundaries": 210, "water_bodies": 220, "rivers": 230,
    "raster": RASTER_Z,
    "protected_areas": 410, "red_lines": 420, "water_source_zones": 430,
    "sensitive_receptors": 500, "pollution_sources": 510, "outlets": 515, "water_intakes": 520,
    "water_sections": 530, "air_stations": 540, "incidents": 550,
    "devices": 545, "alarms": 560,
}
#: Families whose points are clustered (thousands of them).
CLUSTERED = frozenset({"pollution_sources", "outlets", "sensitive_receptors"})
#: Layers on when the page opens: the offline basemap and the monitoring networks.
DEFAULT_ON = frozenset({"admin_boundaries", "water_bodies", "rivers", "air_stations",
                        "water_sections", "incidents", "alarms"})


@dataclass
class LayerSpec:
    """One entry of the layer list, as stored in the page (``dcc.Store``)."""

    id: str
    kind: str  # "vector" | "raster"
    family: str
    title: str
    title_en: str
    group: str
    z: int
    url: str = ""
    bounds: list[float] | None = None
    colormap: str = ""
    rescale: list[float] = field(default_factory=list)
    count: int = 0
    default_on: bool = False
    clustered: bool = False
    # Rasters only: pixel-value URL template, unit, band names, band math, popup label, legend
    # URL, the dataset ids drawn, and for a series its steps and the step shown first.
    point: str = ""
    unit: str = ""
    bands: list[str] = field(default_factory=list)
    expression: str = ""
    value_label: str = ""
    legend: str = ""
    datasets: list[str] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    step: int = 0
    bidx: list[int] = field(default_factory=list)
    # Vector layers too big to ship whole: drawn from the server's vector tiles (this URL
    # template, Leaflet's {z}/{x}/{y} in OGC's tileMatrix/tileRow/tileCol order), which hold
    # every feature of a tile or, where it is dense, their counts on a grid; "" = shipped whole.
    tiles_url: str = ""


@dataclass
class Sources:
    """What a page load learnt from the server: the layers and any error to show."""

    layers: list[LayerSpec]
    errors: list[tuple[str, str]]  # (UI string key, error text)

    def to_store(self) -> list[dict]:
        return [asdict(layer) for layer in self.layers]


def internal_url(settings: Settings) -> str:
    """The server's own address, reachable from inside its process (a wildcard bind → loopback)."""
    host = settings.host
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def base_path(settings: Settings) -> str:
    """The path prefix under which the browser sees the app, from the public URL ("/" or "/x/")."""
    path = urlsplit(settings.public_url).path.strip("/")
    return f"/{path}/" if path else "/"


def _get_json(url: str) -> object:
    return serverhttp.get_json(url, timeout=TIMEOUT_S)


def _vector(item: dict, prefix: str, settings: Settings) -> LayerSpec:
    family = item.get("family", "")
    lid = item["id"]
    query = urlencode({"f": "json", "limit": settings.max_items})
    count = int(item.get("feature_count") or 0)
    big = count > min(settings.app_max_features, settings.max_items)
    return LayerSpec(
        id=lid, kind="vector", family=family, title=item.get("title") or lid,
        title_en=item.get("title_en") or "", group=FAMILY_GROUP.get(family, "other"),
        z=Z_ORDER.get(family, 440), url=f"{prefix}ogc/collections/{lid}/items?{query}",
        bounds=item.get("bbox"), count=count,
        default_on=family in DEFAULT_ON and not big, clustered=family in CLUSTERED and not big,
        # with the data version, as the server's own TileJSON: tiles cached as immutable
        tiles_url=f"{prefix}ogc/collections/{lid}/tiles/{TILE_MATRIX_SET}/{{z}}/{{y}}/{{x}}"
        + (f"?v={item['version']}" if item.get("version") else "") if big else "",
    )


def raster_specs(doc: object) -> list[LayerSpec]:
    """The raster and series entries of a ``/api/rasters`` answer, drawn in listing order."""
    return [LayerSpec(kind="raster", family="raster", group="remote_sensing",
                      z=Z_ORDER["raster"] + i, **entry)
            for i, entry in enumerate(raster_entries(doc))]


def load_rasters(settings: Settings) -> tuple[list[LayerSpec], list[tuple[str, str]]]:
    """Only the rasters (after an upload): the specs, or an error to show."""
    try:
        return raster_specs(_get_json(f"{internal_url(settings)}/api/rasters")), []
    except (requests.RequestException, ValueError) as exc:
        return [], [("rasters_error", _short(exc))]


def load_sources(settings: Settings) -> Sources:
    """Ask the server for its catalogue and rasters; never raises (errors are shown in the page)."""
    base = internal_url(settings)
    prefix = base_path(settings)
    layers: list[LayerSpec] = []
    errors: list[tuple[str, str]] = []
    try:
        for item in _items(_get_json(f"{base}/api/catalog"), "datasets"):
            if item.get("kind") == "vector" and item.get("id"):
                layers.append(_vector(item, prefix, settings))
    except (requests.RequestException, ValueError) as exc:
        errors.append(("catalog_error", _short(exc)))
    rasters, raster_errors = load_rasters(settings)
    layers += rasters
    errors += raster_errors
    layers.sort(key=lambda layer: (layer.z, layer.id))
    return Sources(layers, errors)


def _items(doc: object, key: str) -> list[dict]:
    """The entries of a listing, whether sent bare or wrapped as ``{key: [...]}``."""
    if isinstance(doc, dict):
        doc = doc.get(key)
    return [item for item in doc if isinstance(item, dict)] if isinstance(doc, list) else []


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 160 else text[:157] + "…"
