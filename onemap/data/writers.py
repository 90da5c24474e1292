"""Write raw sample files in the forms real data arrives in, byte-for-byte reproducibly.

The generator deliberately produces the messy formats users upload (GBK CSV with Chinese
headers, zipped Shapefiles with a .cpg, GeoPackages in CGCS2000…) so that the sample data tests
the import path instead of bypassing it. Formats that embed a timestamp are pinned: GeoPackage
via ``OGR_CURRENT_DATE``, the DBF header date and zip member times are fixed, so generating twice
gives identical files.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from onemap.catalog import atomic_write_bytes, strict_json

FIXED_DATE = "2025-12-31T00:00:00Z"
_ZIP_TIME = (2025, 12, 31, 0, 0, 0)


def write_geojson(frame: gpd.GeoDataFrame, path: Path) -> Path:
    """RFC 7946 GeoJSON (EPSG:4326), compact, keys in column order, coordinates to 1e-6°."""
    frame = frame.to_crs("EPSG:4326")
    text = frame.to_json(drop_id=True, ensure_ascii=False, to_wgs84=False, na="null")
    doc = json.loads(text)
    doc["name"] = path.stem
    atomic_write_bytes(path, strict_json(doc, ensure_ascii=False, separators=(",", ":"))
                       .encode("utf-8"))
    return path


def write_csv(frame: pd.DataFrame, path: Path, encoding: str = "utf-8") -> Path:
    """A CSV as exported from a Chinese spreadsheet/monitoring system (GBK when asked)."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    atomic_write_bytes(path, buf.getvalue().encode(encoding))
    return path


def append_csv(frame: pd.DataFrame, path: Path, encoding: str = "utf-8") -> None:
    """Append a chunk to a CSV (header only for the first chunk) without re-reading it."""
    header = not path.exists()
    with open(path, "a", encoding=encoding, newline="") as fh:
        frame.to_csv(fh, index=False, header=header, lineterminator="\n")


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: Path) -> Path:
    """A GeoPackage holding one or more layers (in each frame's own CRS)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".gpkg")
    os.close(fd)
    os.unlink(tmp)
    old = os.environ.get("OGR_CURRENT_DATE")
    os.environ["OGR_CURRENT_DATE"] = FIXED_DATE
    try:
        for name, frame in layers.items():
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", append=False,
                                    layer_options={"SPATIAL_INDEX": "YES"})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        if old is None:
            os.environ.pop("OGR_CURRENT_DATE", None)
        else:
            os.environ["OGR_CURRENT_DATE"] = old
    return path


def write_shapefile_zip(frame: gpd.GeoDataFrame, path: Path, encoding: str = "GBK") -> Path:
    """A zipped Shapefile whose attributes (and Chinese field names) are in ``encoding``,
    with a .cpg saying so, as exported by ArcGIS on a Chinese Windows."""
    with tempfile.TemporaryDirectory(dir=path.parent if path.parent.exists() else None) as tmp:
        shp = Path(tmp) / f"{path.stem}.shp"
        pyogrio.write_dataframe(frame, shp, driver="ESRI Shapefile", encoding=encoding,
                                layer_options={"SPATIAL_INDEX": "NO"})
        dbf = shp.with_suffix(".dbf")
        raw = bytearray(dbf.read_bytes())
        raw[1:4] = bytes([125, 12, 31])  # DBF "last update" YYMMDD → 2025-12-31
        dbf.write_bytes(bytes(raw))
        cpg = shp.with_suffix(".cpg")
        cpg.write_text(encoding.upper(), encoding="ascii")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for member in sorted(Path(tmp).iterdir()):
                info = zipfile.ZipInfo(member.name, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, member.read_bytes())
    atomic_write_bytes(path, buf.getvalue())
    return path
