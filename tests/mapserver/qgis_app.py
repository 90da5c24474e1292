"""The QGIS application around one probe script's ``main``: started headless, the result
printed as one JSON line (what the tests read), stopped even when ``main`` fails.

Imported by the ``qgis_*.py`` scripts, which Debian's /usr/bin/python3 runs from this folder.
"""
import hashlib
import json
from collections.abc import Callable
from typing import Any

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMapLayer,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor, QImage


def run(main: Callable[[], Any], ensure_ascii: bool = True) -> None:
    app = QgsApplication([], False)
    app.setPrefixPath("/usr", True)
    app.initQgis()
    try:
        print(json.dumps(main(), ensure_ascii=ensure_ascii), flush=True)
    finally:
        app.exitQgis()


def picture(layer: QgsMapLayer, window: list[float], size: int = 256) -> dict:
    """``layer`` drawn alone at ``size``×``size`` over ``window`` (lon/lat) in its own CRS on a
    transparent background: the share of drawn (non-transparent) pixels and a digest of the
    image (two time steps of a cube draw different images)."""
    to_layer = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), layer.crs(),
                                      QgsProject.instance())
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setExtent(to_layer.transformBoundingBox(QgsRectangle(*window)))
    settings.setOutputSize(QSize(size, size))
    settings.setBackgroundColor(QColor(0, 0, 0, 0))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    img = job.renderedImage().convertToFormat(QImage.Format_ARGB32)
    bits = img.constBits()
    bits.setsize(img.sizeInBytes())
    data = bytes(bits)
    alpha = data[3::4]  # ARGB32 in memory (little endian): B, G, R, A
    return {"drawn": sum(1 for a in alpha if a) / len(alpha),
            "digest": hashlib.sha1(data).hexdigest()}
