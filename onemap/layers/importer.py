"""Import a user's file (or frames made in memory) into the store: read, normalise, validate,
write, catalogue — one chunk at a time.

Every way data enters OneMap goes through :func:`import_frames`: the CLI and uploads via
:func:`import_file`, the sample generator via :func:`import_file` on the files it writes (so the
sample exercises the same path as a user) or :func:`import_frames` for national-scale data it
makes chunk by chunk. Memory stays at about one chunk however large the layer is: only the set
of keys seen is kept across chunks, for the duplicate check.

An import is all or nothing: if any row is refused, nothing is published and the error lists the
problems (file, row, field) so the user can fix them all in one go.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from onemap import catalog
from onemap.config import Settings, get_settings
from onemap.layers.errors import LayerImportError
from onemap.layers.families import Family, get_family
from onemap.layers.normalise import normalise
from onemap.layers.readers import CHUNK_SIZE, Frame, iter_frames, row_numbering
from onemap.layers.store import LayerWriter
from onemap.layers.validate import Validator

Access = catalog.Access


def _family(family: str | Family) -> Family:
    return family if isinstance(family, Family) else get_family(family)


def import_frames(frames: Iterable[Frame], family: str | Family, *, source: str,
                  layer_id: str | None = None, title: str | None = None,
                  title_en: str | None = None, access: Access = "public",
                  settings: Settings | None = None, unit: str = "feature",
                  first_row: int = 1, region: str = "") -> catalog.Entry:
    """Import a layer given as an iterable of chunks (GeoDataFrames with a CRS, or DataFrames
    for attribute-table families); return its catalogue entry.

    ``source`` names the data in messages and in the entry (a file name). Rows are numbered for
    messages from ``first_row`` across chunks, counted in ``unit`` ("feature" or "row"). Chunks
    may use any column names the family knows and any CRS; later chunks must not add columns
    the first did not have. ``region`` is the adcode of the office that owns the layer ("":
    the whole territory); a region-bound data manager may replace only layers its region owns.
    Raises :class:`LayerImportError` listing every problem found.
    """
    fam = _family(family)
    layer_id = catalog.check_id(layer_id or fam.name)
    settings = settings or get_settings()
    validator = Validator(fam, file=source, unit=unit)
    with LayerWriter(layer_id, fam, settings, title=title or "", title_en=title_en or ""
                     ) as writer:
        row = first_row
        for frame in frames:
            if len(frame) == 0:
                continue
            frame = frame.set_axis(pd.RangeIndex(row, row + len(frame)), axis=0)
            row += len(frame)
            if fam.geometry is None and isinstance(frame, gpd.GeoDataFrame):
                frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
            chunk = normalise(frame, fam, file=source, unit=unit)
            validator.check(chunk)
            if validator.total == 0:
                writer.write(chunk.frame)
            elif validator.full:
                break
        if validator.total:
            # File-level problems first, then in row order as the user will fix them.
            problems = sorted(validator.problems, key=lambda p: (p.row is not None, p.row or 0))
            raise LayerImportError(problems, validator.total)
        if writer.count == 0:
            raise LayerImportError.single(source, "contains no features", unit=unit)
        entry = writer.commit(access=access, source=source, region=region)
    from onemap.store import follow_catalogue  # (the store reads layers: imported late)

    follow_catalogue(settings)
    return entry


def import_frame(frame: Frame, family: str | Family, *, source: str,
                 layer_id: str | None = None, title: str | None = None,
                 title_en: str | None = None, access: Access = "public",
                 settings: Settings | None = None) -> catalog.Entry:
    """Import one in-memory frame (see :func:`import_frames`)."""
    return import_frames([frame], family, source=source, layer_id=layer_id, title=title,
                         title_en=title_en, access=access, settings=settings)


def import_file(path: str | Path, family: str | Family, *, layer_id: str | None = None,
                title: str | None = None, title_en: str | None = None,
                access: Access = "public", crs: object = None, layer: str | None = None,
                encoding: str | None = None, settings: Settings | None = None,
                chunk_size: int = CHUNK_SIZE, region: str = "") -> catalog.Entry:
    """Import a GeoJSON, (zipped) Shapefile, GeoPackage or CSV file as layer ``layer_id``
    (default: the family name) and return its catalogue entry.

    ``crs`` is the CRS of the coordinates as stored, for files that state none (or a wrong
    one); ``layer`` picks a layer in a GeoPackage or a Shapefile in a zip; ``encoding``
    overrides the detected text encoding. Missing file: FileNotFoundError; anything wrong
    with the data: :class:`LayerImportError` (a ValueError) naming file, row and field.
    """
    fam = _family(family)
    layer_id = catalog.check_id(layer_id or fam.name)
    path = Path(path)
    unit, first_row = row_numbering(path)
    frames = iter_frames(path, layer=layer, encoding=encoding, crs=crs,
                         read_geometry=fam.geometry is not None, chunk_size=chunk_size,
                         settings=settings)
    return import_frames(frames, fam, source=path.name, layer_id=layer_id, title=title,
                         title_en=title_en, access=access, settings=settings, unit=unit,
                         first_row=first_row, region=region)
