"""Generate the sample region (and optionally a national-scale inventory) and import it.

The raw files are written in the forms real data arrives in — GeoJSON, a GBK CSV with Chinese
headers, a zipped GBK Shapefile with .cpg, GeoPackages in CGCS2000 (EPSG:4490) — and then go
through :func:`onemap.layers.importer.import_file` and :func:`onemap.raster.ingest.add_raster`
exactly as a user's files would, so the sample is also an end-to-end test of the import path.
"""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import pandas as pd

from onemap import catalog
from onemap.config import Settings
from onemap.data import cubes, ecology, national_hourly, outlets, rasters, sources, stations
from onemap.data.geography import CITY, PARENT, Geography, geography
from onemap.data.writers import (
    append_csv,
    write_csv,
    write_geojson,
    write_gpkg,
    write_shapefile_zip,
)

#: Layer id -> family of every region layer (ids are the family names).
REGION_LAYERS = (
    "admin_boundaries", "rivers", "water_bodies", "air_stations", "air_hourly",
    "water_sections", "water_samples", "pollution_sources", "outlets", "protected_areas",
    "red_lines",
    "water_source_zones", "water_intakes", "sensitive_receptors", "incidents",
)
RASTERS = (*(f"ndvi_{y}_{m:02d}" for y, m, _ in rasters.SERIES), rasters.SCENE_ID,
           "pm25_hourly")
NATIONAL_LAYERS = {"pollution_sources_national": "pollution_sources",
                   "air_stations_national": "air_stations"}
TYPE_ZH = {"national": "国控", "provincial": "省控", "municipal": "市控"}
CLASS_ZH = {"I": "Ⅰ", "II": "Ⅱ", "III": "Ⅲ", "IV": "Ⅳ", "V": "Ⅴ", "V+": "劣Ⅴ"}
LEVEL_ZH = {"national": "国家级", "provincial": "省级", "municipal": "市级"}
PERMIT_ZH = {"key": "重点管理", "simplified": "简化管理", "registration": "登记管理"}
CATEGORY_ZH = {"nature_reserve": "自然保护区", "forest_park": "森林公园",
               "wetland_park": "湿地公园", "scenic_area": "风景名胜区", "geopark": "地质公园"}
FUNCTION_ZH = {"water_conservation": "水源涵养", "biodiversity": "生物多样性维护",
               "soil_conservation": "水土保持", "erosion_control": "水土流失",
               "shoreline": "岸线生态稳定"}
GRADE_ZH = {"primary": "一级保护区", "secondary": "二级保护区", "quasi": "准保护区"}
INCIDENT_ZH = {"water": "水污染", "air": "大气污染", "soil": "土壤污染", "chemical": "危险化学品",
               "radiation": "辐射", "other": "其他"}
INCIDENT_LEVEL_ZH = {"I": "特别重大", "II": "重大", "III": "较大", "IV": "一般"}
STATUS_ZH = {"reported": "已报告", "responding": "处置中", "closed": "已结束"}
RECEPTOR_ZH = {"school": "学校", "kindergarten": "幼儿园", "hospital": "医院",
               "elderly_care": "养老院", "residential": "居民区"}


def _points(df: pd.DataFrame, crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]),
                            geometry=gpd.points_from_xy(df.lon, df.lat), crs=crs)


def _admin(geo: Geography) -> gpd.GeoDataFrame:
    rows = [{"行政区划代码": code, "名称": name, "层级": "区" if name.endswith("区") else "县",
             "上级代码": PARENT.get(code, CITY[0]), "geometry": poly}
            for code, name, poly in geo.counties]
    hefei = [r["geometry"] for r in rows if r["上级代码"] == CITY[0]]
    rows.append({"行政区划代码": CITY[0], "名称": CITY[1], "层级": "市", "上级代码": "340000",
                 "geometry": gpd.GeoSeries(hefei).union_all()})
    for r in rows:  # the county-level city 巢湖市 keeps 县 level, as in the national code list
        if r["名称"].endswith("市") and r["行政区划代码"] != CITY[0]:
            r["层级"] = "县"
    return gpd.GeoDataFrame(rows, crs="EPSG:4326").to_crs("EPSG:4490")


