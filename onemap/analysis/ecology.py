"""Red-line and protected-area supervision: NDVI and EI change between two dates, the pixels
that lost vegetation as polygons, encroaching pollution sources and incidents, a loss ranking.

Why it is built this way:

- The two rasters often come from different suppliers: one in WGS84, the other in CGCS2000
  (EPSG:4490), on different grids. Pixels must be paired, so ``after`` is resampled onto
  ``before``'s grid (a GDAL ``WarpedVRT``, nearest neighbour: every value stays a real observation
  and nodata never bleeds into valid pixels) and only the window under each polygon is read —
  never the whole raster (``zonal_stats`` summarises one raster, not a pixel-paired difference,
  so the window logic is shared with it instead).
- A pixel belongs to an area when its centre falls inside (GDAL's rule, as in ``zonal_stats``).
  Statistics use the pixels valid at *both* dates, so a cloud on one date is not read as change.
- Loss = NDVI change ≤ ``loss_threshold``; 8-connected patches smaller than ``min_pixels`` are
  dropped as noise (registration and speckle), the rest are vectorised with
  ``rasterio.features.shapes`` and measured in metres (CGCS2000 Gauss-Krüger, ``geodesy``).
- EI follows HJ 192-2015 with every indicator approximated from NDVI and the vector layers (see
  :mod:`onemap.analysis.standards.ei`); results name the approximated indicators. The ERI
  constraint is not applied (it needs an official judgement of events; incidents inside the area
  are listed as encroachment for the analyst to weigh).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.enums import Resampling
from rasterio.features import geometry_mask, shapes
from rasterio.vrt import WarpedVRT
from scipy import ndimage
from shapely.geometry import mapping, shape

from onemap.analysis.errors import InvalidInput, NoData
from onemap.analysis.geodesy import GEOGRAPHIC, metric_crs
from onemap.analysis.standards import ei as E
from onemap.raster.zonal import window_for_bounds as raster_window

EMISSIONS = tuple(E.PLI_WEIGHTS)
LOSS_COLUMNS = ["area_id", "patch", "pixels", "area_m2", "mean_change", "min_change"]
ENCROACHMENT_COLUMNS = ["area_id", "kind", "feature_id", "name", "detail", "time", "lon", "lat"]


@dataclass
class EcologyContext:
    """Vector layers the indicators and the encroachment check read (all EPSG:4326 or any CRS)."""

    rivers: gpd.GeoDataFrame
    water_bodies: gpd.GeoDataFrame
    pollution_sources: gpd.GeoDataFrame
    incidents: gpd.GeoDataFrame


@dataclass
class EcologyResult:
    """One row per area (ranked), loss patches, encroaching features and a summary."""

    areas: gpd.GeoDataFrame
    losses: gpd.GeoDataFrame
    encroachment: pd.DataFrame
    summary: dict[str, Any]

    def to_geojson(self) -> dict:
        """FeatureCollection (EPSG:4326): areas (role "area"), loss patches ("loss") and
        encroaching sources / incidents ("pollution_source" / "incident") as points."""
        feats = [_feature(r.geometry, {"role": "area", **_props(r)})
                 for r in self.areas.itertuples(index=False)]
        feats += [_feature(r.geometry, {"role": "loss", **_props(r)})
                  for r in self.losses.itertuples(index=False)]
        for r in self.encroachment.itertuples(index=False):
            props = {"role": r.kind, **{k: getattr(r, k) for k in ENCROACHMENT_COLUMNS
                                         if k not in ("lon", "lat")}}
            feats.append(_feature(shapely.Point(r.lon, r.lat), props))
        return {"type": "FeatureCollection", "features": feats}


def _jsonable(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


def _props(row: Any) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in row._asdict().items() if k != "geometry"}


def _feature(geom: Any, props: dict[str, Any]) -> dict:
    return {"type": "Feature", "geometry": mapping(geom) if geom is not None else None,
            "properties": {k: _jsonable(v) for k, v in props.items()}}


def _open(path: Path | str, name: str) -> rasterio.DatasetReader:
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(name, f"{p} is not a file: give the path of an NDVI raster")
    try:
        src = rasterio.open(p)
    except rasterio.errors.RasterioIOError as exc:
        raise InvalidInput(name, f"{p.name} is not a readable raster ({exc})") from exc
    if src.crs is None:
        src.close()
        raise InvalidInput(name, f"{p.name} has no CRS")
    return src


def _read(ds: Any, win: rasterio.windows.Window) -> np.ndarray:
    """Band 1 under ``win`` as float64 with NaN where nodata, masked or not finite."""
    data = ds.read(1, window=win, masked=True)
    out = np.ma.filled(data.astype("float64"), np.nan)
    out[~np.isfinite(out)] = np.nan
    return out


def _validate(areas: gpd.GeoDataFrame, id_field: str, before: Path, after: Path,
              loss_threshold: float, min_pixels: int) -> None:
    if not isinstance(areas, gpd.GeoDataFrame):
        raise InvalidInput("areas", "must be a GeoDataFrame of polygons")
    if len(areas) == 0:
        raise InvalidInput("areas", "is empty: give at least one red line or protected area")
    if areas.crs is None:
        raise InvalidInput("areas", "has no CRS")
    if id_field not in areas.columns or id_field == areas.geometry.name:
        fields = ", ".join(c for c in areas.columns if c != areas.geometry.name)
        raise InvalidInput("id_field", f"unknown field {id_field!r}; the areas have: {fields}")
    dup = areas[id_field][areas[id_field].duplicated()]
    if len(dup):
        raise InvalidInput("id_field", f"values must be unique; {dup.iloc[0]!r} repeats")
    kinds = set(areas.geometry.geom_type.dropna())
    if not kinds or not kinds <= {"Polygon", "MultiPolygon"}:
        raise InvalidInput("areas", f"must be polygons, got {sorted(kinds) or 'no geometry'}")
    if Path(before).resolve() == Path(after).resolve():
        raise InvalidInput("after", "is the same raster as before: give the rasters of two dates")
    thr = float(loss_threshold)
    if not math.isfinite(thr) or not -2 <= thr < 0:
        raise InvalidInput("loss_threshold", f"must be a negative NDVI change in [-2, 0), got "
                                             f"{loss_threshold!r}")
    if isinstance(min_pixels, bool) or int(min_pixels) != min_pixels or min_pixels < 1:
        raise InvalidInput("min_pixels", f"must be a whole number ≥ 1, got {min_pixels!r}")


def _same_grid(a: rasterio.DatasetReader, b: rasterio.DatasetReader) -> bool:
    return (a.crs == b.crs and a.transform.almost_equals(b.transform)
            and (a.width, a.height) == (b.width, b.height))


def _patches(diff: np.ndarray, loss: np.ndarray, transform: rasterio.Affine,
             min_pixels: int) -> list[dict[str, Any]]:
    """Connected loss patches (8-neighbours) of at least ``min_pixels``, as raster-CRS polygons."""
    labels, n = ndimage.label(loss, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return []
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_pixels
    keep[0] = False
    labels = np.where(keep[labels], labels, 0).astype("int32")
    parts: dict[int, list] = {}
    for geom, val in shapes(labels, mask=labels > 0, transform=transform, connectivity=8):
        parts.setdefault(int(val), []).append(shape(geom))
    out = []
    for val, polys in sorted(parts.items()):
        sel = labels == val
        out.append(dict(geometry=shapely.union_all(polys), pixels=int(sel.sum()),
                        mean_change=float(diff[sel].mean()), min_change=float(diff[sel].min())))
    return out


def _inside(points: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Points within each area (EPSG:4326), with the area's ``area_id``."""
    if points is None or len(points) == 0:
        return gpd.GeoDataFrame({"area_id": []}, geometry=[], crs=GEOGRAPHIC)
    pts = points.to_crs(GEOGRAPHIC)
    pts = pts[pts.geometry.notna() & ~pts.geometry.is_empty]
    joined = gpd.sjoin(pts, areas[["area_id", "geometry"]], predicate="within", how="inner")
    return joined.drop(columns="index_right")


