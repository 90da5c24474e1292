"""NDVI-like sample rasters of the region (summer and spring), written as plain GeoTIFFs.

The value of a pixel comes from a simple land-cover mix that follows the vector geography: open
water (lake, reservoirs, rivers) ≈ -0.1, built-up Hefei and the towns 0.1–0.25, cropland
0.4–0.7 in a field patchwork, forest on the hills and the 大别山 foothills 0.7–0.9; a cyanobacteria
bloom greens the western lake in July, and April has clouds (nodata), as a real scene would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio import features
from rasterio.transform import from_origin

from onemap.data.geography import (
    BBOX,
    KM_PER_DEG_LAT,
    TOWNS,
    Geography,
    SineField,
    km_per_deg_lon,
    rng,
)

RES = 0.0013  # ≈ 125 m × 145 m
NODATA = -9999.0
HILLS = ((117.02, 31.74, 4.0), (117.17, 31.845, 2.0), (117.22, 31.15, 5.0), (117.55, 32.02, 4.0),
         (117.78, 31.45, 5.0), (117.97, 31.50, 4.0), (116.90, 31.30, 6.0))


def grid() -> tuple[rasterio.Affine, int, int, np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = BBOX
    w, h = int(round((x1 - x0) / RES)), int(round((y1 - y0) / RES))
    transform = from_origin(x0, y1, RES, RES)
    lon = x0 + (np.arange(w) + 0.5) * RES
    lat = y1 - (np.arange(h) + 0.5) * RES
    glon, glat = np.meshgrid(lon, lat)
    return transform, w, h, glon, glat


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
                speckle=gen.normal(0, 1, (h, w)), glon=glon, glat=glat)


def ndvi(cover: dict[str, np.ndarray], month: int) -> np.ndarray:
    """NDVI for July (7, peak rice/maize growth) or April (4, wheat/rapeseed, clouds)."""
    summer = month in (6, 7, 8)
    f, nz, sp = cover["fields"], cover["noise"], cover["speckle"]
    crop = (0.52 + 0.22 * f if summer else 0.38 + 0.28 * f) + 0.04 * nz
    forest = (0.80 if summer else 0.66) + 0.05 * nz
    urban = 0.16 + 0.05 * nz
    u, fo = cover["urban"], cover["forest"]
    land = urban * u + (forest * fo + crop * (1 - fo)) * (1 - u)
    water = -0.09 + 0.01 * nz + (0.22 * cover["bloom"] if summer else 0.0)
    out = np.where(cover["water"], water, land) + np.where(cover["water"], 0.008, 0.02) * sp
    out = np.clip(out, -0.2, 0.95).astype("float32")
    out[~cover["inside"]] = NODATA
    if not summer:
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


def write_ndvi(geo: Geography, folder: Path) -> list[tuple[Path, str, str]]:
    """Write the two NDVI GeoTIFFs; returns (path, dataset id, date) per file.

    July is written in EPSG:4326, April in CGCS2000 (EPSG:4490) as Chinese agencies deliver.
    """
    transform, w, h, *_ = grid()
    cover = land_cover(geo)
    out = []
    for month, crs in ((7, "EPSG:4326"), (4, "EPSG:4490")):
        path = folder / f"ndvi_2025_{month:02d}.tif"
        tmp = path.with_name(f".{path.name}.tmp")
        profile = dict(driver="GTiff", width=w, height=h, count=1, dtype="float32", crs=crs,
                       transform=transform, nodata=NODATA, compress="deflate", predictor=3,
                       tiled=False)
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(ndvi(cover, month), 1)
            dst.set_band_description(1, "NDVI")
            dst.update_tags(1, month=f"2025-{month:02d}")
        tmp.replace(path)
        out.append((path, f"ndvi_2025_{month:02d}", f"2025-{month:02d}"))
    return out
