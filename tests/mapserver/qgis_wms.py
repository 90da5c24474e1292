"""Draw OneMap's WMS layers in QGIS, as a QGIS user adds them, and print what was drawn.

Run by Debian's /usr/bin/python3 (python3-qgis is not in the venv):
``qgis_wms.py WMS_URL LAYER [TIME...]`` prints one JSON object: whether QGIS calls the layer
valid, its error otherwise, and the number of non-transparent pixels of the layer drawn in
EPSG:4490 over its extent — once without time, then once per TIME (an ISO instant) with the
layer opened as WMS-T (``type=wmst``, temporal source the provider) and the map settings set to
that hour, as QGIS's temporal controller does when it plays an animation. With a TIME, each
drawing's pixels are also hashed so the caller can tell the hours apart.
"""
import hashlib
import sys

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsDateTimeRange,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsRasterLayer,
)
from qgis.PyQt.QtCore import QDateTime, QSize, Qt
from qgis_app import run


def draw(layer: QgsRasterLayer, when: QDateTime | None) -> dict:
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4490"))
    settings.setExtent(layer.extent())
    settings.setOutputSize(QSize(256, 256))
    settings.setBackgroundColor(Qt.transparent)
    if when is not None:
        settings.setIsTemporal(True)
        settings.setTemporalRange(QgsDateTimeRange(when, when.addSecs(3600), True, False))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    img = job.renderedImage()
    painted = sum(1 for y in range(img.height()) for x in range(img.width())
                  if (img.pixel(x, y) >> 24) & 0xFF)
    raw = bytes(img.constBits().asarray(img.sizeInBytes()))
    return {"painted": painted, "hash": hashlib.sha256(raw).hexdigest()}


def main(url: str, name: str, times: list[str]) -> dict:
    base = f"crs=EPSG:4490&format=image/png&layers={name}&styles=&url={url}?"
    out: dict = {}
    layer = QgsRasterLayer(base, name, "wms")
    out["valid"] = layer.isValid()
    out["error"] = None if layer.isValid() else layer.error().summary()
    if layer.isValid():
        out["plain"] = draw(layer, None)
    del layer
    if times:
        extent = f"{times[0]}/{times[-1]}/PT1H"
        uri = (base + "&type=wmst&allowTemporalUpdates=true&temporalSource=provider"
               f"&timeDimensionExtent={extent}")
        layer = QgsRasterLayer(uri, name, "wms")
        out["temporal"] = layer.isValid() and layer.temporalProperties().isActive()
        out["times"] = {t: draw(layer, QDateTime.fromString(t, Qt.ISODate)) for t in times}
        del layer  # before exitQgis: a layer outliving the application crashes it
    return out


if __name__ == "__main__":
    run(lambda: main(sys.argv[1], sys.argv[2], sys.argv[3:]))
