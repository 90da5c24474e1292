"""Haze surfaces: ``pm25-surface`` (one hour, a COG the map tiles) and ``pm25-surface-series``
(a span of hours, a zarr cube, out of core; run it async).

Both catalogue their result under an id derived from the request (pollutant, method, hours,
resolution), so asking again replaces the same dataset instead of piling up copies, and return
the catalogue id and a ready tile URL template — never a file path. The series reports progress
per block of hours and stops when its job is deleted: :func:`onemap.analysis.series.
surface_series` removes its temporary store, and nothing is catalogued.
"""

from __future__ import annotations

import functools
import shutil
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from onemap.analysis import cluster, series, surfaces
from onemap.analysis.errors import InvalidInput, NoData
from onemap.analysis.standards.aqi import NAMES
from onemap.layers.normalise import TIMEZONE
from onemap.mapserver.processing import data
from onemap.mapserver.processing.base import GEOJSON, JSON, OneMapProcessor, Param, i18n
from onemap.mapserver.processing.outputs import collection, feature, value
from onemap.mapserver.rasters import render_params, tilejson_url
from onemap.raster.cube import add_cube
from onemap.raster.ingest import add_raster

MAX_SERIES_DAYS = 366
TILE = "tiles/WebMercatorQuad/{z}/{x}/{y}.png"
COMMON = (
    Param("method", {"type": "string", "enum": list(surfaces.METHODS), "default": "idw"},
          "插值方法", "Method", description_en="idw (inverse distance) or kriging (ordinary)"),
    Param("res_deg", {"type": "number", "minimum": 0.005, "maximum": 0.1, "default": 0.01},
          "分辨率（度）", "Resolution (degrees)"),
    Param("pollutant", {"type": "string", "enum": list(surfaces.POLLUTANTS),
                        "default": "pm25"}, "污染物", "Pollutant"),
)


def _style(pollutant: str, top: float) -> tuple[str, list[float]]:
    """Colormap and rescale: the PM2.5 style for PM2.5, a yellow-red ramp to the data's top."""
    if pollutant == "pm25":
        return "onemap_pm25", [0.0, 250.0]
    return "ylorrd", [0.0, float(max(top, 1.0))]


_METHODS = {"idw": ("反距离加权", "IDW"), "kriging": ("普通克里金", "kriging")}


def titles(pollutant: str, method: str, start: pd.Timestamp,
           end: pd.Timestamp | None = None) -> tuple[str, str]:
    """(zh, en) layer titles of a surface (one hour) or a series (``start``..``end``), in
    Beijing wall-clock time as the map shows it: "PM2.5 浓度面 2025-01-22 08:00（北京时间，
    反距离加权）" — not the ISO instants a layer list would otherwise show."""
    name = NAMES.get(pollutant, pollutant.upper())
    zh_m, en_m = _METHODS.get(method, (method, method))
    a = start.tz_convert(TIMEZONE).strftime("%Y-%m-%d %H:%M")
    if end is None:
        return (f"{name} 浓度面 {a}（北京时间，{zh_m}）",
                f"{name} surface {a} (Beijing time, {en_m})")
    b = end.tz_convert(TIMEZONE).strftime("%m-%d %H:%M")
    return (f"{name} 逐时浓度面 {a} 至 {b}（北京时间，{zh_m}）",
            f"{name} hourly surfaces {a} to {b} (Beijing time, {en_m})")


def _res_code(res: float) -> str:
    return f"r{round(res * 1000)}"


def _on_the_hour(t: pd.Timestamp, name: str) -> pd.Timestamp:
    if t != t.floor("h"):
        raise InvalidInput(name, f"must be an hour label (on the hour, the hour's end, Beijing "
                           f"time), got {t.isoformat()}")
    return t


@dataclass(frozen=True)
class SurfaceInputs:
    time: pd.Timestamp
    method: str
    res_deg: float
    pollutant: str
    stations: gpd.GeoDataFrame
    hourly: pd.DataFrame
    region: gpd.GeoDataFrame


