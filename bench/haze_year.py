"""One year of hourly PM2.5 surfaces: out-of-core series (Dask → zarr) against an in-memory loop.

Runs, each in a fresh child process so its peak memory is its own:

1. **series idw** — ``onemap.analysis.series.surface_series`` over all 8,760 hours of 2025 on
   the sample region's 0.01° grid, reading the station hours week by week from the GeoPackage
   (SQL time filter) and writing a zarr store;
2. **series idw on dask.distributed**, a LocalCluster of 1 and then 2 worker processes (as
   the surface-series process runs it; the cluster started before the clock): the speed-up of
   the second worker;
3. **in-core idw** (the reference) — the same hours with the same interpolation in one plain
   loop: the whole year of station rows read at once, every grid kept in one numpy array;
4. **series kriging** — ``--kriging-hours`` hours (default one week) of ordinary kriging,
   extrapolated to the year (printed as such) unless you pass ``--kriging-hours 8760``.

Prints wall time, hours per second, peak RSS and output size, and the ratios series / in-core.
Usage: ``python bench/haze_year.py [--data-dir DIR] [--res 0.01] [--kriging-hours 168]``
(without ``--data-dir`` it uses ONEMAP_DATA_DIR, generating the sample there if missing).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

YEAR = ("2025-01-01 01:00", "2026-01-01 00:00")  # the hour labels (ends) of 2025


def _load(settings, start, end):  # type: ignore[no-untyped-def]
    import pandas as pd

    from onemap.layers.store import read_layer

    a, b = start.tz_convert("UTC"), end.tz_convert("UTC") + pd.Timedelta(seconds=1)
    return read_layer("air_hourly", settings, columns=["station_id", "time", "pm25", "flag"],
                      where=f"time >= '{a:%Y-%m-%dT%H:%M:%S}' AND "
                            f"time < '{b:%Y-%m-%dT%H:%M:%S}'")


def _loader(settings):  # type: ignore[no-untyped-def]
    """The rows of a span of hours: a partial of a module function, so that dask.distributed
    workers can be sent it."""
    return functools.partial(_load, settings)


def _inputs(data_dir: str, res: float):  # type: ignore[no-untyped-def]
    from onemap.analysis.surfaces import region_grid
    from onemap.config import Settings
    from onemap.layers.store import read_layer

    settings = Settings(data_dir=Path(data_dir))
    region = read_layer("admin_boundaries", settings)
    return settings, region, read_layer("air_stations", settings), region_grid(region, res)


def _series(data_dir: str, res: float, method: str, end: str, out: str, queue) -> None:  # type: ignore[no-untyped-def]
    from onemap.analysis.series import surface_series

    settings, region, stations, grid = _inputs(data_dir, res)
    t0 = time.perf_counter()
    surface_series(stations, _loader(settings), YEAR[0], end, grid=grid, method=method,
                   region=region, out=Path(out), chunk_hours=168)
    queue.put((time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def _distributed(data_dir: str, res: float, end: str, out: str, workers: int,  # type: ignore[no-untyped-def]
                 queue) -> None:
    from onemap.analysis import cluster
    from onemap.analysis.series import surface_series

    settings, region, stations, grid = _inputs(data_dir, res)
    settings = dataclasses.replace(settings, dask_workers=workers)
    client = cluster.client(settings)  # started before the clock: once per server process
    client.submit(sum, [1]).result()
    t0 = time.perf_counter()
    surface_series(stations, _loader(settings), YEAR[0], end, grid=grid, method="idw",
                   region=region, out=Path(out), chunk_hours=168, scheduler=client)
    seconds = time.perf_counter() - t0
    cluster.close_all()
    queue.put((seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def _in_core(data_dir: str, res: float, end: str, queue) -> None:  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    from onemap.analysis.series import hours_between
    from onemap.analysis.surfaces import MIN_STATIONS, interpolate, region_mask

    settings, region, stations, grid = _inputs(data_dir, res)
    t0 = time.perf_counter()
    hours = hours_between(YEAR[0], end)
    rows = _loader(settings)(hours[0], hours[-1])
    rows = rows[rows["flag"] == "N"].dropna(subset=["pm25"])
    rows["time"] = pd.to_datetime(rows["time"]).dt.tz_convert("Asia/Shanghai")
    st = stations.to_crs(4326)[["station_id", "geometry"]]
    outside = region_mask(grid, region)
    cube = np.full((len(hours), grid.height, grid.width), np.nan, dtype="float32")
    index = {t: i for i, t in enumerate(hours)}
    for t, g in rows.groupby("time"):
        if g["station_id"].nunique() >= MIN_STATIONS and t in index:
            values = st.merge(g.rename(columns={"pm25": "value"}), on="station_id")
            cube[index[t]] = interpolate(values, grid, outside=outside)
    queue.put((time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def _run(target, *args) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    seconds, rss_kb = queue.get()
    proc.join()
    return seconds, rss_kb / 1024


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def main() -> None:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("ONEMAP_DATA_DIR", "var"))
    parser.add_argument("--res", type=float, default=0.01)
    parser.add_argument("--hours", type=int, default=8760, help="IDW hours (default a year)")
    parser.add_argument("--kriging-hours", type=int, default=168)
    args = parser.parse_args()
    data = Path(args.data_dir).resolve()
    if not (data / "catalog.json").exists():
        from onemap.config import Settings
        from onemap.data.generate import generate

        generate(Settings(data_dir=data))

    def end_of(n: int) -> str:
        return str(pd.Timestamp(YEAR[0]) + pd.Timedelta(hours=n - 1))

    work = Path(tempfile.mkdtemp(prefix="onemap-haze-bench-"))
    rows = []
    try:
        out = work / "idw.zarr"
        s, m = _run(_series, str(data), args.res, "idw", end_of(args.hours), str(out))
        rows.append(("series idw (Dask→zarr)", args.hours, s, m, _size_mb(out), ""))
        dist: dict[int, float] = {}
        for workers in (1, 2):
            out = work / f"idw-{workers}.zarr"
            d, dm = _run(_distributed, str(data), args.res, end_of(args.hours), str(out),
                         workers)
            rows.append((f"series idw, {workers} dask worker{'s' * (workers > 1)}",
                         args.hours, d, dm, _size_mb(out), ""))
            dist[workers] = d
        s2, m2 = _run(_in_core, str(data), args.res, end_of(args.hours))
        rows.append(("in-core idw (reference)", args.hours, s2, m2, float("nan"), ""))
        out = work / "kriging.zarr"
        k = args.kriging_hours
        s3, m3 = _run(_series, str(data), args.res, "kriging", end_of(k), str(out))
        note = "" if k >= 8760 else f"→ {s3 / k * 8760 / 60:.1f} min for 8760 h (extrapolated)"
        rows.append(("series kriging (Dask→zarr)", k, s3, m3, _size_mb(out), note))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"grid {args.res}° over the sample region; {os.cpu_count()} cores; Python "
          f"{sys.version.split()[0]}")
    print(f"{'run':28} {'hours':>6} {'wall s':>8} {'hours/s':>8} {'peak MB':>8} {'out MB':>7}")
    for name, n, sec, mb, size, note in rows:
        print(f"{name:28} {n:6d} {sec:8.1f} {n / sec:8.1f} {mb:8.0f} {size:7.1f} {note}")
    print(f"series / in-core: time {s / s2:.2f}x, peak memory {m / m2:.2f}x")
    print(f"dask.distributed LocalCluster: 2 workers / 1 worker, speed-up "
          f"{dist[1] / dist[2]:.2f}x (peak memory is the client process's; the workers' is "
          "their own)")


if __name__ == "__main__":
    main()