def _encroachment(sources: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame) -> pd.DataFrame:
    rows = []
    for r in sources.itertuples(index=False):
        rows.append(dict(area_id=r.area_id, kind="pollution_source",
                         feature_id=getattr(r, "source_id", None), name=getattr(r, "name", None),
                         detail=getattr(r, "industry", None), time=None,
                         lon=r.geometry.x, lat=r.geometry.y))
    for r in incidents.itertuples(index=False):
        t = getattr(r, "time", None)
        detail = " ".join(str(x) for x in (getattr(r, "type", None), getattr(r, "level", None))
                          if x is not None and x == x)
        rows.append(dict(area_id=r.area_id, kind="incident",
                         feature_id=getattr(r, "incident_id", None),
                         name=getattr(r, "title", None), detail=detail or None,
                         time=t.isoformat() if isinstance(t, pd.Timestamp) else t,
                         lon=r.geometry.x, lat=r.geometry.y))
    return pd.DataFrame(rows, columns=ENCROACHMENT_COLUMNS)


def _water(area_m: Any, crs: Any, context: EcologyContext, area_4326: Any) -> tuple[float, float]:
    """River km and water-body km² inside the area (metric CRS ``crs``); the context layers are
    in EPSG:4326 already."""
    out = []
    for frame, measure in ((context.rivers, "length"), (context.water_bodies, "area")):
        if frame is None or len(frame) == 0:
            out.append(0.0)
            continue
        f = frame[frame.intersects(area_4326)]
        if len(f) == 0:
            out.append(0.0)
            continue
        clipped = f.to_crs(crs).geometry.intersection(area_m)
        value = clipped.length.sum() / 1e3 if measure == "length" else clipped.area.sum() / 1e6
        out.append(float(value))
    return out[0], out[1]


