"""Register a data cube: an xarray Dataset (time × y × x) written as a zarr store.

Hourly grids (a PM2.5 analysis, a model output) are many rasters on one grid; as one zarr store
titiler.xarray reads only the chunks a tile needs at the hour asked for, and the catalogue holds
one entry whose ``extra.times`` lists every step. The checks here are what the tile server needs
to render it correctly — a time dimension, two spatial dimensions, a CRS and monotonic
coordinates — so a bad cube is refused at registration, in words, rather than failing later as a
tile error. The store is written to a temporary folder next to its final place and renamed, so a
failure leaves neither a half-written store nor a catalogue entry.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor used for the CRS)
import xarray as xr
from rasterio.warp import transform_bounds

from onemap import catalog
from onemap.config import Settings, get_settings
from onemap.raster.validate import known_colormap

#: Accepted spatial dimension names, (y, x), in the order titiler.xarray looks for them.
SPATIAL_DIMS = (("y", "x"), ("lat", "lon"), ("latitude", "longitude"))


def _spatial_dims(da: xr.DataArray) -> tuple[str, str]:
    for y, x in SPATIAL_DIMS:
        if da.dims == ("time", y, x):
            return y, x
    raise ValueError(f"variable {da.name!r} has dimensions {da.dims}: a cube needs exactly "
                     "(time, y, x) or (time, lat, lon)")


def _monotonic(values: np.ndarray, name: str, *, increasing: bool) -> None:
    steps = np.diff(values)
    ok = bool((steps > 0).all()) if increasing else bool((steps > 0).all() or (steps < 0).all())
    if values.size < 1 or not ok:
        order = "strictly increasing" if increasing else "strictly monotonic"
        raise ValueError(f"coordinate {name!r} must be {order} (no repeats, no gaps in order)")


def time_strings(times: Any) -> list[str]:
    """ISO 8601 UTC strings ("2025-01-10T08:00:00Z") of a time coordinate (naive = UTC)."""
    idx = pd.DatetimeIndex(times)
    idx = idx.tz_convert("UTC").tz_localize(None) if idx.tz is not None else idx
    return [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in idx]


def check_cube(ds: xr.Dataset, variable: str) -> dict[str, Any]:
    """Validate ``ds[variable]`` as a cube; return its grid facts or raise ValueError."""
    if variable not in ds.data_vars:
        raise ValueError(f"the dataset has no variable {variable!r} "
                         f"(it has: {', '.join(map(str, ds.data_vars)) or 'none'})")
    da = ds[variable]
    if "time" not in da.dims:
        raise ValueError(f"variable {variable!r} has no 'time' dimension (dimensions: "
                         f"{da.dims}); a cube is a time series of grids")
    y, x = _spatial_dims(da)
    if not np.issubdtype(ds["time"].dtype, np.datetime64):
        raise ValueError("coordinate 'time' must hold datetimes (decoded datetime64)")
    crs = ds.rio.crs or da.rio.crs
    if crs is None:
        raise ValueError(f"variable {variable!r} has no CRS: write one first, e.g. "
                         "ds.rio.write_crs('EPSG:4326')")
    _monotonic(ds["time"].values, "time", increasing=True)
    _monotonic(ds[x].values.astype("float64"), x, increasing=True)
    _monotonic(ds[y].values.astype("float64"), y, increasing=False)
    if not np.issubdtype(da.dtype, np.number):
        raise ValueError(f"variable {variable!r} is not numeric ({da.dtype})")
    xs, ys = ds[x].values.astype("float64"), ds[y].values.astype("float64")
    dx = abs(xs[1] - xs[0]) if xs.size > 1 else 0.0
    dy = abs(ys[1] - ys[0]) if ys.size > 1 else 0.0
    bounds = (xs.min() - dx / 2, ys.min() - dy / 2, xs.max() + dx / 2, ys.max() + dy / 2)
    bbox = list(transform_bounds(crs, "EPSG:4326", *bounds, densify_pts=21))
    return {"crs": crs.to_string(), "width": int(xs.size), "height": int(ys.size),
            "bbox": [round(float(v), 7) for v in bbox], "times": time_strings(ds["time"].values),
            "dtype": str(da.dtype), "dims": (y, x)}


def _replace_dir(tmp: Path, final: Path) -> None:
    """Move ``tmp`` to ``final``; an existing store is swapped out first, then deleted."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old.{os.getpid()}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def add_cube(ds: xr.Dataset, *, dataset_id: str, title: str, variable: str, unit: str = "",
             title_en: str = "", colormap: str | None = None,
             rescale: list[float] | tuple[float, float] | None = None,
             access: catalog.Access = "public", description: str = "", source: str = "",
             settings: Settings | None = None) -> catalog.Entry:
    """Write ``ds`` (only ``variable`` and its coordinates) to ``cubes/<dataset_id>.zarr`` and
    catalogue it as kind "cube".

    Raises ValueError, in words, for a dataset the tile server could not render (no time
    dimension, other dimensions, no CRS, non-monotonic coordinates) or bad style arguments;
    nothing is written in that case.
    """
    settings = settings or get_settings()
    catalog.check_id(dataset_id)
    if rescale is not None and (len(rescale) != 2 or not rescale[0] < rescale[1]):
        raise ValueError(f"rescale must be [min, max] with min < max, got {rescale!r}")
    if colormap is not None and not known_colormap(colormap):
        raise ValueError(f"unknown colormap {colormap!r}")
    facts = check_cube(ds, variable)
    y, x = facts["dims"]
    crs = ds.rio.crs or ds[variable].rio.crs
    out = ds[[variable]].rio.write_crs(crs)
    out[variable].attrs.update({"units": unit} if unit else {})
    # one chunk per hour and ≤ 512 px tiles: a tile at one hour reads one or a few chunks
    chunks = {"time": 1, y: min(512, facts["height"]), x: min(512, facts["width"])}
    out = out.chunk(chunks)
    for name in out.variables:
        out[name].encoding = {}
    settings.cube_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=settings.cube_dir, prefix=f".{dataset_id}.",
                                suffix=".tmp.zarr"))
    final = settings.cube_dir / f"{dataset_id}.zarr"
    try:
        out.to_zarr(tmp, mode="w", consolidated=False)
        os.chmod(tmp, 0o755)  # mkdtemp's 0700 would hide the store from a server user
        entry = catalog.Entry(
            id=dataset_id, kind="cube", family="raster", title=title, title_en=title_en,
            description=description, access=access, path=f"cubes/{dataset_id}.zarr",
            bbox=facts["bbox"], source=source,
            time_extent=[facts["times"][0], facts["times"][-1]],
            extra={"variable": variable, "unit": unit, "times": facts["times"],
                   "colormap": colormap,
                   "rescale": [float(v) for v in rescale] if rescale is not None else None,
                   "crs": facts["crs"], "width": facts["width"], "height": facts["height"],
                   "dtype": facts["dtype"], "collection": dataset_id})
        _replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    catalog.put(entry, settings)
    return entry
