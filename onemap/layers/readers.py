"""Read the files people actually have: GeoJSON, (zipped) Shapefiles, GeoPackages and CSVs.

Everything vector is read with pyogrio so that a file behaves the same here as in QGIS (same GDAL
drivers). Two things real Chinese files need that GDAL does not guess on its own:

* text encoding: a Shapefile without ``.cpg`` is usually GBK, a CSV saved by Excel is GBK or UTF-8
  with a BOM. We detect UTF-8 by decoding the bytes (cheap, exact: GBK text is almost never valid
  UTF-8) and otherwise use GB18030, the superset of GBK and GB2312;
* a CSV's coordinates are in columns with many names (经度/纬度, lon/lat, x/y…).

Files are read in chunks (:func:`iter_frames`) so a national layer of a million features never
sits in memory whole; :func:`read_file` is the convenience that concatenates them.
"""

from __future__ import annotations

import codecs
import re
import struct
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS
from pyproj.exceptions import CRSError

from onemap.config import Settings, get_settings
from onemap.layers.errors import LayerImportError
from onemap.layers.formats import (
    check_fields,
    check_vector,
    csv_columns,
    open_name,
    unzip_shapefile,
)

Frame = gpd.GeoDataFrame | pd.DataFrame

#: Default number of features per chunk: ~tens of MB for typical layers.
CHUNK_SIZE = 50_000
VECTOR_SUFFIXES = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG",
                   ".shp": "ESRI Shapefile", ".zip": "zipped Shapefile", ".csv": "CSV"}