class Pm25SurfaceProcessor(OneMapProcessor):
    """One hour's interpolated surface, written as a COG and catalogued."""

    PROCESS_ID = "pm25-surface"
    TITLE = i18n("PM2.5 浓度面（单小时）", "PM2.5 surface (one hour)")
    DESCRIPTION = i18n(
        "把某小时各站点有效浓度（HJ 212 标记 N）用 IDW 或普通克里金插值到规则格网，区域外为空，"
        "写成云优化 GeoTIFF 并登记为栅格图层，返回图层编号与瓦片地址。",
        "Interpolates one hour of valid station values (HJ 212 flag N) onto a regular grid "
        "by IDW or ordinary kriging, blank outside the region, writes a Cloud-Optimised "
        "GeoTIFF, catalogues it as a raster layer and returns its id and tile URL.")
    KEYWORDS = ("haze", "PM2.5", "IDW", "kriging", "COG")
    PARAMS = (Param("time", {"type": "string", "format": "date-time"}, "时间", "Hour",
                    required=True, description_en="Hour label (the hour's end, Beijing time)"),
              *COMMON)
    OUTPUTS = {
        "raster_id": {"title": i18n("栅格编号", "Raster id"),
                      "description": i18n("目录中的栅格图层", "Catalogued raster layer"),
                      "schema": {"type": "string"}},
        "tile_url": {"title": i18n("瓦片地址模板", "Tile URL template"),
                     "description": i18n("XYZ PNG 瓦片", "XYZ PNG tiles"),
                     "schema": {"type": "string"}},
        "stats": {"title": i18n("统计", "Statistics"), "description": i18n("统计", "Statistics"),
                  "schema": JSON},
        "stations": {"title": i18n("参与插值的站点", "Stations used"),
                     "description": i18n("role=station 点", "Points, role station"),
                     "schema": GEOJSON},
    }
    EXAMPLE = {"time": "2025-01-24T20:00:00+08:00", "method": "idw", "res_deg": 0.01}

    def check(self, v: dict[str, Any]) -> SurfaceInputs:
        t = _on_the_hour(v["time"], "time")
        st = data.stations(self.settings)
        hourly = data.read_hourly(self.settings, t, t)
        surfaces.station_values(st, hourly, t, pollutant=v["pollutant"])  # NoData("time")
        return SurfaceInputs(t, v["method"], v["res_deg"], v["pollutant"], st, hourly,
                             data.region(self.settings))

    def run(self, inputs: SurfaceInputs) -> dict[str, Any]:
        self.progress(0.1, "interpolating")
        grid = surfaces.region_grid(inputs.region, inputs.res_deg)
        da = surfaces.pm25_surface(inputs.stations, inputs.hourly, inputs.time, grid=grid,
                                   method=inputs.method, region=inputs.region,
                                   pollutant=inputs.pollutant)
        values = surfaces.station_values(inputs.stations, inputs.hourly, inputs.time,
                                         pollutant=inputs.pollutant)
        raster_id = (f"{inputs.pollutant}_{inputs.method}_{inputs.time:%Y%m%d%H}_"
                     f"{_res_code(inputs.res_deg)}")
        work = self.settings.runtime_dir / "work"
        tmp = work / f"{raster_id}-{uuid.uuid4().hex}.tif"
        self.progress(0.5, "writing the COG")
        try:
            surfaces.write_surface_cog(da, tmp)
            colormap, rescale = _style(inputs.pollutant, float(values["value"].max()))
            title, title_en = titles(inputs.pollutant, inputs.method, inputs.time)
            entry = add_raster(
                tmp, dataset_id=raster_id, settings=self.settings, colormap=colormap,
                rescale=rescale, date=inputs.time.date(), collection=f"{inputs.pollutant}_surface",
                title=title, title_en=title_en,
                description=f"{inputs.method} from {len(values)} stations, {inputs.res_deg}°",
                check=lambda: self.progress(0.8, "cataloguing the COG"))
            self.created_ids.append(raster_id)
        finally:
            tmp.unlink(missing_ok=True)
        field = da.values[np.isfinite(da.values)]
        params = {k: v for k, v in render_params(entry).items()
                  if k not in ("tilesize", "tile_format")}
        base = f"{self.settings.public_url}/raster/{raster_id}"
        stats = {**{k: value(v) for k, v in da.attrs.items()},
                 "min": value(field.min()), "max": value(field.max()),
                 "mean": value(field.mean()), "width": grid.width, "height": grid.height,
                 "res_deg": inputs.res_deg, "bounds": list(grid.bounds),
                 "colormap": colormap, "rescale": rescale}
        return {"raster_id": raster_id, "tile_url": f"{base}/{TILE}?{urlencode(params)}",
                "tilejson_url": tilejson_url(entry, self.settings), "stats": stats,
                "stations": collection([feature(r.geometry, {
                    "role": "station", "station_id": r.station_id, "name": r.name,
                    "value": r.value}) for r in values.itertuples()])}


@dataclass(frozen=True)
class SeriesInputs:
    start: pd.Timestamp
    end: pd.Timestamp
    method: str
    res_deg: float
    pollutant: str
    stations: gpd.GeoDataFrame
    region: gpd.GeoDataFrame


