"""Hourly surfaces over a span of any length (a year: 8,760 grids), out of core.

A year of hourly PM2.5 surfaces is a (time, y, x) cube that need not fit in memory, and its
input — a year of station hours — need not either on a national network. So the cube is a
Dask-backed xarray DataArray whose blocks are ``chunk_hours`` long: each block is one
``dask.delayed`` call that loads only the station rows of its hours (``hourly`` may be a
function ``(start, end) -> DataFrame``, e.g. a GeoPackage read with a SQL time filter) and
interpolates them hour by hour with :func:`onemap.analysis.surfaces.interpolate` (the
function must return every row with ``start <= time <= end``, both ends included), so a cube
hour equals :func:`~onemap.analysis.surfaces.pm25_surface` of that hour exactly.

The zarr store is first laid out (metadata only, ``compute=False``), then filled a few blocks at a
time with ``to_zarr(region=…)``, as many blocks per round as Dask has threads: memory holds at
most those blocks, whatever the span. Between rounds ``progress(fraction)`` is called; if it
returns False the run stops, the temporary store is removed and :class:`Cancelled` is raised.
The store is written under a temporary name next to ``out`` and renamed when complete, so a
failed or cancelled run never leaves a partial cube where a complete one is expected.

Hours where fewer than 3 stations have a valid value are NaN grids (a gap, not an error: one
analyser outage must not stop a year's run); a span with no valid hour at all is NoData.
Times: the cube's ``time`` coordinate is UTC (as the catalogue's cubes are); each step is the
hour label of the network (the hour's end, Beijing time) converted to UTC.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask
import dask.array as dsa
import geopandas as gpd
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr

from onemap.analysis.errors import InvalidInput, NoData
from onemap.analysis.surfaces import (
    METHODS,
    MIN_STATIONS,
    UNITS,
    Grid,
    check_pollutant,
    hour_label,
    interpolate,
    region_mask,
)

HourlySource = pd.DataFrame | Callable[[pd.Timestamp, pd.Timestamp], pd.DataFrame]
MAX_HOURS = 366 * 24 * 5


class Cancelled(Exception):
    """The progress callback asked the run to stop; nothing was left behind."""


def hours_between(start: Any, end: Any) -> pd.DatetimeIndex:
    """The hour labels (Beijing, tz-aware) from ``start`` to ``end`` inclusive."""
    t0, t1 = hour_label(start).ceil("h"), hour_label(end).floor("h")
    if t1 < t0:
        raise InvalidInput("end", f"must not be before start ({t0.isoformat()})")
    hours = pd.date_range(t0, t1, freq="h")
    if len(hours) > MAX_HOURS:
        raise InvalidInput("end", f"the span is {len(hours)} hours; at most {MAX_HOURS}")
    return hours


def _load(hourly: HourlySource, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    if callable(hourly):
        rows = hourly(start, end)
    else:
        rows = hourly
    t = pd.to_datetime(rows["time"])
    t = t.dt.tz_localize("Asia/Shanghai") if t.dt.tz is None else t.dt.tz_convert(
        "Asia/Shanghai")
    keep = (t >= start) & (t <= end)
    rows = rows[keep].assign(time=t[keep])
    return rows[rows["flag"] == "N"] if "flag" in rows else rows


def _block(hours: pd.DatetimeIndex, hourly: HourlySource, stations: gpd.GeoDataFrame,
           grid: Grid, method: str, pollutant: str, power: float,
           outside: np.ndarray) -> np.ndarray:
    """The surfaces of ``hours`` as a (time, y, x) float32 array (NaN hours where too few
    stations reported)."""
    rows = _load(hourly, hours[0], hours[-1])
    rows = rows[["station_id", "time", pollutant]].dropna()
    st = stations.to_crs(4326)[["station_id", "geometry"]]
    out = np.full((len(hours), grid.height, grid.width), np.nan, dtype="float32")
    by_hour = {t: g for t, g in rows.groupby("time")}
    for i, t in enumerate(hours):
        g = by_hour.get(t)
        if g is None or g["station_id"].nunique() < MIN_STATIONS:
            continue
        values = st.merge(g.drop_duplicates("station_id", keep="last")
                          .rename(columns={pollutant: "value"}), on="station_id")
        if len(values) < MIN_STATIONS:
            continue
        out[i] = interpolate(values, grid, method=method, power=power, outside=outside)
    return out


def surface_cube(stations: gpd.GeoDataFrame, hourly: HourlySource, start: Any, end: Any, *,
                 grid: Grid, method: str = "idw", chunk_hours: int = 168,
                 region: gpd.GeoDataFrame | None = None, pollutant: str = "pm25",
                 power: float = 2.0) -> xr.DataArray:
    """The lazy (time, y, x) cube: nothing is read or computed until it is written."""
    check_pollutant(pollutant)
    if method not in METHODS:
        raise InvalidInput("method", f"must be one of {', '.join(METHODS)}, got {method!r}")
    if not 1 <= int(chunk_hours) <= 24 * 62:
        raise InvalidInput("chunk_hours", f"must be 1 to {24 * 62}, got {chunk_hours!r}")
    hours = hours_between(start, end)
    outside = region_mask(grid, region)
    blocks = []
    for i in range(0, len(hours), int(chunk_hours)):
        part = hours[i:i + int(chunk_hours)]
        task = dask.delayed(_block, pure=True)(part, hourly, stations, grid, method, pollutant,
                                               power, outside)
        blocks.append(dsa.from_delayed(task, shape=(len(part), grid.height, grid.width),
                                       dtype="float32"))
    x, y = grid.coords()
    utc = hours.tz_convert("UTC").tz_localize(None)
    da = xr.DataArray(dsa.concatenate(blocks, axis=0), dims=("time", "y", "x"),
                      coords={"time": utc, "y": y, "x": x}, name=pollutant,
                      attrs={"units": UNITS.get(pollutant, "µg/m³"), "method": method,
                             "pollutant": pollutant})
    return da.rio.write_crs("EPSG:4326")


def surface_series(stations: gpd.GeoDataFrame, hourly: HourlySource, start: Any, end: Any, *,
                   grid: Grid, method: str = "idw", out: Path, chunk_hours: int = 168,
                   region: gpd.GeoDataFrame | None = None, pollutant: str = "pm25",
                   power: float = 2.0,
                   progress: Callable[[float], bool | None] | None = None,
                   scheduler: Any = None) -> Path:
    """Compute the cube block by block into a zarr store at ``out`` (see the module doc).

    ``scheduler``: a dask.distributed ``Client`` (:func:`onemap.analysis.cluster.client`) to
    compute the blocks on, as many at once as it has threads; None: Dask's default (threads of
    this process). ``hourly`` must then be picklable (a module function or a partial)."""
    if scheduler is None:
        return _series(stations, hourly, start, end, grid=grid, method=method, out=out,
                       chunk_hours=chunk_hours, region=region, pollutant=pollutant,
                       power=power, progress=progress,
                       per_round=dask.config.get("num_workers", None) or os.cpu_count() or 1)
    with dask.config.set(scheduler=scheduler):
        return _series(stations, hourly, start, end, grid=grid, method=method, out=out,
                       chunk_hours=chunk_hours, region=region, pollutant=pollutant,
                       power=power, progress=progress,
                       per_round=sum(scheduler.nthreads().values()) or 1)


def _series(stations: gpd.GeoDataFrame, hourly: HourlySource, start: Any, end: Any, *,
            grid: Grid, method: str, out: Path, chunk_hours: int,
            region: gpd.GeoDataFrame | None, pollutant: str, power: float,
            progress: Callable[[float], bool | None] | None, per_round: int) -> Path:
    cube = surface_cube(stations, hourly, start, end, grid=grid, method=method,
                        chunk_hours=chunk_hours, region=region, pollutant=pollutant, power=power)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        ds = cube.to_dataset()
        # one chunk per block of hours on disk too: a round writes whole chunks, no locking
        ds[cube.name].encoding = {"chunks": (int(chunk_hours), grid.height, grid.width)}
        ds.to_zarr(tmp, mode="w", compute=False, consolidated=False)
        starts = list(range(0, cube.sizes["time"], int(chunk_hours)))
        per_round = max(1, per_round)
        done = 0
        for r in range(0, len(starts), per_round):
            lo = starts[r]
            hi = min(starts[min(r + per_round, len(starts)) - 1] + int(chunk_hours),
                     cube.sizes["time"])
            part = ds.isel(time=slice(lo, hi))
            part.drop_vars([v for v in part.coords if v != "time" and "time" not in
                            part[v].dims]).to_zarr(tmp, region={"time": slice(lo, hi)},
                                                    consolidated=False)
            done = hi
            if progress is not None and progress(done / cube.sizes["time"]) is False:
                raise Cancelled(f"cancelled after {done} of {cube.sizes['time']} hours")
        with xr.open_zarr(tmp, consolidated=False) as written:  # one more pass, block by block
            valid = int(written[cube.name].notnull().any(dim=("y", "x")).sum().compute())
        if valid == 0:
            raise NoData("start", f"no hour between {start} and {end} has {MIN_STATIONS} or "
                         "more stations with a valid value")
        os.chmod(tmp, 0o755)
        old = out.with_name(f".{out.name}.old.{os.getpid()}") if out.exists() else None
        if old is not None:  # move the previous store aside, never delete it first
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
