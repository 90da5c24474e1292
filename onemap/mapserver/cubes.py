"""Data cubes (zarr, time × y × x) by catalogue id: titiler.xarray at ``/cube/{dataset_id}``.

titiler.xarray's stock reader opens whatever ``url=`` names, and its IO parameters include
``group`` (a path inside — or, with ``..``, beside — the store) and ``decode_times``. Here the
store comes only from the catalogue: the path dependency maps ``dataset_id`` to the cube's zarr
folder inside the data dir (404 for anything else), and the reader dependency is ours, exposing
only ``variable`` (default: the cube's variable, and only that one) and ``sel`` on the time
dimension, checked against the cube's own times so a time outside the cube is a 400 in words
rather than a KeyError deep in xarray (a 500).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Annotated, Any

import attr
import pandas as pd
import xarray as xr
from fastapi import APIRouter, Path, Query, Request
from titiler.core.dependencies import DefaultDependency, HistogramParams, StatisticsParams
from titiler.xarray.dependencies import DatasetParams, PartFeatureParams
from titiler.xarray.factory import TilerFactory
from titiler.xarray.io import Reader

from onemap.access.principal import Principal
from onemap.catalog import Entry
from onemap.mapserver.auth import principal_of
from onemap.mapserver.errors import ApiError
from onemap.mapserver.rasters import Catalogue, ColorMapParams, DatasetNotFound
from onemap.mapserver.tilerparams import checked, process_dependency, render_params, tiler_route

CUBE_PREFIX = "/cube/{dataset_id}"
_OPEN: dict[str, tuple[float, xr.Dataset]] = {}


def _open_cube(src_path: str, group: str | None = None, decode_times: bool = True,
               **_: Any) -> xr.Dataset:
    """Open a local zarr store lazily; re-opened when the store is replaced (new mtime)."""
    stamp = os.stat(src_path).st_mtime
    cached = _OPEN.get(src_path)
    if cached is None or cached[0] != stamp:
        ds = xr.open_zarr(src_path, consolidated=False, decode_coords="all",
                          decode_times=decode_times)
        _OPEN[src_path] = cached = (stamp, ds)
    return cached[1]


@attr.s
class CubeReader(Reader):
    """titiler.xarray's Reader on our opener (local store from the catalogue, cached)."""

    opener: Any = attr.ib(default=_open_cube)

    def close(self) -> None:
        """The dataset is shared between requests (lazy, read-only): nothing to close."""


def cube_entry(cat: Catalogue, dataset_id: str, principal: Principal | None = None
               ) -> tuple[Entry, str]:
    """The catalogue entry and absolute zarr path of a cube ``principal`` (default: the
    request's) may see; DatasetNotFound (or Hidden, the same 404) otherwise."""
    entry, path = cat.dataset_file(dataset_id, "cube", principal)
    if not path.is_dir():
        raise DatasetNotFound(dataset_id)
    return entry, str(path)


