"""Open one OGC API Features collection in QGIS WITHOUT a pageSize, read every feature, and
print what QGIS asked the server: the page size it chose comes from the server's OpenAPI
document, so the requests for items tell whether QGIS picked it up.

Run by Debian's /usr/bin/python3 (python3-qgis is not in the venv):
``qgis_paging.py LANDING_URL COLLECTION`` prints one JSON object: the features read, their
distinct ids, and each items request's URL (as QGIS's network manager created it). With
``OAPIF_USER`` and ``OAPIF_KEY`` in the environment QGIS logs in with them (basic auth).
"""
import os
import sys

from qgis.core import QgsNetworkAccessManager, QgsVectorLayer
from qgis_app import run


def main(base: str, name: str) -> dict:
    urls = []

    def seen(request) -> None:  # called in whichever thread makes the request
        url = request.url().toString()
        if "/items" in url:
            urls.append(url)

    hook = QgsNetworkAccessManager.setRequestPreprocessor(seen)
    login = ""
    if os.environ.get("OAPIF_USER"):
        login = f" username='{os.environ['OAPIF_USER']}' password='{os.environ['OAPIF_KEY']}'"
    # no pageSize: QGIS chooses it from the server's OpenAPI document
    layer = QgsVectorLayer(f"url='{base}' typename='{name}'{login}", name, "OAPIF")
    out = {"valid": layer.isValid(), "error": None if layer.isValid()
           else layer.error().summary()}
    if layer.isValid():
        ids = [f.id() for f in layer.getFeatures()]
        out.update(features=len(ids), distinct=len(set(ids)),
                   count=layer.featureCount())
    QgsNetworkAccessManager.removeRequestPreprocessor(hook)
    out["requests"] = urls
    del layer  # before exitQgis: a layer outliving the application crashes it
    return out


if __name__ == "__main__":
    run(lambda: main(sys.argv[1], sys.argv[2]))
