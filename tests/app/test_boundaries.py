"""The app is an HTTP client of the server: importing it must not pull in the server side."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("onemap.mapserver", "onemap.analysis", "onemap.layers", "onemap.raster",
             "onemap.data", "onemap.server", "onemap.catalog")


def test_app_imports_no_server_packages() -> None:
    code = ("import json, sys; import onemap.app; from onemap.config import Settings; "
            "from pathlib import Path; onemap.app.create_dash(Settings(data_dir=Path('.'))); "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('onemap'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    bad = [m for m in loaded if m.startswith(FORBIDDEN)]
    assert not bad, f"onemap.app imported server-side modules: {bad}"
    assert "onemap.app" in loaded and "onemap.styles" in loaded
