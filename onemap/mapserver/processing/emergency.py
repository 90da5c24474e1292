"""The ``incident-assessment`` process: rings, plume or downstream trace, receptors, suspects
and an offline HTML report for one incident (see :mod:`onemap.analysis.emergency`).

The checks that decide whether the request can be answered run before a job exists: the
pollutant against the medium, the point against the region, and — for a release to air without
a given wind — whether a station measured the wind near that time. The layers read for those
checks (only the hours of ``air_hourly`` around the incident) are the ones the run uses.

The report is saved under ``runtime/reports/<uuid>.html`` (and ``.geojson``) and served by
:mod:`onemap.mapserver.reports`; the output gives its URL, never a file path.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point

from onemap import catalog
from onemap.access import context
from onemap.analysis.emergency import (
    POLLUTANTS,
    EmergencyLayers,
    Incident,
    Wind,
    assess_incident,
    load_layers,
    nearest_wind,
)
from onemap.analysis.errors import InvalidInput, OutOfRegion
from onemap.mapserver.processing import data
from onemap.mapserver.processing.base import GEOJSON, JSON, OneMapProcessor, Param, i18n
from onemap.mapserver.processing.outputs import records
from onemap.mapserver.reports import report_dir, save_owner


@dataclass(frozen=True)
class IncidentInputs:
    incident: Incident
    layers: EmergencyLayers
    wind: Wind | None
    rings_m: tuple[float, ...]
    stability: str | None
    flow_speed_m_s: float
    max_hours: float
    suspects_radius_m: float
    lang: str


def _num(lo: float | None = None, hi: float | None = None, default: float | None = None,
         positive: bool = False) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "number"}
    if positive:
        s["exclusiveMinimum"] = 0
    elif lo is not None:
        s["minimum"] = lo
    if hi is not None:
        s["maximum"] = hi
    if default is not None:
        s["default"] = default
    return s


class IncidentAssessmentProcessor(OneMapProcessor):
    """Environmental emergency assessment of one incident point."""

    PROCESS_ID = "incident-assessment"
    TITLE = i18n("突发环境事件应急评估", "Environmental incident assessment")
    DESCRIPTION = i18n(
        "输入事故位置、时间、介质、污染物和泄漏量：缓冲圈及圈内敏感目标；大气泄漏用最近站点风场"
        "（或给定风）计算高斯烟羽影响范围；水体泄漏沿河网追踪下游，给出取水口和断面到达时间；"
        "周边污染源按距离和上风向排序为疑似源；并生成可离线打开的 HTML 报告。",
        "Given where, when, what and how much: buffer rings and the receptors in them; for a "
        "release to air the Gaussian-plume footprint of each emergency threshold with the wind "
        "of the nearest station (or a given wind); for a release to water the downstream trace "
        "with intakes and sections and their arrival times; nearby pollution sources ranked as "
        "suspects; and a standalone HTML report that opens offline.")
    KEYWORDS = ("emergency", "环境应急", "plume", "downstream trace")
    PARAMS = (
        Param("lon", _num(-180, 180), "经度", "Longitude", required=True),
        Param("lat", _num(-90, 90), "纬度", "Latitude", required=True),
        Param("time", {"type": "string", "format": "date-time"}, "事发时间", "Time",
              required=True, description_en="ISO 8601; without an offset it is Beijing time"),
        Param("medium", {"type": "string", "enum": ["air", "water"]}, "介质", "Medium",
              required=True),
        Param("pollutant", {"type": "string", "enum": sorted(POLLUTANTS)}, "污染物",
              "Pollutant", required=True),
        Param("amount_kg", _num(positive=True, hi=1e9), "泄漏量（千克）", "Amount (kg)",
              required=True),
        Param("duration_min", _num(positive=True, hi=7 * 24 * 60, default=60),
              "持续时间（分钟）", "Duration (min)"),
        Param("release_height_m", _num(0, 500, default=0), "释放高度（米）",
              "Release height (m)"),
        Param("rings_m", {"type": "array", "items": _num(positive=True, hi=50_000),
                          "minItems": 1, "maxItems": 10, "uniqueItems": True,
                          "default": [1000, 3000, 5000]}, "缓冲圈半径（米）", "Rings (m)"),
        Param("wind_speed_m_s", _num(positive=True, hi=60), "风速（米/秒）", "Wind speed (m/s)",
              description_en="Give with wind_from_deg to override the nearest station's wind"),
        Param("wind_from_deg", _num(0, 360), "风向（度，来向）", "Wind from (deg)",
              description_en="Direction the wind blows from, clockwise from north"),
        Param("stability", {"type": "string", "enum": list("ABCDEF")}, "大气稳定度",
              "Stability class", description_en="Pasquill class (default: from wind and sun)"),
        Param("flow_speed_m_s", _num(positive=True, hi=10, default=0.5), "流速（米/秒）",
              "Flow speed (m/s)"),
        Param("max_hours", _num(positive=True, hi=720, default=48), "追踪时长（小时）",
              "Trace length (h)"),
        Param("suspects_radius_m", _num(positive=True, hi=100_000, default=10000),
              "疑似源搜索半径（米）", "Suspect radius (m)"),
        Param("lang", {"type": "string", "enum": ["zh", "en"], "default": "zh"}, "报告语言",
              "Report language"),
    )
    OUTPUTS = {
        "features": {"title": i18n("影响要素", "Affected features"),
                     "description": i18n("role: incident, ring, plume, trace, intake, section, "
                                         "receptor, protected_area, water_source_zone, suspect",
                                         "role: incident, ring, plume, trace, intake, section, "
                                         "receptor, protected_area, water_source_zone, suspect"),
                     "schema": GEOJSON},
        "tables": {"title": i18n("汇总表", "Tables"),
                   "description": i18n("rings, receptors, downstream, suspects, plume/trace",
                                       "rings, receptors, downstream, suspects, plume/trace"),
                   "schema": JSON},
        "summary": {"title": i18n("摘要", "Summary"), "description": i18n("摘要", "Summary"),
                    "schema": JSON},
        "report_url": {"title": i18n("HTML 报告", "HTML report"),
                       "description": i18n("离线 folium 地图与汇总表",
                                           "Offline folium map with the summary"),
                       "schema": {"type": "string", "format": "uri",
                                  "contentMediaType": "text/html"}},
    }
    EXAMPLE = {"lon": 117.25, "lat": 31.85, "time": "2025-01-24T20:00:00+08:00",
               "medium": "air", "pollutant": "cl2", "amount_kg": 500, "duration_min": 30}

    def check(self, v: dict[str, Any]) -> IncidentInputs:
        pol = POLLUTANTS[v["pollutant"]]
        if v["medium"] not in pol.media:
            ok = sorted(c for c, p in POLLUTANTS.items() if v["medium"] in p.media)
            raise InvalidInput("pollutant", f"{pol.code} is not assessed for releases to "
                               f"{v['medium']}; for {v['medium']}: {', '.join(ok)}")
        given = (v["wind_speed_m_s"], v["wind_from_deg"])
        if (given[0] is None) != (given[1] is None):
            missing = "wind_from_deg" if given[1] is None else "wind_speed_m_s"
            raise InvalidInput(missing, "give wind_speed_m_s and wind_from_deg together "
                               "(or neither, to use the nearest station's wind)")
        # what the caller sees of each layer: a county's commander, its county's receptors
        layers = data.limit_all(self.principal, load_layers(self.settings, time=v["time"]),
                                self.settings, {"region": "admin_boundaries"})
        here = Point(v["lon"], v["lat"])
        if not layers.region.intersects(here).any():
            raise OutOfRegion("lon, lat", f"({v['lon']:.5f}, {v['lat']:.5f}) lies outside the "
                              "region covered by the data (admin_boundaries)")
        wind = Wind(given[0], given[1], "given") if given[0] is not None else None
        if wind is None and v["medium"] == "air":  # NoData("time") when no station measured it
            wind = nearest_wind(layers.air_stations, layers.air_hourly, v["lon"], v["lat"],
                                v["time"])
        incident = Incident(v["lon"], v["lat"], v["time"], v["medium"], v["pollutant"],
                            v["amount_kg"], v["duration_min"], v["release_height_m"])
        return IncidentInputs(incident, layers, wind, v["rings_m"], v["stability"],
                              v["flow_speed_m_s"], v["max_hours"], v["suspects_radius_m"],
                              v["lang"])

    def run(self, inputs: IncidentInputs) -> dict[str, Any]:
        self.progress(0.2, "assessing the incident")
        result = assess_incident(
            inputs.incident, inputs.layers, rings_m=inputs.rings_m, wind=inputs.wind,
            flow_speed_m_s=inputs.flow_speed_m_s, max_hours=inputs.max_hours,
            stability=inputs.stability, suspects_radius_m=inputs.suspects_radius_m)
        self.progress(0.7, "writing the report")
        report_id = uuid.uuid4().hex
        html = result.to_html(lang=inputs.lang)
        geojson = result.to_geojson()
        self.progress(0.9, "saving the report")  # a deleted job stops here, nothing written
        folder = report_dir(self.settings)
        # the report is its owner's (and admins'): the job's owner, whom this run acts for
        self.created_files.append(save_owner(self.settings, report_id, context.current().user))
        for suffix, text in ((".html", html), (".geojson", catalog.strict_json(
                geojson, ensure_ascii=False))):
            path = folder / f"{report_id}{suffix}"
            self.created_files.append(path)
            catalog.atomic_write_bytes(path, text.encode("utf-8"))
        base = f"{self.settings.public_url}/api/reports/{report_id}"
        return {"features": geojson,
                "tables": {name: records(t) for name, t in result.tables.items()},
                "summary": geojson.get("summary", {}), "report_id": report_id,
                "report_url": f"{base}.html", "report_geojson_url": f"{base}.geojson"}
