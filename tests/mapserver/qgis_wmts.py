"""Render WMTS layers in QGIS, as a QGIS user adding them would, and print what it drew.

Run by Debian's /usr/bin/python3 (python3-qgis is not in the venv):
``qgis_wmts.py CASES_JSON`` where CASES_JSON is a list of ``{"name", "uri", "extent"}`` —
``uri`` a QGIS "wms" provider URI (WMTS), ``extent`` [west, south, east, north] in degrees.
Prints one JSON object: per case whether the layer is valid, its CRS, the share of drawn
(non-transparent) pixels of a 256×256 render of the extent in the layer's CRS, and a digest of
the pixels (two time steps of a cube draw different images).
"""
import hashlib
import json
import sys

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor, QImage
from qgis_app import run

SIZE = 256


def render(layer: QgsRasterLayer, extent: list[float]) -> QImage:
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    to_layer = QgsCoordinateTransform(wgs84, layer.crs(), QgsProject.instance())
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setExtent(to_layer.transformBoundingBox(QgsRectangle(*extent)))
    settings.setOutputSize(QSize(SIZE, SIZE))
    settings.setBackgroundColor(QColor(0, 0, 0, 0))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    return job.renderedImage().convertToFormat(QImage.Format_ARGB32)


def main(cases: list[dict]) -> dict:
    seen = {}
    for case in cases:
        layer = QgsRasterLayer(case["uri"], case["name"], "wms")
        out = {"valid": layer.isValid(), "crs": layer.crs().authid(), "drawn": 0.0,
               "digest": None, "error": None}
        if out["valid"]:
            img = render(layer, case["extent"])
            bits = img.constBits()
            bits.setsize(img.sizeInBytes())
            data = bytes(bits)
            alpha = data[3::4]  # ARGB32 in memory (little endian): B, G, R, A
            out["drawn"] = sum(1 for a in alpha if a) / len(alpha)
            out["digest"] = hashlib.sha1(data).hexdigest()
        else:
            error = layer.error()  # bound first: summary() of a temporary crashes under sip
            out["error"] = error.summary()
        seen[case["name"]] = out
        del layer  # before exitQgis: a layer outliving the application crashes it
    return seen


if __name__ == "__main__":
    run(lambda: main(json.loads(sys.argv[1])))