def _geographic(context: EcologyContext) -> EcologyContext:
    """The context layers in EPSG:4326 (an empty or missing layer stays empty)."""
    out = {}
    for name in ("rivers", "water_bodies", "pollution_sources", "incidents"):
        frame = getattr(context, name)
        if frame is None or len(frame) == 0:
            out[name] = None
        elif frame.crs is None:
            raise InvalidInput("context", f"the {name} layer has no CRS")
        else:
            out[name] = frame.to_crs(GEOGRAPHIC)
    return EcologyContext(**out)


def _ei(values: np.ndarray, wdi: float, pli: float) -> dict[str, float]:
    shares = E.ndvi_class_shares(values)
    bi, vi, lsi = E.biological_abundance(shares), E.vegetation_cover(values), E.land_stress(shares)
    ei = round(E.ecological_index(bi, vi, wdi, lsi, pli), 2)
    return dict(bi=round(bi, 2), vi=round(vi, 2), lsi=round(lsi, 2), ei=ei)


def assess_change(areas: gpd.GeoDataFrame, *, id_field: str, before: Path, after: Path,
                  context: EcologyContext, loss_threshold: float = -0.2,
                  min_pixels: int = 4) -> EcologyResult:
    """NDVI / EI change of every area between the ``before`` and ``after`` NDVI rasters, loss
    patches, encroachment and a ranking (rank 1 = largest loss area, ties by mean change)."""
    _validate(areas, id_field, before, after, loss_threshold, min_pixels)
    geo = areas.to_crs(GEOGRAPHIC)
    name_field = "name" if "name" in geo.columns and id_field != "name" else id_field
    geo = gpd.GeoDataFrame({"area_id": geo[id_field].to_numpy(),
                            "name": geo[name_field].to_numpy()},
                           geometry=geo.geometry.to_numpy(), crs=GEOGRAPHIC)
    geo["geometry"] = geo.geometry.make_valid()
    context = _geographic(context)
    sources = _inside(context.pollution_sources, geo)
    incidents = _inside(context.incidents, geo)
    emissions = {c: sources.groupby("area_id")[c].sum() for c in EMISSIONS if c in sources}
    rows, patches = [], []
    with _open(before, "before") as src_b, _open(after, "after") as src_a:
        same = _same_grid(src_a, src_b)
        vrt = None if same else WarpedVRT(
            src_a, crs=src_b.crs, transform=src_b.transform, width=src_b.width,
            height=src_b.height, resampling=Resampling.nearest, src_nodata=src_a.nodata,
            nodata=src_a.nodata if src_a.nodata is not None else np.nan)
        try:
            in_raster = geo.to_crs(src_b.crs).geometry
            for i, r in enumerate(geo.itertuples(index=False)):
                crs_m = metric_crs(r.geometry.centroid.x)
                area_m = gpd.GeoSeries([r.geometry], crs=GEOGRAPHIC).to_crs(crs_m).iloc[0]
                area_km2 = area_m.area / 1e6
                river_km, water_km2 = _water(area_m, crs_m, context, r.geometry)
                emitted = {c: float(emissions[c].get(r.area_id, 0.0)) for c in emissions}
                wdi = round(E.water_network_density(river_km, water_km2, area_km2), 2)
                pli = round(E.pollution_load(emitted, area_km2), 2)
                row: dict[str, Any] = dict(area_id=r.area_id, name=r.name,
                                           area_km2=round(area_km2, 3), river_km=round(river_km, 3),
                                           water_km2=round(water_km2, 3), wdi=wdi, pli=pli)
                found = _area_pixels(src_b, src_a if same else vrt, in_raster.iloc[i])
                row.update(_area_change(found, r.area_id, crs_m, src_b.crs, wdi, pli,
                                        float(loss_threshold), int(min_pixels), area_km2,
                                        patches))
                row["n_pollution_sources"] = int((sources["area_id"] == r.area_id).sum())
                row["n_incidents"] = int((incidents["area_id"] == r.area_id).sum())
                rows.append(row)
        finally:
            if vrt is not None:
                vrt.close()
        grids = dict(before_crs=str(src_b.crs), after_crs=str(src_a.crs), resampled=not same)
    table = pd.DataFrame(rows)
    if not (table["valid_pixels"] > 0).any():
        raise NoData("areas", "no area has pixels valid in both rasters: check that the rasters "
                              "cover the areas and overlap each other")
    return _result(table, geo, patches, _encroachment(sources, incidents), grids,
                   Path(before), Path(after), float(loss_threshold), int(min_pixels))


