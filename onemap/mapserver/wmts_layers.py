"""The WMTS layers of the catalogue and the tile one of them gives at a time.

Three kinds of layer, each from what the caller may see (a hidden dataset is no layer, and a
hidden step of a series is no time of it):

- a *series* — raster entries sharing ``extra.collection`` (the NDVI months, GF-1 scenes) —
  is one layer named by the collection, its ``Time`` values the members' dates; a time selects
  the member of that date, and no time (or QGIS's literal ``{Time}``) the latest, as the web
  map's time slider starts on the latest step;
- a *cube* is one layer named by its id, its ``Time`` values the cube's steps; no time is the
  first step, as ``/cube/{id}/tiles`` without ``sel`` is;
- every *raster* is also a layer of its own, without a dimension (ArcGIS users add a scene).

Tiles are rendered by rio-tiler with the entry's default rendering — the colormap, rescale and
bands the web map's ``/raster`` and ``/cube`` tile URLs carry (rasters.render_params,
listing.cube_params) — so a WMTS tile is the web map's tile of the same step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import morecantile
import numpy as np
import pandas as pd
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from rio_tiler.models import ImageData
from titiler.core.resources.enums import ImageType
from titiler.core.utils import render_image

from onemap.access.principal import Principal
from onemap.catalog import Entry
from onemap.mapserver.cubes import CubeReader, check_sel, cube_entry
from onemap.mapserver.defaults import entry_rescale
from onemap.mapserver.errors import ApiError
from onemap.mapserver.rasters import COLORMAPS, Catalogue, default_bidx
from onemap.mapserver.wmts import WmtsLayer
from onemap.raster.stac import series_title

#: What a client sends when it names no time: nothing, the template's own placeholder (QGIS
#: 3.22 does not substitute ``<Default>``), or the word.
NO_TIME = ("", "{time}", "default")
TILE_SIZE = 256


@dataclass(frozen=True)
class Source:
    """A layer of the catalogue: its kind (raster | series | cube), its entries (one, or the
    series' members by date) and its times (the members' dates, the cube's steps)."""

    id: str
    kind: str
    entries: tuple[Entry, ...]
    times: tuple[str, ...]

    @property
    def default(self) -> str | None:
        if not self.times:
            return None
        return self.times[0] if self.kind == "cube" else self.times[-1]


def sources(entries: list[Entry]) -> dict[str, Source]:
    """The layers of ``entries`` (already cut to what the caller sees), cubes first, then
    series, then single rasters; an id taken by an earlier layer is not reused (a series named
    like its only member is that member, with its date)."""
    out: dict[str, Source] = {}
    for e in entries:
        if e.kind == "cube" and (e.extra or {}).get("times"):
            out[e.id] = Source(e.id, "cube", (e,), tuple(e.extra["times"]))
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        if e.kind == "raster" and (e.extra or {}).get("date"):
            groups.setdefault((e.extra or {}).get("collection") or e.id, []).append(e)
    for cid, members in groups.items():
        if cid not in out:
            members.sort(key=lambda m: (str(m.extra["date"]), m.id))
            times = tuple(dict.fromkeys(str(m.extra["date"]) for m in members))
            out[cid] = Source(cid, "series", tuple(members), times)
    for e in entries:
        if e.kind == "raster" and e.id not in out:
            out[e.id] = Source(e.id, "raster", (e,), ())
    return out


def named(entries: Iterable[Entry], layer: str) -> list[Entry]:
    """The entries that can make the layer ``layer``: ``sources(named(es, x))[x]`` is
    ``sources(es)[x]``, with the access policy asked about a few entries, not all, per tile."""
    return [e for e in entries if e.kind in ("raster", "cube")
            and (e.id == layer or (e.extra or {}).get("collection") == layer)]


def _instant(value: str) -> pd.Timestamp:
    """An ISO 8601 time as a naive UTC timestamp (``2025-07`` is the month's first instant)."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = pd.NaT
    if ts is pd.NaT:
        raise ApiError(400, "InvalidParameterValue",
                       f"time: {value!r} is not an ISO 8601 time (e.g. 2025-07 or "
                       "2025-01-21T08:00:00Z)")
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def step(source: Source, time: str) -> str | None:
    """The Time value of ``source`` at the instant ``time`` names (``2025-07-01T00:00:00Z``
    is the step ``2025-07``), or None; ApiError 400 for a time that is not ISO 8601."""
    wanted = _instant(time)
    return next((t for t in source.times if _instant(t) == wanted), None)


def pick(source: Source, time: str | None) -> tuple[Entry, str | None]:
    """The entry and the cube step (``sel``, ``time=<ISO>``) a tile at ``time`` reads; ApiError 400
    naming the layer's times for a time it does not have."""
    if time is None or time.strip().lower() in NO_TIME:
        time = source.default
    if source.kind == "raster":
        if time is not None:
            raise ApiError(400, "InvalidParameterValue",
                           f"time: layer {source.id!r} has no Time dimension")
        return source.entries[0], None
    if time is None:  # a series or cube always has times: this is for the type checker
        raise ApiError(400, "InvalidParameterValue", f"time: layer {source.id!r} has none")
    if source.kind == "cube":
        entry = source.entries[0]
        try:
            return entry, check_sel(entry, [f"time={time}"])[0]
        except ApiError as exc:
            raise ApiError(400, "InvalidParameterValue",
                           exc.detail.replace("sel: ", "time: ", 1)) from None
    published = step(source, time)
    for member in source.entries:
        if str(member.extra["date"]) == published:
            return member, None
    raise ApiError(400, "InvalidParameterValue",
                   f"time: layer {source.id!r} has no step at {time}; its times are "
                   f"{', '.join(source.times)}")


def layer_doc(source: Source, public_url: str, template: str, default: str | None = None
              ) -> WmtsLayer:
    """The ``<Layer>`` of ``source`` with tile URL ``template``, its Default ``default`` (one
    of its times) or else the step its tiles give without a time."""
    first = source.entries[-1] if source.kind == "series" else source.entries[0]
    extra = first.extra or {}
    title, abstract = first.title, first.title_en
    if source.kind == "series" and len(source.entries) > 1:
        title = series_title(source.id, list(source.entries), "title")
        abstract = series_title(source.id, list(source.entries), "title_en")
    boxes = np.array([e.bbox for e in source.entries if e.bbox] or [[-180, -85, 180, 85]])
    bbox = [float(boxes[:, 0].min()), float(boxes[:, 1].min()), float(boxes[:, 2].max()),
            float(boxes[:, 3].max())]
    colormap = extra.get("colormap")
    legend = (f"{public_url}/api/legends/{colormap}.png"
              if colormap in COLORMAPS.list() else None)
    return WmtsLayer(source.id, title, abstract or title, bbox, template, source.times,
                     default or source.default, legend)


def _blank() -> bytes:
    empty = np.ma.masked_array(np.zeros((1, TILE_SIZE, TILE_SIZE), "uint8"), mask=True)
    return render_image(ImageData(empty), output_format=ImageType.png)[0]


BLANK = _blank()


def render(cat: Catalogue, who: Principal, entry: Entry, sel: str | None,
           tms: morecantile.TileMatrixSet, z: int, x: int, y: int) -> bytes:
    """A PNG tile of ``entry`` (at cube step ``sel``) with its default rendering; a tile of the
    matrix beside the data is transparent, as WMTS clients expect of a tile they may ask for.
    The read goes through the access policy again (``policy.read``: the audit of internal
    reads)."""
    extra = entry.extra or {}
    try:
        if entry.kind == "cube":
            _, path = cube_entry(cat, entry.id, who)
            with CubeReader(path, tms=tms, variable=extra["variable"],
                            sel=[sel] if sel else None) as src:
                image = src.tile(x, y, z, tilesize=TILE_SIZE)
        else:
            path = cat.raster_path(entry.id, who)
            expression = extra.get("expression")
            with Reader(path, tms=tms) as src:
                image = src.tile(x, y, z, tilesize=TILE_SIZE, expression=expression or None,
                                 indexes=None if expression else default_bidx(entry))
    except TileOutsideBounds:
        return BLANK
    name = extra.get("colormap")
    colormap = COLORMAPS.get(name) if name in COLORMAPS.list() else None
    return render_image(image, colormap=colormap, output_format=ImageType.png,
                        rescale=entry_rescale(entry))[0]
