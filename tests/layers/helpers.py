"""Writers of real-world-ish files for the layer tests."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio


def write_shapefile_zip(frame: gpd.GeoDataFrame, path: Path, *, encoding: str = "GBK",
                        cpg: bool = True) -> Path:
    """Write ``frame`` as a zipped Shapefile in ``encoding``; without ``.cpg`` and with the DBF
    language byte cleared when ``cpg`` is False (as old Chinese tools write them)."""
    folder = path.parent / (path.stem + "_parts")
    folder.mkdir()
    shp = folder / "图层.shp"
    pyogrio.write_dataframe(frame, shp, encoding=encoding)
    if not cpg:
        (folder / "图层.cpg").unlink(missing_ok=True)
        dbf = folder / "图层.dbf"
        data = bytearray(dbf.read_bytes())
        data[29] = 0  # language driver id: "unknown", so only our sniffing can find GBK
        dbf.write_bytes(bytes(data))
    with zipfile.ZipFile(path, "w") as archive:
        for part in sorted(folder.iterdir()):
            archive.write(part, f"data/{part.name}")
    return path
