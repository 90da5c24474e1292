"""Open OneMap's vector tiles in QGIS with OneMap's style, render them, print what was drawn.

Run by Debian's /usr/bin/python3 (python3-qgis is not in the venv):
``qgis_vtiles.py BASE_URL COLLECTION...`` prints one JSON object: per collection whether the
vector tile layer is valid, what QgsMapBoxGlStyleConverter made of ``style.json`` (its
warnings), and the rendered image's non-transparent pixel count and most common colours.
"""
import json
import sys
import urllib.request
from collections import Counter

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsMapBoxGlStyleConverter,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsRectangle,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor
from qgis_app import run


def fetch(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=60) as resp:
        return json.loads(resp.read().decode("utf-8"))


def render(layer: QgsVectorTileLayer, extent: QgsRectangle) -> dict:
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    settings.setExtent(extent)
    settings.setOutputSize(QSize(512, 512))
    settings.setBackgroundColor(QColor(0, 0, 0, 0))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    img = job.renderedImage()
    colours = Counter()
    drawn = 0
    for y in range(0, img.height(), 2):
        for x in range(0, img.width(), 2):
            c = QColor(img.pixel(x, y))
            pixel = img.pixelColor(x, y)
            if pixel.alpha() > 0:
                drawn += 1
                colours[c.name()] += 1
    return {"drawn": drawn, "sampled": (img.width() // 2) * (img.height() // 2),
            "colours": colours.most_common(12)}


def main(base: str, collections: list[str]) -> dict:
    seen = {}
    for name in collections:
        tiles = f"{base}/ogc/collections/{name}/tiles/WebMercatorQuad"
        tilejson = fetch(f"{tiles}/tilejson.json")
        url = tilejson["tiles"][0].replace("&", "%26")
        layer = QgsVectorTileLayer(f"type=xyz&url={url}&zmin=0&zmax={tilejson['maxzoom']}",
                                   name)
        out = {"valid": layer.isValid(), "crs": layer.crs().authid()}
        converter = QgsMapBoxGlStyleConverter()
        out["converted"] = converter.convert(fetch(f"{tiles}/style.json")) == \
            QgsMapBoxGlStyleConverter.Success
        out["warnings"] = list(converter.warnings())
        if out["valid"] and out["converted"]:
            layer.setRenderer(converter.renderer())
            w, s, e, n = tilejson["bounds"]
            from qgis.core import QgsCoordinateTransform, QgsProject
            to_merc = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"),
                                             QgsCoordinateReferenceSystem("EPSG:3857"),
                                             QgsProject.instance())
            out.update(render(layer, to_merc.transformBoundingBox(QgsRectangle(w, s, e, n))))
        seen[name] = out
        del layer  # before exitQgis: a layer outliving the application crashes it
    return seen


if __name__ == "__main__":
    run(lambda: main(sys.argv[1], sys.argv[2:]))
