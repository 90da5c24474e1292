"""The QGIS application around one probe script's ``main``: started headless, the result
printed as one JSON line (what the tests read), stopped even when ``main`` fails.

Imported by the ``qgis_*.py`` scripts, which Debian's /usr/bin/python3 runs from this folder.
"""
import json
from collections.abc import Callable
from typing import Any

from qgis.core import QgsApplication


def run(main: Callable[[], Any], ensure_ascii: bool = True) -> None:
    app = QgsApplication([], False)
    app.setPrefixPath("/usr", True)
    app.initQgis()
    try:
        print(json.dumps(main(), ensure_ascii=ensure_ascii), flush=True)
    finally:
        app.exitQgis()