#: CSV coordinate column names, by preference; compared after :func:`column_key`.
LON_NAMES = ("经度", "东经", "lon", "lng", "long", "longitude", "x", "x坐标", "横坐标")
LAT_NAMES = ("纬度", "北纬", "lat", "latitude", "y", "y坐标", "纵坐标")
CSV_NA = ["", "NA", "N/A", "n/a", "NULL", "null", "NaN", "nan", "None", "—", "－"]
_INT = re.compile(r"^[+-]?(0|[1-9]\d{0,17})$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def column_key(name: object) -> str:
    """Compare column names the way a person does: full-width = half-width, case and spaces
    ignored (``'ＰＭ２.５ '`` matches ``'pm2.5'``)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(name))).casefold()


def sniff_encoding(chunks: Iterator[bytes]) -> str:
    """``"UTF-8"`` if the byte stream decodes as UTF-8, else ``"GB18030"`` (covers GBK/GB2312)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in chunks:
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "GB18030"
    return "UTF-8"


def _file_blocks(path: Path, start: int = 0, size: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        fh.seek(start)
        while block := fh.read(size):
            yield block


def _dbf_text(path: Path) -> Iterator[bytes]:
    """The text bytes of a DBF: field names and records, skipping the binary header numbers."""
    with open(path, "rb") as fh:
        header = fh.read(32)
        if len(header) < 32:
            return
        header_len = struct.unpack("<H", header[8:10])[0]
        descriptors = fh.read(max(header_len - 32, 0))
    for i in range(0, len(descriptors) - 31, 32):
        if descriptors[i] == 0x0D:
            break
        yield descriptors[i:i + 11].split(b"\0", 1)[0]
    yield from _file_blocks(path, header_len)


def shapefile_encoding(shp: Path) -> str | None:
    """The encoding to read ``shp`` with: None to let GDAL honour the ``.cpg``, else sniffed."""
    cpg = next((p for p in shp.parent.glob(shp.stem + ".*") if p.suffix.lower() == ".cpg"), None)
    if cpg is not None and cpg.read_bytes().strip():
        return None
    dbf = next((p for p in shp.parent.glob(shp.stem + ".*") if p.suffix.lower() == ".dbf"), None)
    return sniff_encoding(_dbf_text(dbf)) if dbf is not None else None


def csv_encoding(path: Path) -> str:
    """Python codec for a CSV: BOM → utf-8-sig; valid UTF-8 → utf-8; otherwise gb18030."""
    with open(path, "rb") as fh:
        if fh.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
    return "utf-8" if sniff_encoding(_file_blocks(path)) == "UTF-8" else "gb18030"


def parse_crs(crs: object, file: str) -> CRS:
    """A pyproj CRS from anything pyproj understands (``"EPSG:4490"``, ``4549``, WKT…)."""
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise LayerImportError.single(file, f"unknown CRS {crs!r}: {exc}") from None


def row_numbering(path: str | Path) -> tuple[str, int]:
    """How a user counts records in this file: (word, number of the first record).

    A CSV opened in a spreadsheet has its header on row 1, so record 0 is row 2; features in a
    vector file are numbered from 1 as in QGIS.
    """
    return ("row", 2) if Path(path).suffix.lower() == ".csv" else ("feature", 1)


def _check_file(path: Path) -> str:
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise LayerImportError.single(path.name, "is a folder, not a file")
    suffix = path.suffix.lower()
    if suffix not in VECTOR_SUFFIXES:
        raise LayerImportError.single(
            path.name, f"unknown file type {suffix or '(no extension)'!r}; OneMap reads "
            + ", ".join(f"{v} ({k})" for k, v in VECTOR_SUFFIXES.items()))
    if path.stat().st_size == 0:
        raise LayerImportError.single(path.name, "the file is empty (0 bytes)")
    return suffix


def _pick(names: list[str], layer: str | None, file: str, what: str) -> str:
    if layer is not None:
        if layer in names:
            return layer
        raise LayerImportError.single(file, f"has no {what} {layer!r}; it has: {', '.join(names)}")
    if not names:
        raise LayerImportError.single(file, f"contains no {what}")
    if len(names) > 1:
        raise LayerImportError.single(
            file, f"contains several {what}s ({', '.join(names)}): choose one with layer=/--layer")
    return names[0]


def _vector_layer(path: Path, layer: str | None) -> str | None:
    if path.suffix.lower() != ".gpkg":
        return layer
    try:
        names = [str(n) for n in pyogrio.list_layers(open_name(path))[:, 0]]
    except pyogrio.errors.DataSourceError as exc:
        raise LayerImportError.single(path.name, f"is not a readable GeoPackage: {exc}") from None
    return _pick(names, layer, path.name, "layer")


def _encoding_error(shown: str, encoding: str | None, exc: UnicodeDecodeError
                    ) -> LayerImportError:
    return LayerImportError.single(
        shown, f"field names or text are not valid in the encoding "
        f"{encoding or 'declared by its .cpg'} ({exc.reason}); give the right one with "
        "encoding=/--encoding, e.g. GBK. (A UTF-8 Shapefile with Chinese field names of more "
        "than 3 characters has them cut mid-character: the DBF allows 10 bytes; save it in GBK "
        "or as a GeoPackage.)")


#: What pyogrio raises for a file GDAL cannot read through (damaged, truncated, odd fields).
_READ_ERRORS = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
                pyogrio.errors.FeatureError, pyogrio.errors.FieldError,
                pyogrio.errors.GeometryError, pyogrio.errors.CRSError)


def _iter_vector(path: Path, shown: str, *, layer: str | None, encoding: str | None,
                 crs: CRS | None, read_geometry: bool, chunk_size: int,
                 settings: Settings) -> Iterator[Frame]:
    check_vector(path, shown)
    layer = _vector_layer(path, layer)
    if encoding is None and path.suffix.lower() == ".shp":
        encoding = shapefile_encoding(path)
    name = open_name(path)
    try:
        info = pyogrio.read_info(name, layer=layer, encoding=encoding, force_feature_count=True)
    except _READ_ERRORS as exc:
        raise LayerImportError.single(shown, f"cannot be read as a vector file: "
                                      f"{str(exc).replace(str(path.parent) + '/', '')}"
                                      ) from None
    except UnicodeDecodeError as exc:
        raise _encoding_error(shown, encoding, exc) from None
    check_fields(len(info["fields"]), shown, settings)
    total = int(info["features"])
    if total <= 0:
        raise LayerImportError.single(shown, "contains no features")
    has_geometry = info["geometry_type"] is not None
    if read_geometry and has_geometry and info["crs"] is None and crs is None:
        raise LayerImportError.single(
            shown, "states no coordinate reference system (a Shapefile without .prj?): give it "
            "with crs=/--crs, e.g. EPSG:4490 for CGCS2000 lon/lat or EPSG:4549 for CGCS2000 "
            "3-degree Gauss-Krüger zone CM 120°E")
    for start in range(0, total, chunk_size):
        try:
            frame = pyogrio.read_dataframe(
                name, layer=layer, encoding=encoding, read_geometry=read_geometry and has_geometry,
                force_2d=True, skip_features=start, max_features=chunk_size, use_arrow=False,
                on_invalid="ignore")
        except UnicodeDecodeError as exc:
            raise _encoding_error(shown, encoding, exc) from None
        except _READ_ERRORS as exc:
            raise LayerImportError.single(
                shown, f"is damaged or truncated: features from {start + 1} on cannot be read "
                f"({str(exc).replace(str(path.parent) + '/', '')})") from None
        frame.index = pd.RangeIndex(start, start + len(frame))
        if isinstance(frame, gpd.GeoDataFrame) and crs is not None:
            frame = frame.set_crs(crs, allow_override=True)
        yield frame


def _find_coordinates(columns: list[str]) -> tuple[str, str] | None:
    keys = {column_key(c): c for c in reversed(columns)}
    for lon, lat in zip(LON_NAMES, LAT_NAMES, strict=False):
        if lon in keys and lat in keys:
            return keys[lon], keys[lat]
    lon = next((keys[n] for n in LON_NAMES if n in keys), None)
    lat = next((keys[n] for n in LAT_NAMES if n in keys), None)
    return (lon, lat) if lon and lat else None


def _csv_chunks(path: Path, encoding: str, chunk_size: int, **kw) -> Iterator[pd.DataFrame]:
    return pd.read_csv(path, encoding=encoding, dtype=str, keep_default_na=False,
                       na_values=CSV_NA, skipinitialspace=True, chunksize=chunk_size, **kw)


def _csv_types(path: Path, encoding: str, chunk_size: int) -> dict[str, str]:
    """First pass over a CSV: which columns hold only integers / only numbers.

    Done over the whole file (not per chunk) so every chunk gets the same column types.
    Integers with leading zeros (codes like ``0012``) stay text.
    """
    kinds: dict[str, str] = {}
    for chunk in _csv_chunks(path, encoding, chunk_size):
        for col in chunk.columns:
            if kinds.get(col) == "str":
                continue
            values = chunk[col].dropna().str.strip()
            values = values[values != ""]
            if values.empty:
                kinds.setdefault(col, "empty")
            elif values.str.match(_INT).all() and kinds.get(col) in (None, "empty", "int"):
                kinds[col] = "int"
            elif values.str.match(_FLOAT).all() and kinds.get(col) in (None, "empty", "int",
                                                                         "float"):
                kinds[col] = "float"
            else:
                kinds[col] = "str"
    return kinds


def _iter_csv(path: Path, *, encoding: str | None, crs: CRS | None, read_geometry: bool,
              chunk_size: int, settings: Settings) -> Iterator[Frame]:
    codec = encoding or csv_encoding(path)
    try:
        csv_columns(path, codec, settings)
        columns = [str(c) for c in pd.read_csv(path, encoding=codec, nrows=0).columns]
        kinds = _csv_types(path, codec, chunk_size)
    except (UnicodeDecodeError, LookupError) as exc:
        raise LayerImportError.single(path.name, f"cannot be decoded as {codec}: {exc}; give "
                                      "the right encoding with encoding=/--encoding") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise LayerImportError.single(path.name, f"is not a readable CSV: {exc}") from None
    coords = _find_coordinates(columns) if read_geometry else None
    count = 0
    for chunk in _csv_chunks(path, codec, chunk_size):
        count += len(chunk)
        for col in chunk.columns:
            if kinds.get(col) == "int":
                chunk[col] = pd.to_numeric(chunk[col].str.strip()).astype("Int64")
            elif kinds.get(col) == "float" and (coords is None or col not in coords):
                chunk[col] = pd.to_numeric(chunk[col].str.strip())
        if coords is None:
            yield chunk
            continue
        lon = pd.to_numeric(chunk[coords[0]], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(chunk[coords[1]], errors="coerce").to_numpy(dtype=float)
        points = gpd.points_from_xy(lon, lat)
        points[np.isnan(lon) | np.isnan(lat)] = None
        yield gpd.GeoDataFrame(chunk.drop(columns=list(coords)), geometry=points,
                               crs=crs or "EPSG:4326", index=chunk.index)
    if count == 0:
        raise LayerImportError.single(path.name, "has a header but no records")


def iter_frames(path: str | Path, *, layer: str | None = None, encoding: str | None = None,
                crs: object = None, read_geometry: bool = True,
                chunk_size: int = CHUNK_SIZE, settings: Settings | None = None
                ) -> Iterator[Frame]:
    """Yield the file's records ``chunk_size`` at a time, index = 0-based position in the file.

    Vector chunks are GeoDataFrames in the file's CRS (``crs`` assigns one, overriding the
    file's: use it when a Shapefile has no or a wrong ``.prj``); attribute tables (a CSV without
    coordinate columns, a GeoPackage table without geometry, or ``read_geometry=False``) are
    DataFrames. A CSV with lon/lat-like columns is taken as EPSG:4326 unless ``crs`` is given.
    Errors about the file itself raise :class:`LayerImportError` naming it; only the formats
    and limits of :mod:`onemap.layers.formats` are accepted.
    """
    settings = settings or get_settings()
    path = Path(path)
    suffix = _check_file(path)
    target = parse_crs(crs, path.name) if crs is not None else None
    if suffix == ".csv":
        yield from _iter_csv(path, encoding=encoding, crs=target, read_geometry=read_geometry,
                             chunk_size=chunk_size, settings=settings)
        return
    if suffix != ".zip":
        yield from _iter_vector(path, path.name, layer=layer, encoding=encoding, crs=target,
                                read_geometry=read_geometry, chunk_size=chunk_size,
                                settings=settings)
        return
    with tempfile.TemporaryDirectory(prefix="onemap-unzip-") as folder:
        shp = unzip_shapefile(path, layer, Path(folder), settings, _pick)
        yield from _iter_vector(shp, path.name, layer=None, encoding=encoding, crs=target,
                                read_geometry=read_geometry, chunk_size=chunk_size,
                                settings=settings)


def read_file(path: str | Path, *, layer: str | None = None, encoding: str | None = None,
              crs: object = None, read_geometry: bool = True) -> Frame:
    """The whole file as one GeoDataFrame (or DataFrame for attribute tables).

    Coordinates are left in the file's CRS; :mod:`onemap.layers.normalise` reprojects.
    """
    frames = list(iter_frames(path, layer=layer, encoding=encoding, crs=crs,
                              read_geometry=read_geometry))
    if len(frames) == 1:
        return frames[0]
    frame = pd.concat(frames)
    return frame
