"""Time for WMS-T: which layers have a TIME dimension and its values, and the files MapServer
reads for them (a shapefile tile index per series or cube; one GeoTIFF per cube hour).

Kept apart from :mod:`onemap.mapserver.wms_mapfile` (which writes the mapfiles) because the
access scope (:mod:`onemap.mapserver.wms`) needs the steps and members without building
anything.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from onemap.catalog import Entry
from onemap.config import Settings


def time_index(folder: Path, name: str, steps: list[tuple[str, Path, str]]) -> Path:
    """A shapefile tile index (location, time, src_srs) of one raster per time step: how
    MapServer serves a TIME dimension over rasters (footprints: each raster's bounds)."""
    import geopandas as gpd
    import rasterio
    from shapely.geometry import box

    rows = []
    for when, path, srs in steps:
        with rasterio.open(path) as src:
            bounds = src.bounds
            crs = src.crs
        geom = box(*bounds)
        if crs is not None and crs.to_epsg() not in (4326, 4490):
            from rasterio.warp import transform_bounds
            geom = box(*transform_bounds(crs, "EPSG:4326", *bounds))
        rows.append({"location": str(path), "time": when, "src_srs": srs, "geometry": geom})
    out = folder / f"{name}.shp"
    gpd.GeoDataFrame(rows, crs="EPSG:4326").to_file(out, driver="ESRI Shapefile",
                                                    engine="pyogrio")
    return out


def cube_steps(entry: Entry, settings: Settings, base: Path
               ) -> tuple[Path, list[tuple[str, Path, str]]]:
    """One GeoTIFF per hour of a cube (written by us from the catalogued zarr store), so
    MapServer's GDAL reads plain rasters: no VRT, no zarr driver differences. Written once
    per version of the entry (a folder named by its hash, reused by later builds) and
    returned with that folder (under ``base``, the WMS runtime folder)."""
    import numpy as np
    import rasterio
    import xarray as xr
    from rasterio.transform import from_bounds

    version = hashlib.sha256(entry.model_dump_json().encode("utf-8")).hexdigest()[:12]
    folder = base / "steps" / f"{entry.id}-{version}"
    times = list(entry.extra.get("times") or [])
    crs = entry.extra.get("crs") or "EPSG:4326"
    steps = [(when, folder / f"{entry.id}_{i:05d}.tif", crs) for i, when in enumerate(times)]
    if (folder / "done").exists():
        return folder, steps
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ds = xr.open_zarr(entry.file(settings), consolidated=False, decode_coords="all")
    var = ds[entry.extra.get("variable") or next(iter(ds.data_vars))]
    xs, ys = var[var.dims[-1]].values, var[var.dims[-2]].values
    dx, dy = float(abs(xs[1] - xs[0])), float(abs(ys[1] - ys[0]))
    transform = from_bounds(float(xs.min()) - dx / 2, float(ys.min()) - dy / 2,
                            float(xs.max()) + dx / 2, float(ys.max()) + dy / 2,
                            len(xs), len(ys))
    flip = ys[0] < ys[-1]
    for i, (_when, path, _crs) in enumerate(steps):
        data = np.asarray(var.isel({var.dims[0]: i}).values, dtype="float32")
        data = data[::-1] if flip else data
        with rasterio.open(path, "w", driver="GTiff", width=len(xs), height=len(ys), count=1,
                           dtype="float32", crs=crs, transform=transform, nodata=float("nan"),
                           compress="deflate") as dst:
            dst.write(data, 1)
    (folder / "done").write_text("")
    return folder, steps


def extent(times: list[str]) -> str:
    """``start/end/PT1H`` for an hourly series, else the list of times."""
    from datetime import datetime, timedelta

    try:
        parsed = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times]
    except ValueError:
        return ",".join(times)
    hourly = len(parsed) > 2 and all(b - a == timedelta(hours=1)
                                     for a, b in zip(parsed[:-1], parsed[1:], strict=True))
    return f"{times[0]}/{times[-1]}/PT1H" if hourly else ",".join(times)


def series_members(entries: dict[str, Entry]) -> dict[str, list[str]]:
    """WMS layer name → the catalogue ids it draws (a series layer draws its members; a big
    layer's group its clusters and points): what a principal must see to see the layer."""
    out: dict[str, list[str]] = {}
    for entry in entries.values():
        out[entry.id] = [entry.id]
        out[f"{entry.id}_points"] = out[f"{entry.id}_clusters"] = [entry.id]
        collection = (entry.extra or {}).get("collection")
        if entry.kind == "raster" and collection and collection not in entries:
            out.setdefault(collection, []).append(entry.id)
    return out


def time_steps(entries: dict[str, Entry]) -> dict[str, list[str]]:
    """WMS layer name → its TIME values (cubes' hours, raster series' dates), as advertised."""
    out: dict[str, list[str]] = {}
    for entry in entries.values():
        if entry.kind == "cube" and entry.extra.get("times"):
            out[entry.id] = list(entry.extra["times"])
        collection = (entry.extra or {}).get("collection")
        if (entry.kind == "raster" and collection and collection not in entries
                and entry.extra.get("date")):
            out.setdefault(collection, []).append(str(entry.extra["date"]))
    return {k: sorted(v) for k, v in out.items() if len(v) > 1 or k in entries}
