"""A small store for the map-server tests, used only while onemap.data.generate is missing.

It writes the same kinds of files the generator does (one GeoPackage per layer with a table
named after the layer id, a COG per raster) and catalogues them with ``catalog.put``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely
from rasterio.transform import from_bounds

from onemap import catalog
from onemap.catalog import Entry
from onemap.config import Settings

BBOX = (115.0, 38.0, 117.0, 40.0)


def _put_layer(settings: Settings, frame: pd.DataFrame, layer_id: str, family: str, kind: str,
               title: str, title_en: str, geometry_type: str | None, **extra) -> None:
    path = settings.store_dir / f"{layer_id}.gpkg"
    path.parent.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(frame, path, layer=layer_id, driver="GPKG",
                            dataset_options={"VERSION": "1.2"})
    fields = {c: ("datetime" if str(t).startswith("datetime") else
                  "int" if str(t).startswith("int") else
                  "float" if str(t).startswith("float") else "str")
              for c, t in frame.dtypes.items() if c != "geometry"}
    bbox = list(frame.total_bounds) if geometry_type else None
    catalog.put(Entry(id=layer_id, kind=kind, family=family, title=title, title_en=title_en,
                      path=str(path.relative_to(settings.data_dir)), geometry_type=geometry_type,
                      feature_count=len(frame), bbox=bbox, fields=fields, **extra), settings)


def build_store(settings: Settings) -> None:
    """Air stations (points), protected areas (polygons), hourly data (table), an NDVI COG."""
    import geopandas as gpd

    rng = np.random.default_rng(42)
    n = 60
    xs = rng.uniform(BBOX[0], BBOX[2], n)
    ys = rng.uniform(BBOX[1], BBOX[3], n)
    stations = gpd.GeoDataFrame({
        "station_id": [f"{1001 + i}A" for i in range(n)],
        "name": [f"监测站{i}号" if i % 7 else f"O'Brien站{i}" for i in range(n)],
        "county_code": [f"1301{i % 5:02d}" for i in range(n)],
        "station_type": [("national", "provincial", "municipal")[i % 3] for i in range(n)],
        "city": ["石家庄" if i % 2 else "保定" for i in range(n)],
    }, geometry=shapely.points(xs, ys), crs="EPSG:4326")
    _put_layer(settings, stations, "air_stations", "air_stations", "vector", "空气质量监测站",
               "Air quality stations", "Point")

    polys = [shapely.box(x, y, x + 0.3, y + 0.2)
             for x, y in zip(rng.uniform(115, 116.7, 12), rng.uniform(38, 39.8, 12), strict=True)]
    areas = gpd.GeoDataFrame({
        "area_id": [f"PA{i:03d}" for i in range(12)],
        "name": [f"保护区{i}" for i in range(12)],
        "category": ["nature_reserve", "forest_park", "wetland_park"] * 4,
        "level": ["national", "provincial"] * 6,
        "area_km2": [round(float(p.area) * 9000, 2) for p in polys],
        "established": [1980 + i for i in range(12)],
    }, geometry=polys, crs="EPSG:4326")
    _put_layer(settings, areas, "protected_areas", "protected_areas", "vector", "自然保护地",
               "Protected areas", "Polygon")

    times = pd.date_range("2024-01-01T00:00:00", periods=24, freq="h")
    rows = [{"station_id": sid, "time": t, "pm25": float(round(rng.uniform(5, 150), 1)),
             "pm10": float(round(rng.uniform(10, 200), 1)), "flag": "N"}
            for sid in stations["station_id"][:10] for t in times]
    hourly = pd.DataFrame(rows)
    _put_layer(settings, hourly, "air_hourly", "air_hourly", "table", "空气质量小时数据",
               "Air quality hourly data", None,
               time_extent=[times[0].isoformat(), times[-1].isoformat()])

    raster = settings.raster_dir / "ndvi_2024.tif"
    raster.parent.mkdir(parents=True, exist_ok=True)
    h = w = 512
    yy, xx = np.mgrid[0:h, 0:w]
    ndvi = (0.9 * np.sin(xx / 60.0) * np.cos(yy / 80.0)).astype("float32")
    profile = {"driver": "COG", "height": h, "width": w, "count": 1, "dtype": "float32",
               "crs": "EPSG:4326", "transform": from_bounds(*BBOX, w, h), "nodata": -9999.0,
               "compress": "deflate"}
    with rasterio.open(raster, "w", **profile) as dst:
        dst.write(ndvi, 1)
    catalog.put(Entry(id="ndvi_2024", kind="raster", family="ndvi", title="植被指数 2024",
                      title_en="NDVI 2024", path=str(raster.relative_to(settings.data_dir)),
                      bbox=list(BBOX), extra={"date": "2024-07-01", "colormap": "onemap_ndvi",
                                              "rescale": [-0.2, 1.0], "bands": [1]}), settings)