def _area_pixels(src_b: rasterio.DatasetReader, src_a: Any, geom: Any
                 ) -> tuple[np.ndarray, np.ndarray, rasterio.Affine] | None:
    """(before, after) NDVI of the pixels of ``geom`` (NaN outside or invalid), and the
    window transform; None when the area lies outside the before raster."""
    if geom is None or geom.is_empty:
        return None
    win = raster_window(src_b, geom.bounds)
    if win is None:
        return None
    transform = src_b.window_transform(win)
    inside = ~geometry_mask([geom], out_shape=(int(win.height), int(win.width)),
                            transform=transform)
    b, a = _read(src_b, win), _read(src_a, win)
    b[~inside], a[~inside] = np.nan, np.nan
    return b, a, transform


def _area_change(found: tuple | None, area_id: Any, crs_m: Any, raster_crs: Any, wdi: float,
                 pli: float, threshold: float, min_pixels: int, area_km2: float,
                 patches: list[dict[str, Any]]) -> dict[str, Any]:
    """Statistics, EI at both dates and loss of one area; appends its patches to ``patches``."""
    empty = dict(valid_pixels=0, ndvi_before=None, ndvi_after=None, ndvi_change=None,
                 loss_pixels=0, loss_patches=0, loss_km2=0.0, loss_share=0.0)
    if found is None:
        return empty
    b, a, transform = found
    both = np.isfinite(b) & np.isfinite(a)
    if not both.any():
        return empty
    diff = np.where(both, a - b, np.nan)
    loss = both & (diff <= threshold)
    found_patches = _patches(diff, loss, transform, min_pixels)
    loss_m2 = 0.0
    if found_patches:
        series = gpd.GeoSeries([p["geometry"] for p in found_patches], crs=raster_crs)
        geoms = series.to_crs(GEOGRAPHIC)
        areas_m2 = series.to_crs(crs_m).area.to_numpy()
        for k, (p, g, m2) in enumerate(zip(found_patches, geoms, areas_m2, strict=True), 1):
            patches.append(dict(area_id=area_id, patch=k, pixels=p["pixels"],
                                area_m2=round(float(m2), 1), mean_change=round(p["mean_change"], 4),
                                min_change=round(p["min_change"], 4), geometry=g))
        loss_m2 = float(areas_m2.sum())
    e_b, e_a = _ei(b[both], wdi, pli), _ei(a[both], wdi, pli)
    delta = round(e_a["ei"] - e_b["ei"], 2)
    return dict(
        valid_pixels=int(both.sum()),
        ndvi_before=round(float(b[both].mean()), 4), ndvi_after=round(float(a[both].mean()), 4),
        ndvi_change=round(float(diff[both].mean()), 4),
        bi_before=e_b["bi"], bi_after=e_a["bi"], vi_before=e_b["vi"], vi_after=e_a["vi"],
        lsi_before=e_b["lsi"], lsi_after=e_a["lsi"], ei_before=e_b["ei"], ei_after=e_a["ei"],
        ei_grade_before=E.ei_grade(e_b["ei"]), ei_grade_after=E.ei_grade(e_a["ei"]),
        ei_change=delta, ei_change_grade=E.ei_change_grade(delta),
        ei_change_direction=E.ei_change_direction(delta),
        ei_change_label=E.ei_change_label(delta),
        loss_pixels=int(sum(p["pixels"] for p in found_patches)),
        loss_patches=len(found_patches), loss_km2=round(loss_m2 / 1e6, 4),
        loss_share=round(loss_m2 / 1e6 / area_km2, 5) if area_km2 > 0 else 0.0)


