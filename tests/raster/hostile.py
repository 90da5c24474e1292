"""Files that try to make GDAL read something other than themselves, made with real GDAL.

Each maker returns a file that plain GDAL really opens and follows (tests assert that first, so
a refusal proves the guard, not a broken trick): a VRT over a local file, over a URL, inside a
zip; formats GDAL opens from a header or beside-file (ENVI, PNM, ASCII grid); a TIFF whose
georeferencing or overviews live in sidecar files; a TIFF header claiming 100000 × 100000 px.
"""

from __future__ import annotations

import http.server
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import rasterio

from tests.raster.makers import TRANSFORM, write_geotiff

#: What a secret file holds; no response, COG or catalogue may ever contain it.
SECRET = b"root:x:0:0:ONEMAP-SECRET-7f3a9c:/root:/bin/bash\n"


def _gdal(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True, timeout=60)


def write_secret(path: Path) -> Path:
    path.write_bytes(SECRET * 8)
    return path


def raw_vrt(path: Path, secret: Path) -> Path:
    """A VRT whose band is the raw bytes of ``secret`` (named .tif, as an attacker would)."""
    width = len(SECRET)
    path.write_text(f"""<VRTDataset rasterXSize="{width}" rasterYSize="8">
  <SRS>EPSG:4326</SRS>
  <GeoTransform>117.0, 0.001, 0.0, 32.0, 0.0, -0.001</GeoTransform>
  <VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand">
    <SourceFilename relativeToVRT="0">{secret}</SourceFilename>
    <ImageOffset>0</ImageOffset><PixelOffset>1</PixelOffset><LineOffset>{width}</LineOffset>
  </VRTRasterBand>
</VRTDataset>
""", encoding="utf-8")
    return path


def source_vrt(path: Path, source: str) -> Path:
    """``gdal_translate -of VRT`` of a GeoTIFF, then pointed at ``source`` (a path, a
    ``/vsicurl/`` URL or a ``/vsizip/`` member), saved under a .tif name."""
    tif = write_geotiff(path.with_name(path.stem + "_src.tif"), width=64, height=64)
    vrt = path.with_suffix(".vrt")
    _gdal("gdal_translate", "-q", "-of", "VRT", str(tif), str(vrt))
    text = vrt.read_text(encoding="utf-8")
    start = text.index("<SourceFilename")
    end = text.index("</SourceFilename>") + len("</SourceFilename>")
    text = text[:start] + f'<SourceFilename relativeToVRT="0">{source}</SourceFilename>' + \
        text[end:]
    path.write_text(text, encoding="utf-8")
    vrt.unlink()
    tif.unlink()
    return path


def zipped_tif(path: Path) -> Path:
    """A zip holding a GeoTIFF (the /vsizip/ target)."""
    tif = write_geotiff(path.with_suffix(".tif"), width=64, height=64)
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(tif, "inner.tif")
    tif.unlink()
    return path


def other_format(path: Path, driver: str) -> Path:
    """A small georeferenced raster in a non-TIFF GDAL format (ENVI, PNM, AAIGrid)."""
    tif = write_geotiff(path.with_name(path.stem + "_src.tif"), width=64, height=64)
    _gdal("gdal_translate", "-q", "-of", driver, str(tif), str(path))
    tif.unlink()
    return path


def baseline_tif(path: Path) -> Path:
    """A TIFF with no GeoTIFF tags: its CRS sits in ``.tif.aux.xml`` and its geotransform in
    ``.tfw`` (GDAL's BASELINE profile, as some desktop tools write)."""
    tif = write_geotiff(path.with_name(path.stem + "_src.tif"), width=64, height=64)
    _gdal("gdal_translate", "-q", "-co", "PROFILE=BASELINE", "-co", "TFW=YES", str(tif),
          str(path))
    tif.unlink()
    return path


def tif_with_ovr(path: Path) -> Path:
    """A GeoTIFF with an external ``.ovr`` overview file beside it."""
    write_geotiff(path, width=256, height=256)
    _gdal("gdaladdo", "-q", "-ro", str(path), "2", "4")
    return path


def huge_header(path: Path, side: int = 100_000) -> Path:
    """A valid sparse GeoTIFF of ``side`` × ``side`` px: a header and block tables, no pixels
    (well under a megabyte on disk)."""
    with rasterio.open(path, "w", driver="GTiff", width=side, height=side, count=1,
                       dtype="uint8", crs="EPSG:4326", transform=TRANSFORM, tiled=True,
                       blockxsize=1024, blockysize=1024, compress="deflate",
                       sparse_ok=True):
        pass
    return path


def read_all(path: Path | str) -> np.ndarray:
    """What plain GDAL (no guard) reads from ``path``."""
    with rasterio.open(path) as src:
        return src.read()


@contextmanager
def web_server(root: Path) -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on 127.0.0.1 serving ``secret.tif`` from ``root``: (base URL, the
    list of paths requested so far)."""
    root.mkdir(parents=True, exist_ok=True)
    write_geotiff(root / "secret.tif", width=64, height=64)
    hits: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args) -> None:
            hits.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
