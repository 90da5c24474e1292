"""The mapfiles behind /wms and /wfs: generated from the catalogue only, parsed by MapServer
itself, regenerated when the catalogue changes (the previous build kept for requests under way)."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from onemap import catalog
from onemap.config import Settings
from onemap.mapserver import wms_mapfile

PARSE = """
import json, sys, mapscript
m = mapscript.mapObj(sys.argv[1])
print(json.dumps([[m.getLayer(i).name, m.getLayer(i).type, m.getLayer(i).data or "",
                   m.getLayer(i).connection or "", m.getLayer(i).tileindex or ""]
                  for i in range(m.numlayers)]))
"""


def parsed(mapfile: Path) -> list[list]:
    out = subprocess.run(["/usr/bin/python3", "-c", PARSE, str(mapfile)], capture_output=True,
                         text=True, timeout=120, check=True, env={"PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout)


def test_mapfiles_name_only_catalogued_files(own_runtime: Settings) -> None:
    settings = own_runtime
    entries = catalog.load(settings)
    folder = wms_mapfile.write(settings, entries)
    layers = {row[0]: row for row in parsed(folder / "wms.map")}
    vectors = {e.id for e in entries.values() if e.kind == "vector"}
    rasters = {e.id for e in entries.values() if e.kind in ("raster", "cube")}
    assert rasters | {"ndvi"} <= set(layers)
    for vid in vectors:  # a big point layer is a group of its clusters and its points
        assert vid in layers or {f"{vid}_points", f"{vid}_clusters"} <= set(layers)
    assert {"pollution_sources_points", "outlets_points"} <= set(layers)
    allowed = (str(settings.data_dir),)
    for name, _type, data, connection, tileindex in layers.values():
        source = connection or tileindex or data
        assert source.startswith(allowed), (name, source)
    wfs = {row[0] for row in parsed(folder / "wfs.map")}
    assert wfs == vectors
    text = (folder / "wms.map").read_text(encoding="utf-8")
    # nothing a request could fill in: no runtime substitution, no VRT, no /vsi paths
    assert "VALIDATION" not in text and not re.search(r"%\w+%", text)
    assert ".vrt" not in text.lower() and "/vsi" not in text
    assert '"wms_sld_enabled" "false"' in text


def test_mapfiles_follow_the_catalogue(own_runtime: Settings) -> None:
    settings = own_runtime
    entries = catalog.load(settings)
    first = wms_mapfile.write(settings, entries)
    assert wms_mapfile.write(settings, entries) == first  # unchanged: nothing rewritten
    fewer = {k: v for k, v in entries.items() if k != "rivers"}
    second = wms_mapfile.write(settings, fewer)
    assert second != first and first.exists()  # the previous build stays for requests
    assert "rivers" not in {row[0] for row in parsed(second / "wms.map")}
    current = json.loads((wms_mapfile.wms_dir(settings) / "current.json").read_text())
    assert current["folder"] == str(second)
    third = wms_mapfile.write(settings, entries)
    assert third == first and second.exists()
    renamed = {**entries, "rivers": entries["rivers"].model_copy(update={"title": "河流 2"})}
    fourth = wms_mapfile.write(settings, renamed)
    assert not second.exists()  # older than the previous: removed
    assert "河流 2" in (fourth / "wms.map").read_text(encoding="utf-8")
    steps = list((wms_mapfile.wms_dir(settings) / "steps").iterdir())
    # each cube's hours, written once and shared by the builds (processes add cubes)
    assert len(steps) == sum(e.kind == "cube" for e in entries.values())
