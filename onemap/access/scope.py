"""What of a vector layer a principal's limits let through, as a filter every reader applies.

:func:`onemap.access.policy.limits` decides *whether* a principal sees a dataset and *which
area* of it; this module turns that answer into the filters that readers AND into their
queries, so the OGC provider, the cluster summary, the map export, zonal statistics and the
processes all cut a layer the same way (GeoServer's ``VectorAccessLimits`` applied by one
``SecuredFeatureSource``, not by each service):

- :func:`visible_fids` — the feature ids of a GeoPackage table that intersect the area, for
  SQL readers (``fid IN (…)``, :func:`ids_sql`); computed once per file version and region;
- :func:`mask` — the rows of a frame already read that intersect the area, for readers that
  hold features in memory (analysis inputs);
- :func:`read` — a layer read for a principal: :class:`~onemap.access.policy.Hidden` when it
  may not see it, only the area's features when it is region-bound.

"Intersects" is the rule (as GeoFence's area filter): a river crossing the county border is
the county's too. A feature without geometry is never within a region.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from onemap import catalog
from onemap.access import context, policy
from onemap.access.policy import Limits
from onemap.access.principal import Principal
from onemap.catalog import Entry
from onemap.config import Settings
from onemap.layers.store import file_version, read_layer

#: (path, file version, table, region) → visible fids; a few layers × a few regions.
_FIDS: OrderedDict[tuple[str, tuple[int, ...], str, str], np.ndarray] = OrderedDict()
_FIDS_MAX = 128
_ENTRIES: dict[str, tuple[int, dict[str, Entry]]] = {}
_LOCK = threading.Lock()


def entries(settings: Settings) -> dict[str, Entry]:
    """The catalogue, re-read only when its file changed (readers ask on every request)."""
    path = settings.catalog_path
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        return {}
    key = str(path)
    with _LOCK:
        hit = _ENTRIES.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    loaded = catalog.load(settings)
    with _LOCK:
        _ENTRIES[key] = (stamp, loaded)
    return loaded


def limits_of(layer_id: str, settings: Settings, principal: Principal | None = None
              ) -> Limits:
    """The limits of reading catalogue entry ``layer_id`` as ``principal`` (default: the
    request's, :func:`onemap.access.context.current`). Raises
    :class:`~onemap.catalog.UnknownDataset` for an unknown id and
    :class:`~onemap.access.policy.Hidden` for one the principal may not see: callers answer
    both with the same 404."""
    entry = entries(settings).get(layer_id)
    if entry is None:
        raise catalog.UnknownDataset(layer_id)
    return policy.read(principal or context.current(), entry, settings)


def visible_fids(path: str | Path, table: str, limits: Limits) -> np.ndarray | None:
    """The ids (the GeoPackage's fid, also its R-tree id) of ``table``'s features that
    intersect the limits' area, sorted; None when the limits are whole (no filter)."""
    if limits.whole:
        return None
    if limits.area is None or limits.area.is_empty:
        return np.empty(0, dtype=np.int64)
    path = str(path)
    key = (path, file_version(path), table, str(limits.region))
    with _LOCK:
        hit = _FIDS.get(key)
        if hit is not None:
            _FIDS.move_to_end(key)
            return hit
    info = pyogrio.read_info(path, layer=table)
    if not info.get("geometry_type"):
        fids = np.empty(0, dtype=np.int64)  # a table without geometry has nothing in an area
    else:
        frame = pyogrio.read_dataframe(path, layer=table, columns=[], fid_as_index=True,
                                       bbox=limits.area.bounds, use_arrow=False)
        if frame.crs is not None and frame.crs.to_epsg() != 4326:
            frame = pyogrio.read_dataframe(path, layer=table, columns=[], fid_as_index=True,
                                           use_arrow=False).to_crs(4326)
        geoms = frame.geometry.values
        hit_mask = ~shapely.is_missing(geoms) & shapely.intersects(limits.area, geoms)
        fids = np.sort(frame.index.values[np.asarray(hit_mask, dtype=bool)].astype(np.int64))
    with _LOCK:
        _FIDS[key] = fids
        while len(_FIDS) > _FIDS_MAX:
            _FIDS.popitem(last=False)
    return fids


def ids_sql(column: str, fids: np.ndarray | None) -> str | None:
    """``fids`` as a SQL condition on the (already quoted) id ``column``; None for no filter.
    The ids are integers read from the file, never request text."""
    if fids is None:
        return None
    if len(fids) == 0:
        return "(1=0)"
    return f"({column} IN ({','.join(str(int(f)) for f in fids)}))"


def extent(entry: Entry, limits: Limits, settings: Settings
           ) -> tuple[int, list[float] | None]:
    """How many features of ``entry`` the limits let through, and their bounding box — what a
    listing may say of a layer to a region-bound principal (the catalogue's count and bbox are
    the whole layer's, and would tell a county officer how much lies outside the county).

    The box is read from the GeoPackage's R-tree (each feature's envelope, stored as float32
    rounded outward), so it holds every visible feature whole, even one reaching past the
    region's border."""
    live = bool((entry.extra or {}).get("live"))
    if not live and (limits.whole or entry.kind != "vector"):
        return entry.feature_count, entry.bbox
    path = entry.file(settings)
    fids = None if entry.kind != "vector" else visible_fids(path, entry.id, limits)
    if fids is not None and len(fids) == 0:
        return 0, None
    uri = f"file:{path}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
        table = '"' + entry.id.replace('"', '""') + '"'
        count = len(fids) if fids is not None else \
            conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
        row = conn.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                           (entry.id,)).fetchone()
        box = None
        if row is not None:
            rtree = '"' + f"rtree_{entry.id}_{row[0]}".replace('"', '""') + '"'
            where = ids_sql("id", fids) or "1=1"
            box = conn.execute(f"SELECT min(minx), min(miny), max(maxx), max(maxy) FROM {rtree}"
                               f" WHERE {where}").fetchone()
    if box is None or box[0] is None:
        return count, None
    out = [float(v) for v in box]
    if entry.bbox:  # the float32 rounding never reaches past the layer's own exact box
        out = [max(out[0], entry.bbox[0]), max(out[1], entry.bbox[1]),
               min(out[2], entry.bbox[2]), min(out[3], entry.bbox[3])]
    return count, out


def mask(frame: pd.DataFrame, limits: Limits) -> pd.DataFrame:
    """The rows of ``frame`` (a GeoDataFrame, any CRS) that intersect the limits' area; the
    frame itself when the limits are whole. Attribute-only frames have nothing in an area."""
    if limits.whole:
        return frame
    spatial = isinstance(frame, gpd.GeoDataFrame) and \
        frame._geometry_column_name in frame.columns
    if not spatial or limits.area is None or limits.area.is_empty:
        return frame.iloc[0:0]
    geometry = frame.geometry
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        geometry = geometry.to_crs(4326)
    geoms = geometry.values
    keep = ~shapely.is_missing(geoms) & shapely.intersects(limits.area, geoms)
    return frame[np.asarray(keep, dtype=bool)]


def read(layer_id: str, settings: Settings, principal: Principal | None = None,
         **kwargs: Any) -> pd.DataFrame:
    """Layer ``layer_id`` as ``principal`` sees it (default: the request's): hidden →
    :class:`~onemap.access.policy.Hidden`, region-bound → only the area's features.
    ``kwargs`` go to :func:`onemap.layers.store.read_layer`."""
    limits = limits_of(layer_id, settings, principal)
    return mask(read_layer(layer_id, settings, **kwargs), limits)
