"""What a QGIS user gets from the README's URLs and nothing else: every layer QGIS's Browser
lists under each connection, opened with the URI the Browser gives it, drawn.

Run by Debian's /usr/bin/python3 (python3-qgis is not in the venv):
``qgis_readme.py SPEC_JSON``, SPEC_JSON ``{"wms": {name: url}, "wfs": {name: url},
"vectortile": {name: {"url": template, "styleUrl": url}}, "window": [w, s, e, n]}``. Each
connection is stored where QGIS's *New Connection* dialogs store it (``qgis/connections-…`` in
the settings: URL only, every other field at its default); QGIS's own data item providers (the
Browser panel) list its layers — the same items a user double-clicks — and each leaf is opened
with the item's URI, its default style loaded as *Add Layer* does (for vector tiles: the
``styleUrl``'s MapLibre style). Time steps of a WMTS layer are listed whole but only the first,
second and last are drawn. Prints one JSON object: ``items``, one per leaf, with its connection,
Browser path, URI, validity, feature count (vector) and, drawn at 256×256 over ``window`` (lon/lat)
in the layer's CRS, the share of non-transparent pixels and a digest of the image.
"""
import json
import re
import sys

from qgis.core import (
    QgsApplication,
    QgsLayerItem,
    QgsMapLayerType,
    QgsRasterLayer,
    QgsSettings,
    QgsVectorLayer,
    QgsVectorTileLayer,
)
from qgis.PyQt import sip
from qgis_app import picture, run

PROVIDERS = {"wms": "WMS", "wfs": "WFS", "vectortile": "Vector Tiles"}


def connect(spec: dict) -> None:
    """The connections as the dialogs save them (URL, and a style URL for vector tiles)."""
    settings = QgsSettings()
    for name, url in spec.get("wms", {}).items():
        settings.setValue(f"qgis/connections-wms/{name}/url", url)
    for name, url in spec.get("wfs", {}).items():
        settings.setValue(f"qgis/connections-wfs/{name}/url", url)
    for name, tiles in spec.get("vectortile", {}).items():
        settings.setValue(f"qgis/connections-vector-tile/{name}/url", tiles["url"])
        settings.setValue(f"qgis/connections-vector-tile/{name}/styleUrl", tiles["styleUrl"])


def leaves(item, keep: list) -> list:
    """The layer items under ``item``, depth first (children built as the Browser does)."""
    keep.append(item)  # the Python wrappers must outlive the walk
    found = []
    for child in item.children() or item.createChildren():
        keep.append(child)
        if isinstance(child, QgsLayerItem):
            found.append(child)
        found.extend(leaves(child, keep))
    return found


def open_item(item) -> object:
    kind, uri, name = item.mapLayerType(), item.uri(), item.name()
    if kind == QgsMapLayerType.VectorTileLayer:
        layer = QgsVectorTileLayer(uri, name)
        layer.loadDefaultStyle()  # the styleUrl's style, as Add Layer applies it
        return layer
    if kind == QgsMapLayerType.VectorLayer:
        return QgsVectorLayer(uri, name, item.providerKey())
    return QgsRasterLayer(uri, name, item.providerKey())


def drawn_steps(found: list) -> set[int]:
    """Positions of the leaves to draw: all but the middle time steps of each WMTS layer."""
    steps: dict[tuple, list[int]] = {}
    for i, item in enumerate(found):
        if "tileDimensions=" in item.uri():
            layer = re.search(r"layers=([^&]*)", item.uri()).group(1)
            tms = re.search(r"tileMatrixSet=([^&]*)", item.uri()).group(1)
            steps.setdefault((layer, tms), []).append(i)
    skipped = {i for run_ in steps.values() for i in run_[2:-1]}
    return set(range(len(found))) - skipped


def main(spec: dict) -> dict:
    connect(spec)
    registry = QgsApplication.dataItemProviderRegistry()
    keep: list = []
    items = []
    for key, provider_name in PROVIDERS.items():
        if not spec.get(key):
            continue
        provider = next(p for p in registry.providers() if p.name() == provider_name)
        found = leaves(provider.createDataItem("", None), keep)
        draw_these = drawn_steps(found)
        for i, item in enumerate(found):
            layer = open_item(item)
            out = {"connection": key, "path": item.path(), "name": item.name(),
                   "uri": item.uri(), "valid": layer.isValid(), "crs": None, "count": None,
                   "drawn": None, "digest": None, "error": None}
            if out["valid"]:
                out["crs"] = layer.crs().authid()
                if isinstance(layer, QgsVectorLayer):
                    out["count"] = layer.featureCount()
                if isinstance(layer, QgsVectorTileLayer):
                    out["styles"] = [s.styleName() for s in layer.renderer().styles()]
                if i in draw_these and not (isinstance(layer, QgsVectorLayer)
                                            and not layer.isSpatial()):
                    out.update(picture(layer, spec["window"]))
            else:
                error = layer.error()  # bound first: summary() of a temporary crashes under sip
                out["error"] = error.summary()
            items.append(out)
            del layer  # before exitQgis: a layer outliving the application crashes it
    for item in keep:  # the Browser's tree deletes its own items: Python must not as well
        sip.transferto(item, None)
    return {"items": items}


if __name__ == "__main__":
    run(lambda: main(json.loads(sys.argv[1])), ensure_ascii=False)