def write_region(geo: Geography, folder: Path) -> dict[str, tuple[Path, dict]]:
    """Write every raw region file; returns layer id -> (file, import_file keyword args)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[Path, dict]] = {}

    out["admin_boundaries"] = (write_gpkg({"行政区划": _admin(geo)},
                                          folder / "admin_boundaries_cgcs2000.gpkg"), {})
    reaches = gpd.GeoDataFrame(list(geo.reaches), crs="EPSG:4326")
    out["rivers"] = (write_geojson(reaches, folder / "rivers.geojson"), {})
    wb = gpd.GeoDataFrame(list(geo.water_bodies), crs="EPSG:4326")
    wb["area_km2"] = [round(ecology.area_km2(g), 2) for g in wb.geometry]
    wb = wb.rename(columns={"water_body_id": "水体编码", "name": "名称", "kind": "类型",
                            "area_km2": "面积"})
    wb["类型"] = wb["类型"].map({"lake": "湖泊", "reservoir": "水库"})
    out["water_bodies"] = (write_geojson(wb, folder / "water_bodies.geojson"), {})

    st = stations.air_stations(geo)
    raw = pd.DataFrame({"站点编码": st.station_id, "站点名称": st.name,
                        "站点类型": st.station_type.map(TYPE_ZH), "城市": st.city,
                        "区县代码": st.county_code, "经度": st.lon, "纬度": st.lat})
    out["air_stations"] = (write_csv(raw, folder / "air_stations_gbk.csv", "gbk"), {})
    hourly = stations.air_hourly(st)
    hourly["time"] = pd.DatetimeIndex(hourly.time).strftime("%Y-%m-%d %H:%M:%S")
    hourly = hourly.rename(columns={"station_id": "站点编码", "time": "监测时间", "pm25": "PM2.5",
                                    "pm10": "PM10", "so2": "SO2", "no2": "NO2", "co": "CO",
                                    "o3": "O3", "flag": "数据标识"})
    out["air_hourly"] = (write_csv(hourly, folder / "air_hourly_2025.csv"), {})

    sec = stations.water_sections(geo)
    raw = pd.DataFrame({"断面编码": sec.section_id, "断面名称": sec.name,
                        "河流名称": sec.water_body,
                        "河段编码": sec.reach_id,
                        "水体类型": sec.water_body.map(lambda b: "湖泊" if b == "巢湖" else "河流"),
                        "水质目标": sec.target_class.map(CLASS_ZH),
                        "级别": sec.level.map(LEVEL_ZH), "区县代码": sec.county_code,
                        "经度": sec.lon, "纬度": sec.lat})
    out["water_sections"] = (write_csv(raw, folder / "water_sections_gbk.csv", "gbk"), {})
    samples = stations.water_samples(sec).rename(columns={
        "section_id": "断面编码", "time": "采样时间", "wt": "水温", "ph": "pH", "do": "溶解氧",
        "codmn": "高锰酸盐指数", "cod": "化学需氧量", "bod5": "五日生化需氧量", "nh3n": "氨氮",
        "tp": "总磷", "tn": "总氮"})
    out["water_samples"] = (write_csv(samples, folder / "water_samples_2025.csv"), {})

    src = sources.region_sources(geo)
    shp = _points(src).rename(columns={
        "source_id": "code", "name": "单位名称", "industry_code": "行业代码",
        "industry": "行业类别", "permit_id": "许可证编号", "permit_class": "管理类别",
        "permit_valid_until": "有效期至", "outlets": "排放口", "county_code": "区县代码",
        "so2_t": "二氧化硫", "nox_t": "氮氧化物", "pm_t": "颗粒物", "voc_t": "VOCs",
        "cod_t": "化学需氧量", "nh3n_t": "氨氮"})
    shp["管理类别"] = shp["管理类别"].map(PERMIT_ZH)
    out["pollution_sources"] = (write_shapefile_zip(shp, folder / "pollution_sources.zip"), {})
    ports = outlets.outlet_rows(src).rename(columns={
        "outlet_code": "排放口编码", "source_id": "排污单位编码", "outlet_id": "排放口编号",
        "medium": "排放类型", "mn": "数采仪编码", "standard": "执行标准",
        "county_code": "区县代码", "lon": "经度", "lat": "纬度"})
    ports["排放类型"] = ports["排放类型"].map({"air": "废气", "water": "废水"})
    out["outlets"] = (write_csv(ports, folder / "outlets.csv"), {})

    pa = gpd.GeoDataFrame(ecology.protected_areas(geo), crs="EPSG:4326")
    pa["category"] = pa.category.map(CATEGORY_ZH)
    pa["level"] = pa.level.map(LEVEL_ZH)
    rl = gpd.GeoDataFrame(ecology.red_lines(geo), crs="EPSG:4326")
    rl["function"] = rl.function.map(FUNCTION_ZH)
    zones = gpd.GeoDataFrame(ecology.water_source_zones(geo), crs="EPSG:4326")
    zones["grade"] = zones.grade.map(GRADE_ZH)
    eco = folder / "ecology_cgcs2000.gpkg"
    write_gpkg({"protected_areas": pa.to_crs("EPSG:4490"), "red_lines": rl.to_crs("EPSG:4490"),
                "water_source_zones": zones.to_crs("EPSG:4490")}, eco)
    for name in ("protected_areas", "red_lines", "water_source_zones"):
        out[name] = (eco, {"layer": name})
    out["water_intakes"] = (write_geojson(_points(ecology.water_intakes()),
                                          folder / "water_intakes.geojson"), {})
    rec = ecology.sensitive_receptors(geo)
    rec["kind"] = rec.kind.map(RECEPTOR_ZH)
    out["sensitive_receptors"] = (write_csv(rec, folder / "sensitive_receptors.csv"), {})
    inc = ecology.incidents(geo, src)
    inc["type"] = inc.type.map(INCIDENT_ZH)
    inc["level"] = inc.level.map(INCIDENT_LEVEL_ZH)
    inc["status"] = inc.status.map(STATUS_ZH)
    out["incidents"] = (write_geojson(_points(inc), folder / "incidents.geojson"), {})
    return out


def _have(settings: Settings, ids) -> bool:
    entries = catalog.load(settings)
    return all(i in entries for i in ids)


def _add_rasters(geo: Geography, settings: Settings) -> None:
    """The NDVI series, the GF-1-like scene and the PM2.5 cube, through add_raster/add_cube."""
    from onemap.raster.cube import add_cube
    from onemap.raster.ingest import add_raster
    from onemap.styles.colormaps import RASTER_STYLES

    folder = settings.sample_dir
    cover = rasters.land_cover(geo)
    style = RASTER_STYLES["onemap_ndvi"]
    for path, dataset_id, date in rasters.write_ndvi(geo, folder, cover):
        entry = add_raster(path, dataset_id=dataset_id, title=f"植被指数 NDVI {date}",
                           title_en=f"Vegetation index (NDVI) {date}", date=date,
                           collection="ndvi", colormap="onemap_ndvi",
                           rescale=[style.vmin, style.vmax], bands=["ndvi"],
                           description="月合成植被指数(示例数据)", settings=settings)
        print(f"sample: added raster {entry.id!r} ({entry.extra['width']}×"
              f"{entry.extra['height']} px, {entry.extra['crs']})")
    path, dataset_id, when = rasters.write_scene(geo, folder, cover)
    entry = add_raster(path, dataset_id=dataset_id, title="高分一号 WFV 地表反射率 2025-07-20",
                       title_en="GF-1 WFV surface reflectance 2025-07-20", date=when,
                       collection="gf1_wfv", bands=[b for b, _ in rasters.BANDS],
                       bidx=[3, 2, 1], rescale=[0, 2000],
                       description="4 波段地表反射率 ×10000(蓝、绿、红、近红外),示例数据",
                       settings=settings)
    print(f"sample: added raster {entry.id!r} ({entry.extra['width']}×"
          f"{entry.extra['height']} px, {entry.extra['crs']})")
    pm = RASTER_STYLES["onemap_pm25"]
    entry = add_cube(cubes.pm25_cube(geo), dataset_id="pm25_hourly", variable="pm25",
                     unit="µg/m³", title="PM2.5 逐小时浓度场(2025年1月重污染过程)",
                     title_en="Hourly PM2.5 grid (January 2025 haze episode)",
                     colormap="onemap_pm25", rescale=[pm.vmin, pm.vmax],
                     description="由监测站小时值插值并按城镇分布调制的 PM2.5 网格(示例数据)",
                     source="air_hourly", settings=settings)
    print(f"sample: added cube {entry.id!r} ({len(entry.extra['times'])} h, "
          f"{entry.extra['width']}×{entry.extra['height']} px)")


#: Layers the sample keeps internal (business data: permits and emissions, incidents, the
#: people at risk); the rest — air and water quality, protected areas, red lines, boundaries,
#: rivers — is what 信息公开 publishes.
INTERNAL_LAYERS = frozenset({"pollution_sources", "outlets", "incidents", "sensitive_receptors"})


def generate_region(settings: Settings) -> None:
    from onemap.layers.importer import import_file

    t0 = time.monotonic()
    geo = geography()
    folder = settings.sample_dir
    files = write_region(geo, folder)
    print(f"sample: wrote {len(files)} raw layers to {folder} ({time.monotonic() - t0:.1f} s)")
    for layer_id in REGION_LAYERS:
        path, kw = files[layer_id]
        access = "internal" if layer_id in INTERNAL_LAYERS else "public"
        entry = import_file(path, layer_id, layer_id=layer_id, settings=settings,
                            access=access, **kw)
        print(f"sample: imported {entry.feature_count:>7} features into {layer_id!r} "
              f"from {path.name} ({access})")
    _add_rasters(geo, settings)
    print(f"sample: region done in {time.monotonic() - t0:.1f} s")


def generate_national(settings: Settings, n_sources: int = 1_000_000, n_stations: int = 1500,
                      chunk: int = 100_000) -> None:
    """National-scale layers, streamed: CSV chunks are appended to disk, then imported in
    chunks, so neither step holds the whole inventory in memory."""
    from onemap.layers.importer import import_file

    t0 = time.monotonic()
    folder = settings.sample_dir / "national"
    folder.mkdir(parents=True, exist_ok=True)
    src_csv = folder / "pollution_sources_national.csv"
    src_csv.unlink(missing_ok=True)
    for i, frame in enumerate(sources.national_source_chunks(n_sources, chunk)):
        append_csv(frame.rename(columns={"lon": "经度", "lat": "纬度"}), src_csv)
        print(f"sample: national sources chunk {i + 1} ({(i * chunk) + len(frame)} rows)")
    gen = sources.rng("national_stations")
    lon, lat, county, place = sources.national_points(gen, n_stations, spread_km=15)
    kinds = gen.choice(["national", "provincial", "municipal"], n_stations, p=[0.4, 0.3, 0.3])
    st = pd.DataFrame({"station_id": [f"{1001 + i:04d}A" for i in range(n_stations)],
                       "name": [f"{p}监测点{i + 1}" for i, p in enumerate(place)],
                       "station_type": kinds, "city": [f"{p}市" for p in place],
                       "county_code": county, "lon": lon.round(5), "lat": lat.round(5)})
    st_csv = write_csv(st, folder / "air_stations_national.csv")
    for layer_id, path in (("pollution_sources_national", src_csv),
                           ("air_stations_national", st_csv)):
        entry = import_file(path, NATIONAL_LAYERS[layer_id], layer_id=layer_id,
                            title=f"{'污染源' if 'sources' in layer_id else '空气质量监测站'}"
                                  "(全国示例)", settings=settings, chunk_size=chunk)
        print(f"sample: imported {entry.feature_count} features into {layer_id!r}")
    print(f"sample: national done in {time.monotonic() - t0:.1f} s")


def generate_national_hourly(settings: Settings, years: int, chunk: int = 100_000) -> None:
    """``years`` years of hourly data for every national station (``air_hourly_national``),
    generated and imported a month at a time: validated and written as any import, never
    whole in memory; with ``ONEMAP_DATABASE_URL`` then COPYed into PostGIS, partitioned by
    year."""
    from onemap.layers.importer import import_frames
    from onemap.layers.store import read_layer

    t0 = time.monotonic()
    st = read_layer("air_stations_national", settings)
    st = pd.DataFrame({"station_id": st["station_id"], "station_type": st["station_type"],
                       "lon": st.geometry.x, "lat": st.geometry.y})

    def chunks():  # noqa: ANN202
        for month in national_hourly.months(st, years):
            first = pd.Timestamp(month["time"].iloc[0])
            if first.month == 1:
                print(f"sample: national hourly {first.year} ({time.monotonic() - t0:.0f} s)")
            for lo in range(0, len(month), chunk * 4):
                yield month.iloc[lo:lo + chunk * 4]

    entry = import_frames(chunks(), "air_hourly", source=f"air_hourly_national_{years}y.csv",
                          layer_id="air_hourly_national", title="空气质量小时数据(全国示例)",
                          title_en="Air quality hourly data (national sample)",
                          settings=settings, unit="row")
    print(f"sample: imported {entry.feature_count} rows into 'air_hourly_national' "
          f"({years} years) in {time.monotonic() - t0:.1f} s")


def generate(settings: Settings, scale: str = "region", force: bool = False,
             years: int = 0) -> None:
    """Generate and import the sample (``scale`` "region" or "national"); quick no-op when the
    catalogue already has it and ``force`` is false. ``years``: with "national", that many
    years of hourly history for every station (``air_hourly_national``; 0: none)."""
    if scale not in ("region", "national"):
        raise ValueError(f"unknown scale {scale!r}: use 'region' or 'national'")
    if years < 0 or (years and scale != "national"):
        raise ValueError("--years N (N ≥ 0) goes with --scale national")
    if force or not _have(settings, (*REGION_LAYERS, *RASTERS)):
        generate_region(settings)
    else:
        print(f"sample: region layers already in {settings.catalog_path} (use --force to "
              "regenerate)")
    if scale == "national":
        if force or not _have(settings, NATIONAL_LAYERS):
            generate_national(settings)
        else:
            print("sample: national layers already catalogued (use --force to regenerate)")
        if years:
            have = catalog.load(settings).get("air_hourly_national")
            if force or have is None or have.source != f"air_hourly_national_{years}y.csv":
                generate_national_hourly(settings, years)
            else:
                print(f"sample: {years} years of national hourly data already catalogued")