def _result(table: pd.DataFrame, geo: gpd.GeoDataFrame, patches: list[dict[str, Any]],
            encroachment: pd.DataFrame, grids: dict[str, Any], before: Path, after: Path,
            threshold: float, min_pixels: int) -> EcologyResult:
    change = table["ndvi_change"].astype("float64").fillna(math.inf)
    order = np.lexsort((change.to_numpy(), -table["loss_km2"].to_numpy(dtype="float64")))
    table = table.iloc[order].reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    table["approximated"] = ",".join(E.APPROXIMATED)
    table["eri_applied"] = False
    geoms = geo.set_index("area_id").geometry
    areas = gpd.GeoDataFrame(table, geometry=geoms.loc[table["area_id"]].to_numpy(),
                             crs=GEOGRAPHIC)
    losses = (gpd.GeoDataFrame(patches, geometry="geometry", crs=GEOGRAPHIC) if patches else
              gpd.GeoDataFrame({c: [] for c in LOSS_COLUMNS}, geometry=[], crs=GEOGRAPHIC))
    top = table.iloc[0]
    summary = dict(
        before=before.name, after=after.name, loss_threshold=threshold, min_pixels=min_pixels,
        n_areas=len(table), areas_with_loss=int((table["loss_km2"] > 0).sum()),
        total_loss_km2=round(float(table["loss_km2"].sum()), 4), n_loss_patches=len(losses),
        largest_loss=dict(area_id=_jsonable(top["area_id"]), name=_jsonable(top["name"]),
                          loss_km2=float(top["loss_km2"])) if top["loss_km2"] > 0 else None,
        n_pollution_sources=int((encroachment["kind"] == "pollution_source").sum()),
        n_incidents=int((encroachment["kind"] == "incident").sum()),
        method="HJ 192-2015 EI with approximated indicators; NDVI change on before's grid",
        approximated=list(E.APPROXIMATED), approximations=dict(E.APPROXIMATIONS),
        eri_applied=False, **grids)
    return EcologyResult(areas=areas, losses=losses, encroachment=encroachment, summary=summary)
