"""The ``ecology-change`` process: NDVI / EI change of red lines or protected areas between two
catalogued NDVI rasters, loss patches, encroachment and a loss ranking
(see :mod:`onemap.analysis.ecology`).

Rasters are named by catalogue id only (kind ``raster``, one band); the catalogue gives the
file, so no request ever names a path. Unknown ids, multi-band rasters and unknown area ids are
400s naming the input, checked before a job exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from onemap import catalog
from onemap.access import context, policy
from onemap.analysis.ecology import EcologyContext, assess_change
from onemap.analysis.errors import InvalidInput
from onemap.mapserver.processing import data
from onemap.mapserver.processing.base import GEOJSON, JSON, OneMapProcessor, Param, i18n
from onemap.mapserver.processing.outputs import records, value

#: layer -> its id field.
AREA_LAYERS = {"red_lines": "redline_id", "protected_areas": "area_id"}
RASTER_ID = {"type": "string", "pattern": catalog.ID_PATTERN.pattern}


@dataclass(frozen=True)
class EcologyInputs:
    areas: gpd.GeoDataFrame
    id_field: str
    before: Path
    after: Path
    before_id: str
    after_id: str
    loss_threshold: float
    min_pixels: int


def raster_file(settings: Any, dataset_id: str, parameter: str) -> Path:
    """The COG of a catalogued single-band raster the caller may see; InvalidInput naming
    ``parameter`` else (a hidden raster is unknown, and missing from the list of choices)."""
    entries = {e.id: e for e in policy.visible(context.current(),
                                               catalog.load(settings).values(), settings)}
    rasters = sorted(e.id for e in entries.values() if e.kind == "raster"
                     and e.extra.get("count", 1) == 1)
    entry = entries.get(dataset_id)
    if entry is None or entry.kind != "raster":
        raise InvalidInput(parameter, f"no catalogued raster {dataset_id!r}; single-band "
                           f"rasters: {', '.join(rasters)}")
    if entry.extra.get("count", 1) != 1:
        raise InvalidInput(parameter, f"{dataset_id!r} has {entry.extra.get('count')} bands; "
                           "give an NDVI raster (one band)")
    path = entry.file(settings)
    if not path.is_file():
        raise InvalidInput(parameter, f"the file of raster {dataset_id!r} is missing")
    return path


def raster_period(settings: Any, before_id: str, after_id: str) -> tuple[pd.Timestamp,
                                                                         pd.Timestamp] | None:
    """[start, end) in UTC from the first day of the ``before`` raster's date to the end of the
    ``after`` raster's date ("2025-07" ends with July); None if a date is missing."""
    entries = catalog.load(settings)
    dates = [str((entries[i].extra or {}).get("date") or "") for i in (before_id, after_id)]
    if not all(dates):
        return None
    try:
        start = pd.Timestamp(dates[0]).tz_localize("Asia/Shanghai")
        end = pd.Timestamp(dates[1]).tz_localize("Asia/Shanghai")
    except ValueError:
        return None
    step = pd.DateOffset(months=1) if len(dates[1]) <= 7 else pd.DateOffset(days=1)
    return start.tz_convert("UTC"), (end + step).tz_convert("UTC")


def incidents_between(incidents: gpd.GeoDataFrame, period: tuple | None) -> gpd.GeoDataFrame:
    """The incidents that happened between the two images: only those can explain a change
    seen between them (an incident after the second image cannot)."""
    if period is None or incidents is None or "time" not in incidents or len(incidents) == 0:
        return incidents
    when = pd.to_datetime(incidents["time"], utc=True, errors="coerce")
    return incidents[(when >= period[0]) & (when < period[1])]


