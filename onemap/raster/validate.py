"""Checks run on a raster before it is converted: is it a self-contained GeoTIFF, does it say
where it is, and is it within this server's limits?

Rasters in are rasters, not references. GDAL opens hundreds of formats, and several of them are
recipes that point elsewhere: a VRT naming ``/etc/passwd`` or ``/vsicurl/http://intranet-host/``,
an ENVI or ESRI ``.hdr`` describing raw bytes in another file, a ``.aux.xml`` or ``.ovr`` beside
a TIFF that GDAL reads as part of it. Converting such a file would copy whatever it references
into a COG anyone downloads. So a file a user hands us is opened only if its first bytes are a
TIFF's, only with GDAL's GTiff driver, and only inside :func:`safe_env`, which stops GDAL from
looking at any file beside it. Both the upload route and ``onemap raster add`` go through
:func:`check_source` and :func:`open_source`; nothing else opens a user's raster.

A file without a CRS or a geotransform would convert "successfully" into a COG placed at
(0, 0) in pixel units — a layer that never shows on the map. Refusing it up front, with the file
name and the reason, is what the person uploading it needs.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioError, RasterioIOError
from rasterio.transform import Affine

from onemap.config import Settings, get_settings

#: The only driver a user's raster is opened with: a TIFF holds its own pixels.
DRIVER = "GTiff"
#: First bytes of a classic TIFF and a BigTIFF, little- and big-endian.
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
#: GDAL configuration for every open of a user's file (validation and conversion):
#: no directory listing (so no .aux.xml, .ovr, .msk, .tfw, .IMD/.RPB found beside it), no PAM
#: (.aux.xml) read or written, georeferencing only from inside the file, no network.
SAFE_GDAL: dict[str, str] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_PAM_ENABLED": "NO",
    "GDAL_GEOREF_SOURCES": "INTERNAL",
    "GDAL_HTTP_MAX_RETRY": "0",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".onemap-no-network",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "GDAL_VRT_ENABLE_RAWRASTERBAND": "NO",
}
#: What a refused file looks like, from its first bytes, to say so in words.
_LOOKS_LIKE = ((b"<VRTDataset", "a GDAL VRT (a list of references to other files or URLs)"),
               (b"<", "an XML document (a GDAL VRT or PAM file?)"), (b"ENVI", "an ENVI header"),
               (b"ncols", "an ASCII grid"), (b"NCOLS", "an ASCII grid"),
               (b"PK\x03\x04", "a zip archive"), (b"\x89PNG", "a PNG image"),
               (b"\xff\xd8\xff", "a JPEG image"), (b"P5", "a PNM image"), (b"P6", "a PNM image"),
               (b"/vsi", "a GDAL virtual path"), (b"CDF", "a netCDF file"),
               (b"\x89HDF", "an HDF5 file"))


class UnsupportedRasterFormat(ValueError):
    """A file that is not a self-contained GeoTIFF (→ HTTP 415 ``UnsupportedFormat``)."""


class RasterTooLarge(ValueError):
    """A raster over the configured pixel or band limits (→ HTTP 413)."""


@contextmanager
def safe_env(**options: Any) -> Iterator[None]:
    """A ``rasterio.Env`` with :data:`SAFE_GDAL` (plus ``options``, which cannot loosen it)."""
    with rasterio.Env(**{**options, **SAFE_GDAL}):
        yield


def check_format(path: Path) -> None:
    """Refuse anything that does not start as a TIFF does, naming what it looks like.

    A known raster (or reference) format GDAL could open is :class:`UnsupportedRasterFormat`
    (we refuse it on purpose); anything else is simply not a raster (a plain ValueError).
    """
    with open(path, "rb") as fh:
        head = fh.read(64)
    if head[:4] in TIFF_MAGIC:
        return
    what = next((label for magic, label in _LOOKS_LIKE if head.lstrip().startswith(magic)),
                None)
    if what is None:
        raise ValueError(f"{path.name}: not a readable raster file (it is not a TIFF); OneMap "
                         "accepts GeoTIFF or Cloud-Optimised GeoTIFF files")
    raise UnsupportedRasterFormat(
        f"{path.name}: unsupported raster format: the file is {what}; OneMap accepts only "
        "self-contained GeoTIFF or Cloud-Optimised GeoTIFF files. Formats that reference other "
        "files or URLs (VRT, /vsi paths, ENVI/ESRI .hdr, sidecar files) are refused; convert "
        "with e.g. 'gdal_translate -of GTiff in out.tif' first")


def open_source(path: Path) -> rasterio.io.DatasetReader:
    """Open a user's raster with the GTiff driver only; call inside :func:`safe_env`.

    The path is absolute and resolved, so GDAL never sees a ``/vsi…`` prefix or a relative
    name it could interpret; ``driver=`` makes GDAL refuse any other driver even if the first
    bytes were faked.
    """
    check_format(path)
    name = str(path.resolve())
    if name.startswith("/vsi"):
        raise UnsupportedRasterFormat(f"{path.name}: not a plain file name")
    with warnings.catch_warnings():
        # an ungeoreferenced file is reported by check_source, in words, instead of a warning
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        try:
            return rasterio.open(name, driver=DRIVER)
        except RasterioIOError as exc:
            raise UnsupportedRasterFormat(f"{path.name}: not a readable GeoTIFF "
                                          f"({exc})".replace(name, path.name)) from None


def check_limits(path: Path, info: dict[str, Any], settings: Settings) -> None:
    """Refuse rasters over ``ONEMAP_MAX_RASTER_PIXELS`` / ``ONEMAP_MAX_RASTER_BANDS``."""
    pixels = info["width"] * info["height"]
    if pixels > settings.max_raster_pixels:
        raise RasterTooLarge(f"{path.name}: {info['width']} × {info['height']} = {pixels:,} "
                             f"pixels is over this server's limit of "
                             f"{settings.max_raster_pixels:,} (ONEMAP_MAX_RASTER_PIXELS)")
    if info["count"] > settings.max_raster_bands:
        raise RasterTooLarge(f"{path.name}: {info['count']} bands is over this server's limit "
                             f"of {settings.max_raster_bands} (ONEMAP_MAX_RASTER_BANDS)")


def check_source(path: Path, settings: Settings | None = None) -> dict[str, Any]:
    """Basic facts about the raster at ``path``.

    Raises :class:`UnsupportedRasterFormat` for anything but a GeoTIFF, :class:`RasterTooLarge`
    over the limits (checked from the header, before any pixel is read) and ValueError, naming
    the file, for a raster that is unusable.
    """
    settings = settings or get_settings()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise ValueError(f"{path.name}: not a file")
    try:
        with safe_env(), open_source(path) as src:
            if src.count == 0 or src.width == 0 or src.height == 0:
                raise ValueError(f"{path.name}: the raster has no bands or no pixels")
            info = {"dtype": src.dtypes[0], "count": src.count, "width": src.width,
                    "height": src.height, "nodata": src.nodata}
            check_limits(path, info, settings)
            if src.crs is None:
                raise ValueError(f"{path.name}: the raster has no coordinate reference system "
                                 f"(CRS){_sidecar_hint(path)}; assign one (e.g. EPSG:4490) "
                                 "before adding it")
            if src.transform == Affine.identity() and not src.gcps[0]:
                raise ValueError(f"{path.name}: the raster has no geotransform (it is not "
                                 f"georeferenced){_sidecar_hint(path)}")
            if len(set(src.dtypes)) != 1:
                raise ValueError(f"{path.name}: bands of different data types are not supported")
            _check_last_block(src, path)
            return {**info, "crs": src.crs.to_string()}
    except RasterioIOError as exc:
        raise ValueError(f"{path.name}: not a readable raster file ({exc})") from None
    except RasterioError as exc:
        raise ValueError(f"{path.name}: cannot read the raster ({exc})") from None


def _sidecar_hint(path: Path) -> str:
    """Why georeferencing that QGIS shows is missing here: it sits in a file beside this one."""
    beside = sorted(p.name for p in path.parent.glob(f"{path.stem}.*")
                    if p != path and p.suffix.lower() in (".xml", ".tfw", ".tifw", ".wld",
                                                          ".aux", ".prj"))
    if not beside:
        return ""
    return (f" — files beside it ({', '.join(beside)}) are not read: embed the georeferencing "
            "in the TIFF, e.g. with 'gdal_translate in.tif out.tif'")


def _check_last_block(src: rasterio.io.DatasetReader, path: Path) -> None:
    """Read the last block of every band: a file cut short by an interrupted copy has a
    readable header but no data at its end, and would otherwise fail minutes later, mid-way
    through the conversion."""
    from rasterio.windows import Window

    bh, bw = src.block_shapes[0]
    row, col = (src.height - 1) // bh * bh, (src.width - 1) // bw * bw
    window = Window(col, row, min(bw, src.width - col), min(bh, src.height - row))
    try:
        src.read(window=window)
    except RasterioError as exc:
        raise ValueError(f"{path.name}: the file is damaged or truncated: its last block of "
                         f"pixels cannot be read ({exc})") from None


def known_colormap(name: str) -> bool:
    """A OneMap colormap or one of rio-tiler's built-in ones (viridis, rdylgn…)."""
    from rio_tiler.colormap import cmap

    from onemap.styles.colormaps import RASTER_STYLES

    return name in RASTER_STYLES or name in cmap.list()
