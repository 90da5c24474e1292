"""Identify a feature and fetch a legend from OneMap's WMS in QGIS, as a QGIS user does (the
Identify tool on a WMS layer; the layer's legend in the Layers panel), and print what came back.

Run by Debian's /usr/bin/python3 (python3-qgis is not in the venv):
``qgis_wms_info.py WMS_URL LAYER LON LAT`` prints one JSON object: whether the layer is valid,
the identify formats the provider offers, the attributes of the features QGIS's WMS provider
identifies at (LON, LAT) in EPSG:4490 (as GML features, the Identify tool's "Feature" view), the
text answer, the features identified 0.05° east (none), and the size and painted pixels of
the legend graphic QGIS gets for the layer.
"""
import sys

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsPointXY,
    QgsRaster,
    QgsRasterDataProvider,
    QgsRasterLayer,
    QgsRectangle,
)
from qgis.PyQt.QtCore import QEventLoop, QTimer
from qgis_app import run


def identify(layer: QgsRasterLayer, lon: float, lat: float) -> dict:
    provider = layer.dataProvider()
    point = QgsPointXY(lon, lat)
    d = 0.01
    extent = QgsRectangle(lon - d, lat - d, lon + d, lat + d)
    caps = provider.capabilities()
    out: dict = {"formats": [name for name, flag in (
        ("feature", QgsRasterDataProvider.IdentifyFeature),
        ("text", QgsRasterDataProvider.IdentifyText),
        ("html", QgsRasterDataProvider.IdentifyHtml)) if caps & flag]}
    found = provider.identify(point, QgsRaster.IdentifyFormatFeature, extent, 101, 101)
    out["feature_valid"] = found.isValid()
    features = []
    for value in found.results().values():
        # each result: a list of feature stores (one per sublayer), each holding features
        for store in value if isinstance(value, list) else [value]:
            for feature in getattr(store, "features", lambda: [])():
                names = [f.name() for f in feature.fields()]
                values = [str(v) for v in feature.attributes()]
                features.append(dict(zip(names, values, strict=True)))
    out["features"] = features
    text = provider.identify(point, QgsRaster.IdentifyFormatText, extent, 101, 101)
    out["text"] = " ".join(str(v) for v in text.results().values())
    return out


def legend(layer: QgsRasterLayer) -> dict:
    """The legend graphic as the Layers panel gets it: the provider's legend fetcher (the
    GetLegendGraphic URL the capabilities give), waited for in an event loop."""
    fetcher = layer.dataProvider().getLegendGraphicFetcher(None)
    if fetcher is None:
        return {"width": 0, "height": 0, "painted": 0, "error": "no legend fetcher"}
    got: dict = {}
    loop = QEventLoop()
    fetcher.finish.connect(lambda image: (got.update(image=image), loop.quit()))
    fetcher.error.connect(lambda message: (got.update(error=message), loop.quit()))
    QTimer.singleShot(120_000, loop.quit)
    fetcher.start()
    if not got:
        loop.exec_()
    img = got.get("image")
    if img is None or img.isNull():
        return {"width": 0, "height": 0, "painted": 0, "error": got.get("error", "timeout")}
    painted = sum(1 for y in range(img.height()) for x in range(img.width())
                  if (img.pixel(x, y) >> 24) & 0xFF)
    return {"width": img.width(), "height": img.height(), "painted": painted}


def main(url: str, name: str, lon: float, lat: float) -> dict:
    uri = f"crs=EPSG:4490&format=image/png&layers={name}&styles=&url={url}?"
    layer = QgsRasterLayer(uri, name, "wms")
    out: dict = {"valid": layer.isValid(),
                 "error": None if layer.isValid() else layer.error().summary()}
    if layer.isValid():
        assert layer.crs() == QgsCoordinateReferenceSystem("EPSG:4490")
        out.update(identify(layer, lon, lat))
        out["far"] = identify(layer, lon + 0.05, lat)["features"]  # nothing there
        out["legend"] = legend(layer)
    del layer  # before exitQgis: a layer outliving the application crashes it
    return out


if __name__ == "__main__":
    run(lambda: main(sys.argv[1], sys.argv[2], float(sys.argv[3]),
                     float(sys.argv[4])), ensure_ascii=False)