class EcologyChangeProcessor(OneMapProcessor):
    """Vegetation and ecological-index change inside ecological red lines / protected areas."""

    PROCESS_ID = "ecology-change"
    TITLE = i18n("生态保护红线与自然保护地变化监测", "Red-line and protected-area change")
    DESCRIPTION = i18n(
        "对生态保护红线或自然保护地（全部或指定），比较两期 NDVI：两期均值与变化、HJ 192-2015 "
        "生态状况指数（近似指标已注明）及等级变化、显著减少像元的图斑、区内污染源和事件（侵占），"
        "并按损失面积排序。",
        "For red lines or protected areas (all or chosen ones), two NDVI dates: means and change, "
        "the HJ 192-2015 ecological index (approximated indicators named) and its grade change, "
        "patches of significant loss as polygons, pollution sources and incidents inside "
        "(encroachment), ranked by loss area.")
    KEYWORDS = ("ecology", "生态保护红线", "NDVI", "EI", "HJ 192-2015")
    PARAMS = (
        Param("layer", {"type": "string", "enum": list(AREA_LAYERS), "default": "red_lines"},
              "区域图层", "Area layer"),
        Param("area_ids", {"type": "array", "items": {"type": "string", "maxLength": 64},
                           "minItems": 1, "maxItems": 1000, "uniqueItems": True},
              "区域编号", "Area ids", description_en="Default: every area of the layer"),
        Param("before", RASTER_ID, "前期 NDVI 栅格", "Before (raster id)", required=True,
              description_en="Catalogue id of the earlier NDVI raster, e.g. ndvi_2024_07"),
        Param("after", RASTER_ID, "后期 NDVI 栅格", "After (raster id)", required=True,
              description_en="Catalogue id of the later NDVI raster, e.g. ndvi_2025_07"),
        Param("loss_threshold", {"type": "number", "minimum": -2, "exclusiveMaximum": 0,
                                 "default": -0.2}, "显著减少阈值", "Loss threshold (ΔNDVI)"),
        Param("min_pixels", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 4},
              "最小图斑像元数", "Minimum patch pixels"),
    )
    OUTPUTS = {
        "features": {"title": i18n("区域、损失图斑与侵占要素", "Areas, loss patches, encroachment"),
                     "description": i18n("role: area（面）, loss（面）, pollution_source, incident"
                                         "（点）", "role: area, loss (polygons), "
                                         "pollution_source, incident (points)"),
                     "schema": GEOJSON},
        "ranking": {"title": i18n("损失排序", "Loss ranking"),
                    "description": i18n("每个区域一行，rank=1 损失最大",
                                        "One row per area, rank 1 = largest loss"),
                    "schema": {"type": "array", "items": {"type": "object"}}},
        "encroachment": {"title": i18n("侵占", "Encroachment"),
                         "description": i18n("区内污染源与事件", "Sources and incidents inside"),
                         "schema": {"type": "array", "items": {"type": "object"}}},
        "summary": {"title": i18n("摘要", "Summary"), "description": i18n("摘要", "Summary"),
                    "schema": JSON},
    }
    EXAMPLE = {"layer": "red_lines", "before": "ndvi_2024_07", "after": "ndvi_2025_07"}

    def check(self, v: dict[str, Any]) -> EcologyInputs:
        before = raster_file(self.settings, v["before"], "before")
        after = raster_file(self.settings, v["after"], "after")
        if v["before"] == v["after"]:
            raise InvalidInput("after", "is the same raster as before: give two dates")
        layer = catalog.load(self.settings).get(v["layer"])
        if layer is None or policy.limits(context.current(), layer, self.settings) is None:
            raise InvalidInput("layer", f"no catalogued layer {v['layer']!r}")
        id_field = AREA_LAYERS[v["layer"]]
        areas = data.read_as(self.principal, v["layer"], self.settings)
        if v["area_ids"] is not None:
            known = set(areas[id_field].astype(str))
            unknown = [a for a in v["area_ids"] if a not in known]
            if unknown:
                raise InvalidInput("area_ids", f"unknown {v['layer']} id(s) "
                                   f"{', '.join(unknown)}; e.g. {', '.join(sorted(known)[:3])}")
            areas = areas[areas[id_field].astype(str).isin(v["area_ids"])]
        return EcologyInputs(areas, id_field, before, after, v["before"], v["after"],
                             v["loss_threshold"], v["min_pixels"])

    def run(self, inputs: EcologyInputs) -> dict[str, Any]:
        self.progress(0.1, "reading context layers")
        period = raster_period(self.settings, inputs.before_id, inputs.after_id)
        context = EcologyContext(
            rivers=data.read_as(self.principal, "rivers", self.settings),
            water_bodies=data.read_as(self.principal, "water_bodies", self.settings),
            pollution_sources=data.read_as(self.principal, "pollution_sources", self.settings),
            incidents=incidents_between(data.read_as(self.principal, "incidents",
                                                     self.settings), period))
        self.progress(0.3, "comparing NDVI")
        result = assess_change(inputs.areas, id_field=inputs.id_field, before=inputs.before,
                               after=inputs.after, context=context,
                               loss_threshold=inputs.loss_threshold,
                               min_pixels=inputs.min_pixels)
        summary = {k: v if isinstance(v, dict | list) else value(v)
                   for k, v in result.summary.items()}
        # the analysis names files; the API names catalogue ids
        summary.update(before=inputs.before_id, after=inputs.after_id)
        if period is not None:  # which incidents were considered
            summary["incidents_from"], summary["incidents_until"] = (
                t.isoformat().replace("+00:00", "Z") for t in period)
        return {"features": result.to_geojson(), "ranking": records(result.areas),
                "encroachment": records(result.encroachment), "summary": summary}
