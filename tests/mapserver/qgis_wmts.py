"""Render WMTS layers in QGIS, as a QGIS user adding them would, and print what it drew.

Run by Debian's /usr/bin/python3 (python3-qgis is not in the venv):
``qgis_wmts.py CASES_JSON`` where CASES_JSON is a list of ``{"name", "uri", "extent"}`` —
``uri`` a QGIS "wms" provider URI (WMTS), ``extent`` [west, south, east, north] in degrees.
Prints one JSON object: per case whether the layer is valid, its CRS, the share of drawn
(non-transparent) pixels of a 256×256 render of the extent in the layer's CRS, and a digest of
the pixels (two time steps of a cube draw different images).
"""
import json
import sys

from qgis.core import QgsRasterLayer
from qgis_app import picture, run


def main(cases: list[dict]) -> dict:
    seen = {}
    for case in cases:
        layer = QgsRasterLayer(case["uri"], case["name"], "wms")
        out = {"valid": layer.isValid(), "crs": layer.crs().authid(), "drawn": 0.0,
               "digest": None, "error": None}
        if out["valid"]:
            out.update(picture(layer, case["extent"]))
        else:
            error = layer.error()  # bound first: summary() of a temporary crashes under sip
            out["error"] = error.summary()
        seen[case["name"]] = out
        del layer  # before exitQgis: a layer outliving the application crashes it
    return seen


if __name__ == "__main__":
    run(lambda: main(json.loads(sys.argv[1])))
