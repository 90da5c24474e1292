"""The app's view of the server: which layers exist and where the browser fetches them.

The app is a client of the OneMap server exactly like QGIS, so it learns the layers from
``/api/catalog`` and ``/api/rasters`` over HTTP (never from the store). The list is read on each
page load through the server's internal address, while every URL handed to the browser is
relative to the page, so the same page works behind a proxy at any public URL.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from onemap.app.i18n import FAMILY_GROUP
from onemap.config import Settings
from onemap.styles.colormaps import RASTER_STYLES

TIMEOUT_S = 5.0
#: TileJSON query parameters that the tile endpoint does not take (the URL says ``.png``).
TILEJSON_ONLY = frozenset({"tile_format", "tilesize", "minzoom", "maxzoom"})

#: Drawing order, bottom to top; each layer gets its own Leaflet pane at this z-index.
Z_ORDER: dict[str, int] = {
    "admin_boundaries": 210, "water_bodies": 220, "rivers": 230,
    "raster": 300,
    "protected_areas": 410, "red_lines": 420, "water_source_zones": 430,
    "sensitive_receptors": 500, "pollution_sources": 510, "water_intakes": 520,
    "water_sections": 530, "air_stations": 540, "incidents": 550,
}
#: Families whose points are clustered (thousands of them).
CLUSTERED = frozenset({"pollution_sources", "sensitive_receptors"})
#: Layers on when the page opens: the offline basemap and the monitoring networks.
DEFAULT_ON = frozenset({"admin_boundaries", "water_bodies", "rivers", "air_stations",
                        "water_sections", "incidents"})


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
    resp = requests.get(url, timeout=TIMEOUT_S, headers={"Accept": "application/json"})
    resp.raise_for_status()
    return resp.json()


def _vector(item: dict, prefix: str, settings: Settings) -> LayerSpec:
    family = item.get("family", "")
    lid = item["id"]
    query = urlencode({"f": "json", "limit": settings.max_items})
    return LayerSpec(
        id=lid, kind="vector", family=family, title=item.get("title") or lid,
        title_en=item.get("title_en") or "", group=FAMILY_GROUP.get(family, "other"),
        z=Z_ORDER.get(family, 440), url=f"{prefix}ogc/collections/{lid}/items?{query}",
        bounds=item.get("bbox"), count=int(item.get("feature_count") or 0),
        default_on=family in DEFAULT_ON, clustered=family in CLUSTERED,
    )


def _raster(item: dict, prefix: str, index: int) -> LayerSpec:
    """A titiler tile layer; colormap and rescale are taken from the server's tilejson URL."""
    lid = item["id"]
    query = {k: v for k, v in parse_qsl(urlsplit(item.get("tilejson") or "").query)
             if k not in TILEJSON_ONLY}
    colormap = query.get("colormap_name") or "onemap_ndvi"
    style = RASTER_STYLES.get(colormap)
    if "rescale" not in query and style is not None:
        query["rescale"] = f"{style.vmin:g},{style.vmax:g}"
    query.setdefault("colormap_name", colormap)
    rescale = [float(v) for v in query["rescale"].split(",")] if query.get("rescale") else []
    date = item.get("date") or ""
    title = item.get("title") or lid
    title_en = item.get("title_en") or ""
    if date and str(date)[:7] not in title:  # some titles already name their date
        title, title_en = f"{title}（{date}）", f"{title_en} ({date})" if title_en else ""
    tiles = f"{prefix}raster/{lid}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png"
    return LayerSpec(
        id=lid, kind="raster", family="raster", title=title, title_en=title_en,
        group="remote_sensing", z=Z_ORDER["raster"] + index,
        url=f"{tiles}?{urlencode(query, safe=',')}", bounds=item.get("bounds"), colormap=colormap,
        rescale=rescale,
    )


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
    try:
        for i, item in enumerate(_items(_get_json(f"{base}/api/rasters"), "rasters")):
            if item.get("id"):
                layers.append(_raster(item, prefix, i))
    except (requests.RequestException, ValueError) as exc:
        errors.append(("rasters_error", _short(exc)))
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
