"""Open OGC API Features collections in QGIS, as a user of QGIS would, and print what it saw.

Run by Debian's /usr/bin/python3 (python3-qgis is not in the venv):
``qgis_oapif.py LANDING_URL COLLECTION...`` prints one JSON object, per collection whether QGIS
calls the layer valid, its feature count, and the error QGIS gives otherwise. With
``OAPIF_USER`` and ``OAPIF_KEY`` in the environment, QGIS authenticates as a user would with an
API key: user name and key in the layer's basic-authentication fields.
"""
import os
import sys

from qgis.core import QgsVectorLayer
from qgis_app import run


def main(base: str, collections: list[str]) -> dict:
    seen = {}
    login = ""
    if os.environ.get("OAPIF_USER"):
        login = f" username='{os.environ['OAPIF_USER']}' password='{os.environ['OAPIF_KEY']}'"
    for name in collections:
        layer = QgsVectorLayer(f"url='{base}' typename='{name}' pageSize='1000'{login}", name,
                               "OAPIF")
        valid = layer.isValid()
        seen[name] = {"valid": valid,
                      "count": layer.featureCount() if valid else None,
                      "error": None if valid else layer.error().summary()}
        del layer  # before exitQgis: a layer outliving the application crashes it
    return seen


if __name__ == "__main__":
    run(lambda: main(sys.argv[1], sys.argv[2:]))