def _utc(value: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ApiError(400, "InvalidParameterValue",
                       f"sel: {value!r} is not an ISO 8601 time (e.g. 2025-01-21T08:00:00Z)"
                       ) from None
    if ts is pd.NaT:
        raise ApiError(400, "InvalidParameterValue", f"sel: {value!r} is not a time")
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def check_sel(entry: Entry, sel: list[str] | None) -> list[str]:
    """``sel`` rewritten for xarray (naive UTC), or ApiError naming what is wrong.

    Only the time dimension can be selected; an exact time must be one of the cube's steps,
    ``time=nearest::…`` (or pad/ffill/backfill/bfill) must fall within the cube's time span.
    No ``sel`` selects the first step (a tile is one grid, not the whole week).
    """
    times = pd.DatetimeIndex([pd.Timestamp(t).tz_localize(None) for t in entry.extra["times"]])
    span = f"{entry.extra['times'][0]} … {entry.extra['times'][-1]}"
    if not sel:
        return [f"time={times[0].isoformat()}"]
    if len(sel) > 1:
        raise ApiError(400, "InvalidParameterValue", "sel: give one time (sel=time=<ISO time>)")
    dim, _, value = sel[0].partition("=")
    if dim != "time" or not value:
        raise ApiError(400, "InvalidParameterValue",
                       f"sel: {sel[0]!r} — only the time dimension can be selected, "
                       "as sel=time=<ISO time> or sel=time=nearest::<ISO time>")
    method, _, when = value.rpartition("::")
    if method and method not in ("nearest", "pad", "ffill", "backfill", "bfill"):
        raise ApiError(400, "InvalidParameterValue", f"sel: unknown method {method!r}")
    ts = _utc(when)
    if not times[0] <= ts <= times[-1]:
        raise ApiError(400, "InvalidParameterValue",
                       f"sel: time {when} is outside the cube {entry.id!r} ({span})")
    if not method and ts not in times:
        raise ApiError(400, "InvalidParameterValue",
                       f"sel: the cube {entry.id!r} has no step at {when}; use one of its "
                       f"times or sel=time=nearest::{when}")
    return [f"time={method + '::' if method else ''}{ts.isoformat()}"]


@dataclass
class CubeBands(DefaultDependency):
    """``bidx`` of a cube: one time step is one band, so only ``bidx=1`` (or nothing)."""

    indexes: Annotated[list[int] | None, Query(
        alias="bidx", title="Band indexes", description="Band index: a cube step has only 1",
    )] = None

    def __post_init__(self) -> None:
        if self.indexes and any(i != 1 for i in self.indexes):
            raise ApiError(400, "InvalidParameterValue",
                           f"bidx: {self.indexes} — a cube's time step has one band (bidx=1)")


def cube_router(cat: Catalogue) -> APIRouter:
    """titiler.xarray endpoints (tiles, tilejson, point, info, statistics…) of catalogued cubes."""

    def cube_path(
        request: Request,
        dataset_id: Annotated[str, Path(description="Catalogue id of a data cube")],
    ) -> str:
        return cube_entry(cat, dataset_id, principal_of(request))[1]

    @dataclass
    class CubeParams(DefaultDependency):
        """Which variable and time step to read; nothing that names a store or a group."""

        dataset_id: Annotated[str, Path(description="Catalogue id of a data cube")]
        variable: Annotated[str | None, Query(
            description="Variable to read (default: the cube's variable)")] = None
        sel: Annotated[list[str] | None, Query(
            description="Time step: `time=<ISO time>` or `time=nearest::<ISO time>` "
                        "(default: the first step)")] = None

        def __post_init__(self) -> None:
            # a dataclass dependency gets no Request: the request's principal, from its context
            entry, _ = cube_entry(cat, self.dataset_id)
            expected = entry.extra["variable"]
            if self.variable not in (None, expected):
                raise ApiError(400, "InvalidParameterValue",
                               f"variable: the cube {entry.id!r} has only {expected!r}, "
                               f"not {self.variable!r}")
            self.variable = expected
            self.sel = check_sel(entry, self.sel)

        def as_dict(self, exclude_none: bool = True) -> dict:
            return {"variable": self.variable, "sel": self.sel}

    factory = TilerFactory(reader=CubeReader, path_dependency=cube_path,
                           reader_dependency=CubeParams, colormap_dependency=ColorMapParams,
                           layer_dependency=CubeBands, dataset_dependency=checked(DatasetParams),
                           stats_dependency=checked(StatisticsParams),
                           histogram_dependency=checked(HistogramParams),
                           img_part_dependency=checked(PartFeatureParams),
                           process_dependency=process_dependency,
                           render_dependency=render_params,
                           router=APIRouter(route_class=tiler_route(
                               cat.settings.max_image_pixels)), router_prefix=CUBE_PREFIX,
                           add_viewer=False)
    router = APIRouter()
    router.include_router(factory.router, prefix=CUBE_PREFIX, tags=["cube"])
    return router

