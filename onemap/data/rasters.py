"""NDVI-like sample rasters of the region (summer and spring), written as plain GeoTIFFs.

The value of a pixel comes from a simple land-cover mix that follows the vector geography: open
water (lake, reservoirs, rivers) ≈ -0.1, built-up Hefei and the towns 0.1–0.25, cropland
0.4–0.7 in a field patchwork, forest on the hills and the 大别山 foothills 0.7–0.9; a cyanobacteria
bloom greens the western lake in July, and January and April have clouds (nodata), as a real
scene would. The series runs July 2024, January, April, July and October 2025; between the two
Julys a quarry and a construction site open inside two ecological red lines (:data:`LOSSES`), the
kind of vegetation loss red-line supervision looks for. A GF-1 WFV-like 4-band surface
reflectance scene over Hefei and the western lake is derived from the same July 2025 land cover,
so the NDVI computed from its red and NIR bands agrees with the NDVI raster.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio import features
from rasterio.transform import from_origin
from rasterio.warp import Resampling, reproject

from onemap.data.geography import (
    BBOX,
    KM_PER_DEG_LAT,
    TOWNS,
    Geography,
    SineField,
    blob,
    km_per_deg_lon,
    pixel_grid,
    rng,
)

RES = 0.0013  # ≈ 125 m × 145 m
NODATA = -9999.0
HILLS = ((117.02, 31.74, 4.0), (117.17, 31.845, 2.0), (117.22, 31.15, 5.0), (117.55, 32.02, 4.0),
         (117.78, 31.45, 5.0), (117.97, 31.50, 4.0), (116.90, 31.30, 6.0))


def grid() -> tuple[rasterio.Affine, int, int, np.ndarray, np.ndarray]:
    return pixel_grid(RES)


def _dist_km(glon: np.ndarray, glat: np.ndarray, x: float, y: float) -> np.ndarray:
    return np.hypot((glon - x) * km_per_deg_lon(31.5), (glat - y) * KM_PER_DEG_LAT)


def _patchwork(gen: np.random.Generator, h: int, w: int, block: int = 4) -> np.ndarray:
    """Field-like blocks of ~500 m with independent crop vigour."""
    coarse = gen.random((h // block + 1, w // block + 1))
    return np.repeat(np.repeat(coarse, block, axis=0), block, axis=1)[:h, :w]


def land_cover(geo: Geography) -> dict[str, np.ndarray]:
    """Fractions (0..1) of water, urban and forest per pixel, plus helpers shared by dates."""
    transform, w, h, glon, glat = grid()
    gen = rng("ndvi")
    shapes = [(wb["geometry"], 1) for wb in geo.water_bodies]
    shapes += [(r["geometry"], 1) for r in geo.reaches
               if "湖区" not in r["name"] and r["stream_order"] >= 1]
    water = features.rasterize(shapes, (h, w), transform=transform, all_touched=True,
                               dtype="uint8").astype(bool)
    inside = features.geometry_mask([geo.outline], (h, w), transform, invert=True)
    urban = np.zeros((h, w))
    for t in TOWNS:
        r = 0.8 + 0.42 * np.sqrt(t.pop)
        urban = np.maximum(urban, np.exp(-(_dist_km(glon, glat, t.lon, t.lat) / r) ** 2))
    urban = np.clip(urban * 1.25 + 0.15 * SineField(gen, 10, (2, 8))(glon, glat) - 0.1, 0, 1)
    elev = np.clip(1.5 - _dist_km(glon, glat, 116.72, 30.95) / 40, 0, None)
    for x, y, r in HILLS:
        elev = np.maximum(elev, 1.3 * np.exp(-(_dist_km(glon, glat, x, y) / r) ** 2))
    elev = elev + 0.25 * SineField(gen, 10, (3, 15))(glon, glat)
    forest = np.clip((elev - 0.4) / 0.4, 0, 1) * (1 - urban)
    bloom = np.exp(-(_dist_km(glon, glat, 117.36, 31.64) / 9) ** 2) * np.clip(
        0.6 + SineField(gen, 8, (2, 10))(glon, glat), 0, None)
    return dict(water=water, inside=inside, urban=urban, forest=forest, bloom=bloom,
                fields=_patchwork(gen, h, w), noise=SineField(gen, 14, (1, 6))(glon, glat),
                speckle=gen.normal(0, 1, (h, w)), glon=glon, glat=glat,
                lost=lost_ground((h, w), transform))


#: Month → (crop base, crop spread, forest, bloom on the lake, cloudy): the seasonal cycle of a
#: rice/wheat rotation (wheat and rapeseed in winter and spring, rice in summer, harvest in
#: October) and of mixed deciduous/evergreen hill forest.
SEASONS = {1: (0.25, 0.20, 0.55, 0.0, True), 4: (0.38, 0.28, 0.66, 0.0, True),
           7: (0.52, 0.22, 0.80, 0.22, False), 10: (0.35, 0.30, 0.72, 0.12, False)}
#: Vegetation lost between July 2024 and 2025: name, lon, lat, radius km, NDVI of the bare
#: ground. Both lie inside a red line and a forest park (onemap/data/ecology.py).
LOSSES = (("浮槎山采石场", 117.555, 32.015, 0.7, 0.06),
          ("紫蓬山开发工地", 117.015, 31.735, 0.6, 0.16))
#: (year, month, CRS) of every NDVI raster: both CRSs Chinese data arrives in are represented.
SERIES = ((2024, 7, "EPSG:4326"), (2025, 1, "EPSG:4490"), (2025, 4, "EPSG:4490"),
          (2025, 7, "EPSG:4326"), (2025, 10, "EPSG:4326"))


def lost_ground(shape: tuple[int, int], transform: rasterio.Affine) -> np.ndarray:
    """NDVI of the bare ground where the quarry / construction sites opened, NaN elsewhere."""
    gen = rng("ndvi_losses")
    out = np.full(shape, np.nan, dtype="float32")
    for _, x, y, r, bare in LOSSES:
        mask = features.rasterize([(blob(x, y, r, gen, 0.3), 1)], shape, transform=transform,
                                  dtype="uint8").astype(bool)
        out[mask] = bare
    return out


def ndvi(cover: dict[str, np.ndarray], month: int, year: int = 2025) -> np.ndarray:
    """NDVI of ``month`` (1, 4, 7 or 10) of ``year`` (2024 before the losses, 2025 after)."""
    base, spread, forest_v, bloom, cloudy = SEASONS[month]
    f, nz, sp = cover["fields"], cover["noise"], cover["speckle"]
    if year != 2025:  # another year's crops: the same fields, a different vigour
        f = 0.7 * f + 0.3 * _patchwork(rng(f"ndvi_{year}"), *f.shape)
    crop = base + spread * f + 0.04 * nz
    forest = forest_v + 0.05 * nz
    urban = 0.16 + 0.05 * nz
    u, fo = cover["urban"], cover["forest"]
    land = urban * u + (forest * fo + crop * (1 - fo)) * (1 - u)
    if year >= 2025:
        lost = cover["lost"]
        land = np.where(np.isnan(lost), land, lost + 0.03 * nz)
    water = -0.09 + 0.01 * nz + bloom * cover["bloom"]
    out = np.where(cover["water"], water, land) + np.where(cover["water"], 0.008, 0.02) * sp
    out = np.clip(out, -0.2, 0.95).astype("float32")
    out[~cover["inside"]] = NODATA
    if cloudy:
        out[_clouds(cover["glon"], cover["glat"], month)] = NODATA
    return out


def _clouds(glon: np.ndarray, glat: np.ndarray, month: int) -> np.ndarray:
    """A few scattered cumulus patches with ragged edges (masked as nodata, as in L2 scenes)."""
    gen = rng(f"clouds_{month}")
    field = np.zeros(glon.shape)
    for _ in range(6):
        x, y = gen.uniform(BBOX[0], BBOX[2]), gen.uniform(BBOX[1], BBOX[3])
        rx, ry = gen.uniform(4, 12), gen.uniform(3, 7)
        d2 = (((glon - x) * km_per_deg_lon(31.5)) / rx) ** 2 + (
            ((glat - y) * KM_PER_DEG_LAT) / ry) ** 2
        field = np.maximum(field, np.exp(-d2))
    ragged = 1 + 0.35 * SineField(gen, 16, (1.5, 5))(glon, glat)
    return field * ragged > 0.5


def write_ndvi(geo: Geography, folder: Path,
               cover: dict[str, np.ndarray] | None = None) -> list[tuple[Path, str, str]]:
    """Write the NDVI series as GeoTIFFs; returns (path, dataset id, month) per file.

    Some dates are in EPSG:4326, others in CGCS2000 (EPSG:4490) as Chinese agencies deliver.
    """
    transform, w, h, *_ = grid()
    cover = land_cover(geo) if cover is None else cover
    out = []
    for year, month, crs in SERIES:
        path = folder / f"ndvi_{year}_{month:02d}.tif"
        tmp = path.with_name(f".{path.name}.tmp")
        profile = dict(driver="GTiff", width=w, height=h, count=1, dtype="float32", crs=crs,
                       transform=transform, nodata=NODATA, compress="deflate", predictor=3,
                       tiled=False)
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(ndvi(cover, month, year), 1)
            dst.set_band_description(1, "NDVI")
            dst.update_tags(1, month=f"{year}-{month:02d}")
        tmp.replace(path)
        out.append((path, f"ndvi_{year}_{month:02d}", f"{year}-{month:02d}"))
    return out


#: The GF-1 WFV-like scene: id, acquisition time (UTC, a ≈10:30 Beijing overpass), lon/lat
#: window, CRS and pixel size (WFV's 16 m resampled to 48 m to keep the sample small).
SCENE_ID = "gf1_wfv_2025_07_20"
SCENE_TIME = "2025-07-20T02:36:18Z"
SCENE_WINDOW = (117.0, 31.55, 117.6, 32.0)
SCENE_CRS = "EPSG:32650"
SCENE_RES = 48.0
BANDS = (("blue", "Blue 0.45–0.52 µm (surface reflectance × 10000)"),
         ("green", "Green 0.52–0.59 µm (surface reflectance × 10000)"),
         ("red", "Red 0.63–0.69 µm (surface reflectance × 10000)"),
         ("nir", "Near infrared 0.77–0.89 µm (surface reflectance × 10000)"))


def reflectance(nd: np.ndarray, water: np.ndarray) -> np.ndarray:
    """Blue, green, red, NIR surface reflectance (0..1) whose (nir−red)/(nir+red) is ``nd``.

    Red falls as vegetation thickens; NIR follows from the NDVI definition; water is dark in
    red and NIR whatever its (bloom-raised) NDVI.
    """
    red = np.where(water, 0.04, 0.02 + 0.12 * np.clip(1 - nd, 0, None) ** 1.5)
    nir = red * (1 + nd) / (1 - nd)
    blue = np.where(water, 0.065, 0.6 * red + 0.02)
    green = np.where(water, 0.06 + 0.03 * np.clip(nd, 0, None), 0.9 * red + 0.03 * nd + 0.03)
    return np.stack([blue, green, red, nir])


def write_scene(geo: Geography, folder: Path,
                cover: dict[str, np.ndarray] | None = None) -> tuple[Path, str, str]:
    """Write the 4-band uint16 scene in UTM 50N (nodata 0); returns (path, id, datetime)."""
    from rasterio.warp import transform_bounds

    transform, w, h, *_ = grid()
    cover = land_cover(geo) if cover is None else cover
    nd = ndvi(cover, 7, 2025)
    x0, y0, x1, y1 = transform_bounds("EPSG:4326", SCENE_CRS, *SCENE_WINDOW)
    x0, y1 = np.floor(x0 / SCENE_RES) * SCENE_RES, np.ceil(y1 / SCENE_RES) * SCENE_RES
    sw, sh = int(np.ceil((x1 - x0) / SCENE_RES)), int(np.ceil((y1 - y0) / SCENE_RES))
    dst_transform = from_origin(x0, y1, SCENE_RES, SCENE_RES)
    nd_utm = np.full((sh, sw), NODATA, dtype="float32")
    water_utm = np.zeros((sh, sw), dtype="uint8")
    common = dict(src_transform=transform, src_crs="EPSG:4326", dst_transform=dst_transform,
                  dst_crs=SCENE_CRS, resampling=Resampling.nearest)
    reproject(nd, nd_utm, src_nodata=NODATA, dst_nodata=NODATA, **common)
    reproject(cover["water"].astype("uint8"), water_utm, **common)
    valid = nd_utm != NODATA
    refl = reflectance(np.where(valid, nd_utm, 0.0), water_utm.astype(bool))
    data = np.clip(np.round(refl * 10000), 1, 10000).astype("uint16")
    data[:, ~valid] = 0
    path = folder / f"{SCENE_ID}.tif"
    tmp = path.with_name(f".{path.name}.tmp")
    profile = dict(driver="GTiff", width=sw, height=sh, count=4, dtype="uint16", crs=SCENE_CRS,
                   transform=dst_transform, nodata=0, compress="deflate", predictor=2,
                   tiled=True, blockxsize=256, blockysize=256, interleave="pixel")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data)
        for i, (_, text) in enumerate(BANDS, start=1):
            dst.set_band_description(i, text)
        dst.update_tags(SATELLITE="GF-1 (synthetic sample)", SENSOR="WFV",
                        ACQUISITION_TIME=SCENE_TIME)
    tmp.replace(path)
    return path, SCENE_ID, SCENE_TIME
