"""Which files an import opens, and how: each accepted format by its own content, never a
reference to another file or a URL, and within limits that protect the machine.

OGR picks a driver from a file's content, not its name: a ``.geojson`` holding
``<OGRVRTDataSource>`` is opened by the OGR VRT driver and reads whatever file or URL it names;
a GeoJSON whose ``crs`` is a ``link`` makes GDAL fetch that URL. So before GDAL sees a file we
check that its first bytes are those of the format its name says (GeoJSON ``{``, a GeoPackage's
SQLite header and ``GPKG`` application id, a Shapefile's file code 9994), refuse GeoJSON CRS
links, and open GeoJSON with the ``GeoJSON:`` prefix so no other driver may take it. CSV never
reaches GDAL (pandas reads it). A zip is unpacked by us, member by member, under names we
choose, with its declared and actual sizes and its member count capped; a CSV's columns are
counted from its header line alone before anything else is read.
"""

from __future__ import annotations

import csv
import io
import re
import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from onemap.config import Settings
from onemap.layers.errors import LayerImportError

#: SQLite's 16-byte header and the GeoPackage application ids (GPKG 1.2+, 1.0, 1.1).
SQLITE_MAGIC = b"SQLite format 3\x00"
GPKG_IDS = (b"GPKG", b"GP10", b"GP11")
#: A Shapefile's main file starts with the big-endian file code 9994.
SHP_MAGIC = struct.pack(">i", 9994)
#: Longest CSV header line read to count columns (a header of 100,000 columns is ~1 MB).
MAX_HEADER_BYTES = 16 * 1024 * 1024
#: How far after a ``"crs"`` key a CRS link's ``"link"`` / ``"href"`` is looked for.
_CRS_WINDOW = 4096
_CRS_KEY = re.compile(rb'"crs"\s*:\s*\{')
_CRS_LINK = re.compile(rb'"type"\s*:\s*"link"|"href"\s*:')
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


def _head(path: Path, size: int = 128) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(size)


def check_geojson(path: Path, shown: str) -> None:
    """A GeoJSON object (``{`` first, after an optional BOM) without a CRS link."""
    head = _head(path, 1024).removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head.startswith(b"{"):
        what = "an OGR VRT (a list of references to other files)" if b"<OGRVRT" in head else (
            "not JSON")
        raise LayerImportError.single(shown, f"is not GeoJSON ({what}); OneMap reads GeoJSON, "
                                      "zipped Shapefiles, GeoPackages and CSV files only")
    tail = b""
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            text = tail + block
            for match in _CRS_KEY.finditer(text):
                if _CRS_LINK.search(text, match.end(), match.end() + _CRS_WINDOW):
                    raise LayerImportError.single(
                        shown, "its \"crs\" is a link to another file or URL, which OneMap "
                        "does not follow; state the CRS by name (e.g. "
                        "\"urn:ogc:def:crs:EPSG::4490\") or give it with crs=/--crs")
            tail = text[-_CRS_WINDOW:]


def check_geopackage(path: Path, shown: str) -> None:
    """An SQLite file whose application id says GeoPackage (not any SQLite database)."""
    head = _head(path, 72)
    if not head.startswith(SQLITE_MAGIC) or head[68:72] not in GPKG_IDS:
        raise LayerImportError.single(shown, "is not a GeoPackage (no SQLite header with the "
                                      "GeoPackage application id)")


def check_shapefile(shp: Path, shown: str, part: str | None = None) -> None:
    """The .shp starts with file code 9994 and is as long as its header says; a file cut short
    by an interrupted copy is named here rather than failing mid-import. ``part`` is the
    .shp's name as the user knows it (inside a zip, not our extracted name)."""
    part = part or shp.name
    head = _head(shp, 100)
    if len(head) < 100 or head[:4] != SHP_MAGIC:
        raise LayerImportError.single(shown, f"{part} is not a Shapefile main file (.shp)")
    declared = struct.unpack(">i", head[24:28])[0] * 2  # in 16-bit words
    actual = shp.stat().st_size
    if actual < declared:
        raise LayerImportError.single(shown, f"{part} is truncated: its header says "
                                      f"{declared:,} bytes but the file has {actual:,}; copy "
                                      "the Shapefile again")


def open_name(path: Path) -> str:
    """The name GDAL gets for a checked file: absolute (never a ``/vsi…`` path GDAL would
    interpret), GeoJSON forced to its own driver."""
    name = str(path.resolve())
    if name.startswith("/vsi"):
        raise LayerImportError.single(path.name, "is not a plain file")
    return f"GeoJSON:{name}" if path.suffix.lower() in (".geojson", ".json") else name