class Pm25SurfaceSeriesProcessor(OneMapProcessor):
    """Hourly surfaces over a span, computed block by block into a catalogued zarr cube."""

    PROCESS_ID = "pm25-surface-series"
    TITLE = i18n("PM2.5 浓度面时间序列", "PM2.5 surface series")
    DESCRIPTION = i18n(
        "对起止时间内每小时插值生成浓度面，按块（Dask）计算并写入 zarr 数据立方体"
        "（时间×纬度×经度），登记为时序栅格图层。"
        "耗时较长，建议异步执行（Prefer: respond-async），可查询进度、可取消。",
        "Interpolates every hour from start to end, block by block with Dask (out of core), "
        "into a zarr cube (time × y × x) catalogued as a time-series layer. Long: run it "
        "asynchronously (Prefer: respond-async); the job reports progress and can be deleted.")
    KEYWORDS = ("haze", "PM2.5", "zarr", "cube", "dask")
    PARAMS = (Param("start", {"type": "string", "format": "date-time"}, "开始时间", "Start",
                    required=True, description_en="First hour label (Beijing time)"),
              Param("end", {"type": "string", "format": "date-time"}, "结束时间", "End",
                    required=True,
                    description_en=f"Last hour label, at most {MAX_SERIES_DAYS} days on"),
              *COMMON)
    OUTPUTS = {
        "cube_id": {"title": i18n("数据立方体编号", "Cube id"),
                    "description": i18n("目录中的时序栅格", "Catalogued cube"),
                    "schema": {"type": "string"}},
        "tile_url": {"title": i18n("瓦片地址模板", "Tile URL template"),
                     "description": i18n("{time} 为 UTC 时刻", "{time}: a UTC step of the cube"),
                     "schema": {"type": "string"}},
        "stats": {"title": i18n("统计", "Statistics"), "description": i18n("统计", "Statistics"),
                  "schema": JSON},
    }
    EXAMPLE = {"start": "2025-01-24T01:00:00+08:00", "end": "2025-01-25T00:00:00+08:00",
               "method": "idw", "res_deg": 0.02}

    def check(self, v: dict[str, Any]) -> SeriesInputs:
        start = _on_the_hour(v["start"], "start")
        end = _on_the_hour(v["end"], "end")
        if end < start:
            raise InvalidInput("end", f"must not be before start ({start.isoformat()})")
        if end - start > pd.Timedelta(days=MAX_SERIES_DAYS):
            raise InvalidInput("end", f"the span is longer than {MAX_SERIES_DAYS} days")
        if data.count_valid_hours(self.settings, start, end) == 0:
            raise NoData("start", f"no valid hourly air data from {start.isoformat()} to "
                         f"{end.isoformat()}; the data cover {data.data_span(self.settings)}")
        return SeriesInputs(start, end, v["method"], v["res_deg"], v["pollutant"],
                            data.stations(self.settings), data.region(self.settings))

    def run(self, inputs: SeriesInputs) -> dict[str, Any]:
        self.progress(0.02, "interpolating hours")
        grid = surfaces.region_grid(inputs.region, inputs.res_deg)
        cube_id = (f"{inputs.pollutant}_{inputs.method}_{inputs.start:%Y%m%d%H}_"
                   f"{inputs.end:%Y%m%d%H}_{_res_code(inputs.res_deg)}")
        out = self.settings.runtime_dir / "work" / f"{cube_id}-{uuid.uuid4().hex}.zarr"

        # each block reads its own hours wherever it runs: a function of picklable arguments
        hourly = functools.partial(data.read_hourly, self.settings)
        try:
            series.surface_series(inputs.stations, hourly, inputs.start, inputs.end, grid=grid,
                                  method=inputs.method, out=out, chunk_hours=24,
                                  region=inputs.region, pollutant=inputs.pollutant,
                                  progress=self.callback(0.0, 0.8, "interpolating hours"),
                                  scheduler=cluster.client(self.settings))
            self.progress(0.85, "cataloguing the cube")
            with xr.open_zarr(out, consolidated=False) as ds:
                valid = ds[inputs.pollutant].notnull().any(dim=("y", "x")).compute()
                top = float(ds[inputs.pollutant].max().compute())
                colormap, rescale = _style(inputs.pollutant, top)
                title, title_en = titles(inputs.pollutant, inputs.method, inputs.start,
                                         inputs.end)
                entry = add_cube(
                    ds, dataset_id=cube_id, variable=inputs.pollutant, settings=self.settings,
                    unit=surfaces.UNITS.get(inputs.pollutant, "µg/m³"), colormap=colormap,
                    rescale=rescale, source=f"{inputs.method} from air_hourly",
                    title=title, title_en=title_en)
            self.created_ids.append(cube_id)
        finally:
            shutil.rmtree(out, ignore_errors=True)
        times = entry.extra["times"]
        params = urlencode({"colormap_name": colormap, "rescale": f"{rescale[0]},{rescale[1]}"})
        return {"cube_id": cube_id,
                "tile_url": f"{self.settings.public_url}/cube/{cube_id}/{TILE}?{params}"
                            "&sel=time={time}",
                "stats": {"n_hours": len(times), "n_valid_hours": int(valid.sum()),
                          "first_time": times[0], "last_time": times[-1], "max": value(top),
                          "method": inputs.method, "pollutant": inputs.pollutant,
                          "res_deg": inputs.res_deg, "width": grid.width,
                          "height": grid.height, "time_zone": "UTC"}}