def check_vector(path: Path, shown: str) -> None:
    """The content check for a vector file by its suffix (.geojson/.json, .gpkg, .shp)."""
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        check_geojson(path, shown)
    elif suffix == ".gpkg":
        check_geopackage(path, shown)
    elif suffix == ".shp":
        check_shapefile(path, shown)


def check_fields(count: int, shown: str, settings: Settings) -> None:
    """Refuse more attribute columns than ``ONEMAP_MAX_CSV_COLUMNS``."""
    if count > settings.max_csv_columns:
        raise LayerImportError.single(shown, f"has {count:,} columns; this server accepts at "
                                      f"most {settings.max_csv_columns:,} "
                                      "(ONEMAP_MAX_CSV_COLUMNS)")


def csv_columns(path: Path, codec: str, settings: Settings) -> None:
    """Count a CSV's columns from its first line only, before pandas reads anything."""
    with open(path, "rb") as fh:
        line = fh.readline(MAX_HEADER_BYTES + 1)
    if len(line) > MAX_HEADER_BYTES:
        raise LayerImportError.single(path.name, f"its header line is over "
                                      f"{MAX_HEADER_BYTES // (1024 * 1024)} MB")
    text = line.decode(codec, errors="replace")
    count = max((len(r) for r in csv.reader(io.StringIO(text))), default=0)
    check_fields(count, path.name, settings)


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        return f"member {info.filename!r} has an absolute path or '..'"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"member {info.filename!r} is a symbolic link"
    return None


def unzip_shapefile(path: Path, layer: str | None, folder: Path, settings: Settings,
                    pick) -> Path:
    """Extract one Shapefile's parts from a zip into ``folder`` as ``layer.<ext>``.

    Refuses a zip with too many members, an unsafe member (absolute path, ``..``, symlink) or
    more declared uncompressed bytes than ``ONEMAP_MAX_ZIP_MB``; bytes are counted again while
    extracting, as declared sizes can lie. ``pick(names, layer, file, what)`` chooses the
    Shapefile when the zip holds several.
    """
    limit = settings.max_zip_mb * 1024 * 1024
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise LayerImportError.single(path.name, "is not a valid zip archive") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > settings.max_zip_members:
            raise LayerImportError.single(path.name, f"the zip holds {len(infos):,} members; "
                                          f"this server accepts at most "
                                          f"{settings.max_zip_members:,} "
                                          "(ONEMAP_MAX_ZIP_MEMBERS)")
        for info in infos:
            if (problem := _member_problem(info)) is not None:
                raise LayerImportError.single(path.name, problem)
        members = [m for m in infos if not m.is_dir()
                   and not Path(m.filename).name.startswith("._")]  # macOS resource forks
        stems = {m.filename[:-4]: m for m in members if m.filename.lower().endswith(".shp")}
        if not stems and layer is None:
            found = ", ".join(m.filename for m in members[:10]) or "nothing"
            raise LayerImportError.single(path.name, f"the zip holds no Shapefile (.shp); found: "
                                          f"{found}")
        names = sorted(stems)
        if layer is not None and layer not in stems:  # also accept the bare stem of a nested path
            layer = next((s for s in names if Path(s).name == layer), layer)
        stem = pick(names, layer, path.name, "Shapefile")
        parts = [m for m in members
                 if m.filename[:-4] == stem and m.filename[-4:].lower() in _SHAPEFILE_PARTS]
        too_big = LayerImportError.single(
            path.name, f"Shapefile {stem!r} unpacks to more than {settings.max_zip_mb:,} MB "
            "(ONEMAP_MAX_ZIP_MB)")
        if sum(m.file_size for m in parts) > limit:
            raise too_big
        written = 0
        for m in parts:
            target = folder / f"layer{m.filename[-4:].lower()}"
            try:
                with archive.open(m) as src, open(target, "wb") as dst:
                    while block := src.read(1 << 20):
                        written += len(block)
                        if written > limit:
                            raise too_big
                        dst.write(block)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise LayerImportError.single(path.name, f"the zip is damaged: {m.filename} "
                                              f"cannot be unpacked ({exc})") from None
    if not (folder / "layer.dbf").exists() or not (folder / "layer.shx").exists():
        raise LayerImportError.single(path.name, f"Shapefile {stem!r} in the zip lacks its .shx "
                                      "or .dbf part")
    shp = next(m.filename for m in parts if m.filename.lower().endswith(".shp"))
    check_shapefile(folder / "layer.shp", path.name, shp)
    return folder / "layer.shp"

