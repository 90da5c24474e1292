"""Air-quality processes: ``aqi-hourly`` (HJ 633 real-time AQI of every station at an hour),
``aqi-daily`` (HJ 633/663 daily AQI and pollution episodes) and ``upwind-sources`` (which
permitted sources lay upwind of a station during an episode).

Both read only the hours they need from ``air_hourly`` (a SQL time filter) and check, before a
job exists, that the stations are known and that the period has valid hours, so "no data for
that date" is a 400 naming ``start`` rather than an empty table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from onemap.analysis import contribution, haze
from onemap.analysis.errors import InvalidInput, NoData
from onemap.analysis.standards import aqi as aqi_std
from onemap.mapserver.processing import data
from onemap.mapserver.processing.base import (
    DATE,
    DATETIME,
    GEOJSON,
    JSON,
    OneMapProcessor,
    Param,
    i18n,
)
from onemap.mapserver.processing.outputs import collection, feature, records, value

MAX_DAYS = 366
STATION_ID = {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,32}$"}


@dataclass(frozen=True)
class AqiInputs:
    start: pd.Timestamp
    end: pd.Timestamp
    station_ids: tuple[str, ...] | None
    threshold: int
    min_days: int


class AqiDailyProcessor(OneMapProcessor):
    """Daily AQI of every station and of the region, and episodes over a threshold."""

    PROCESS_ID = "aqi-daily"
    TITLE = i18n("日空气质量指数与污染过程", "Daily AQI and pollution episodes")
    DESCRIPTION = i18n(
        "按 HJ 663-2013 计算各站点日统计值，按 HJ 633-2012 计算日 AQI、级别和首要污染物；区域日值为"
        "站点日统计值的均值（至少 75% 站点有效）；污染过程为日 AQI 连续超过阈值的天数段。",
        "HJ 663-2013 daily statistics and HJ 633-2012 daily AQI, level and primary pollutant of "
        "every station; the regional day is the mean of the stations' statistics (at least 75 % "
        "of stations valid); an episode is a run of consecutive days with AQI above the "
        "threshold lasting at least min_days.")
    KEYWORDS = ("AQI", "HJ 633-2012", "HJ 663-2013", "haze", "雾霾")
    PARAMS = (
        Param("start", {"type": "string", "format": "date"}, "开始日期", "First day",
              required=True, description_en="First Beijing day (YYYY-MM-DD)"),
        Param("end", {"type": "string", "format": "date"}, "结束日期", "Last day",
              required=True, description_en=f"Last Beijing day, at most {MAX_DAYS} days on"),
        Param("station_ids", {"type": "array", "items": STATION_ID, "minItems": 1,
                              "maxItems": 500, "uniqueItems": True},
              "站点编号", "Station ids",
              description_en="Stations to report (default: all); the region uses all"),
        Param("threshold", {"type": "integer", "minimum": 0, "maximum": 500, "default": 100},
              "污染阈值 AQI", "Episode AQI threshold"),
        Param("min_days", {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": 2},
              "最少连续天数", "Minimum episode length (days)"),
    )
    OUTPUTS = {
        "station_daily": {"title": i18n("站点日 AQI", "Station daily AQI"),
                          "description": i18n("每站每日一个点要素", "One point per station-day"),
                          "schema": GEOJSON},
        "regional_daily": {"title": i18n("区域日 AQI", "Regional daily AQI"),
                           "description": i18n("每日一行", "One row per day"),
                           "schema": {"type": "array", "items": {"type": "object"}}},
        "episodes": {"title": i18n("污染过程", "Pollution episodes"),
                     "description": i18n("站点过程（点，role=station_episode）与区域过程（面，"
                                         "role=regional_episode）",
                                         "Station episodes (points, role station_episode) and "
                                         "regional ones (region polygon, role regional_episode)"),
                     "schema": GEOJSON},
        "summary": {"title": i18n("摘要", "Summary"), "description": i18n("摘要", "Summary"),
                    "schema": JSON},
    }
    EXAMPLE = {"start": "2025-01-20", "end": "2025-01-27", "threshold": 100, "min_days": 2}

    def check(self, v: dict[str, Any]) -> AqiInputs:
        start, end = v["start"], v["end"]
        if end < start:
            raise InvalidInput("end", f"must not be before start ({start.date()})")
        if (end - start).days + 1 > MAX_DAYS:
            raise InvalidInput("end", f"the period is longer than {MAX_DAYS} days")
        ids = v["station_ids"]
        if ids is not None:
            data.check_stations(self.settings, ids, "station_ids")
        lo, hi = start + pd.Timedelta(hours=1), end + pd.Timedelta(days=1)
        if data.count_valid_hours(self.settings, lo, hi, ids) == 0:
            raise NoData("start", f"no valid hourly air data from {start.date()} to "
                         f"{end.date()}; the data cover {data.data_span(self.settings)}")
        return AqiInputs(start, end, ids, v["threshold"], v["min_days"])

    def run(self, inputs: AqiInputs) -> dict[str, Any]:
        self.progress(0.1, "reading hourly data")
        # 8-hour O3 windows of the first day start the evening before
        hourly = data.read_hourly(self.settings, inputs.start - pd.Timedelta(hours=7),
                                  inputs.end + pd.Timedelta(days=1))
        self.progress(0.4, "daily statistics and AQI")
        daily = haze.station_daily_aqi(hourly)
        days = pd.to_datetime(daily["date"])
        daily = daily[(days >= inputs.start.tz_localize(None))
                      & (days <= inputs.end.tz_localize(None))].reset_index(drop=True)
        regional = haze.regional_daily_aqi(daily)
        shown = daily if inputs.station_ids is None else \
            daily[daily["station_id"].isin(inputs.station_ids)].reset_index(drop=True)
        self.progress(0.7, "episodes")
        st_eps = haze.episodes(shown, threshold=inputs.threshold, min_days=inputs.min_days)
        rg_eps = haze.episodes(regional, threshold=inputs.threshold, min_days=inputs.min_days,
                               key=None)
        st = data.stations(self.settings).set_index("station_id")
        names = st["name"] if "name" in st else pd.Series(dtype=str)
        day_feats = [feature(st.geometry.get(r["station_id"]),
                             {"role": "station_day", "name": names.get(r["station_id"]), **r})
                     for r in records(shown)]
        outline = data.outline(self.settings)
        ep_feats = [feature(st.geometry.get(r["station_id"]),
                            {"role": "station_episode", "name": names.get(r["station_id"]), **r})
                    for r in records(st_eps)]
        ep_feats += [feature(outline, {"role": "regional_episode", "region": "region", **r})
                     for r in records(rg_eps)]
        summary = {
            "start": inputs.start.date().isoformat(), "end": inputs.end.date().isoformat(),
            "threshold": inputs.threshold, "min_days": inputs.min_days,
            "n_stations": int(shown["station_id"].nunique()), "n_station_days": len(shown),
            "n_days_over_threshold_regional": int((regional["aqi"] > inputs.threshold).sum()),
            "max_regional_aqi": value(regional["aqi"].max()) if len(regional) else None,
            "n_station_episodes": len(st_eps), "n_regional_episodes": len(rg_eps),
            "standards": ["HJ 633-2012", "HJ 663-2013"],
        }
        return {"station_daily": collection(day_feats), "regional_daily": records(regional),
                "episodes": collection(ep_feats), "summary": summary}


@dataclass(frozen=True)
class HourInputs:
    time: pd.Timestamp
    station_ids: tuple[str, ...] | None


class AqiHourlyProcessor(OneMapProcessor):
    """Real-time AQI of every station at one hour: the layer a time slider colours."""

    PROCESS_ID = "aqi-hourly"
    TITLE = i18n("小时空气质量指数", "Hourly AQI")
    DESCRIPTION = i18n(
        "按 HJ 633-2012 计算指定小时各站点的分指数（IAQI）、AQI、级别和首要污染物（仅 AQI>50 时）；"
        "只使用数据标识为 N 的有效小时值。",
        "HJ 633-2012 real-time IAQI, AQI, level and primary pollutant (only when AQI > 50) of "
        "every station at one hour; only valid hours (HJ 212 flag N) count.")
    KEYWORDS = ("AQI", "HJ 633-2012", "real-time")
    PARAMS = (
        Param("time", {"type": "string", "format": "date-time"}, "时间", "Hour", required=True,
              description_en="The hour's label as published (its end), Beijing time if no "
                             "offset is given"),
        Param("station_ids", {"type": "array", "items": STATION_ID, "minItems": 1,
                              "maxItems": 500, "uniqueItems": True}, "站点编号", "Station ids",
              description_en="Stations to report (default: all)"),
    )
    OUTPUTS = {
        "stations": {"title": i18n("站点 AQI", "Station AQI"),
                     "description": i18n("每站一个点要素", "One point per station"),
                     "schema": GEOJSON},
        "summary": {"title": i18n("摘要", "Summary"), "description": i18n("摘要", "Summary"),
                    "schema": JSON},
    }
    EXAMPLE = {"time": "2025-01-24T20:00:00+08:00"}

    def check(self, v: dict[str, Any]) -> HourInputs:
        t = v["time"]
        if t != t.floor("h"):
            raise InvalidInput("time", f"must be on the hour (an hour label), got {t.isoformat()}")
        ids = v["station_ids"]
        if ids is not None:
            data.check_stations(self.settings, ids, "station_ids")
        if data.count_valid_hours(self.settings, t, t, ids) == 0:
            raise NoData("time", f"no valid station value at {t.isoformat()}; the data cover "
                         f"{data.data_span(self.settings)}")
        return HourInputs(t, ids)

    def run(self, inputs: HourInputs) -> dict[str, Any]:
        rows = data.read_hourly(self.settings, inputs.time, inputs.time, inputs.station_ids)
        rows = rows[rows["flag"] == "N"].drop_duplicates("station_id", keep="last")
        result = rows.reset_index(drop=True)
        result = result.join(aqi_std.hourly_aqi(result))
        st = data.stations(self.settings).set_index("station_id")
        keep = ["station_id", "time", *aqi_std.POLLUTANTS, "ws", "wd",
                *[f"iaqi_{p}" for p in aqi_std.POLLUTANTS], "aqi", "aqi_level",
                "primary_pollutant"]
        result = result[[c for c in keep if c in result]]
        feats = [feature(st.geometry.get(r["station_id"]),
                         {"role": "station_hour", "name": st["name"].get(r["station_id"]), **r})
                 for r in records(result)]
        levels = result["aqi_level"].dropna().astype(int).value_counts().sort_index()
        worst = result.loc[result["aqi"].astype(float).idxmax()] if result["aqi"].notna().any() \
            else None
        summary = {
            "time": inputs.time.isoformat(), "n_stations": len(result),
            "stations_by_level": {str(k): int(n) for k, n in levels.items()},
            "max_aqi": value(result["aqi"].max()),
            "worst_station": None if worst is None else {
                "station_id": worst["station_id"], "name": st["name"].get(worst["station_id"]),
                "aqi": value(worst["aqi"]), "primary_pollutant": worst["primary_pollutant"]},
            "standards": ["HJ 633-2012"],
        }
        return {"stations": collection(feats), "summary": summary}


def period(start: str, end: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Hour labels of ``start``..``end`` as :mod:`onemap.analysis.contribution` reads them: a
    bare date is the whole Beijing day (hours ending 01:00 … 24:00)."""
    def parse(text: str, name: str) -> tuple[pd.Timestamp, bool]:
        if not (DATE.match(text) or DATETIME.match(text)):
            raise InvalidInput(name, f"must be a date YYYY-MM-DD or an ISO date-time, "
                               f"got {text!r}")
        t = pd.Timestamp(text)
        t = t.tz_localize(data.TIMEZONE) if t.tzinfo is None else t.tz_convert(data.TIMEZONE)
        return t, bool(DATE.match(text))

    (t0, d0), (t1, d1) = parse(start, "start"), parse(end, "end")
    t0 = t0 + pd.Timedelta(hours=1) if d0 else t0
    t1 = t1 + pd.Timedelta(days=1) if d1 else t1
    if t1 < t0:
        raise InvalidInput("end", "must not be before start")
    if t1 - t0 > pd.Timedelta(days=MAX_DAYS):
        raise InvalidInput("end", f"the period is longer than {MAX_DAYS} days")
    return t0, t1


@dataclass(frozen=True)
class UpwindInputs:
    station_id: str
    start: str
    end: str
    t0: pd.Timestamp
    t1: pd.Timestamp
    pollutant: str
    max_km: float


class UpwindSourcesProcessor(OneMapProcessor):
    """Sources in the upwind sector of a station over a period, weighted by emission."""

    PROCESS_ID = "upwind-sources"
    TITLE = i18n("上风向污染源贡献", "Upwind source contribution")
    DESCRIPTION = i18n(
        "对站点和时段（如一次污染过程），按逐时风向找出位于上风向扇区内的排污单位，以排放量、"
        "风速和距离加权排序（筛查指标，不是受体模型源解析）。",
        "For a station and a period (an episode), the permitted sources inside the upwind "
        "sector of each valid hour, weighted by emission, wind speed and distance and ranked "
        "(a screening indicator, not a receptor-model apportionment).")
    KEYWORDS = ("source tracing", "溯源", "wind", "haze")
    PARAMS = (
        Param("station_id", STATION_ID, "站点编号", "Station id", required=True),
        Param("start", {"type": "string", "maxLength": 32}, "开始", "Start", required=True,
              description_en="A date (the whole Beijing day) or an ISO date-time"),
        Param("end", {"type": "string", "maxLength": 32}, "结束", "End", required=True,
              description_en="A date (the whole Beijing day) or an ISO date-time"),
        Param("pollutant", {"type": "string", "enum": list(contribution.EMISSIONS),
                            "default": "pm25"}, "污染物", "Pollutant"),
        Param("max_km", {"type": "number", "exclusiveMinimum": 0, "maximum": 300,
                         "default": 50}, "搜索半径（千米）", "Search radius (km)"),
    )
    OUTPUTS = {
        "features": {"title": i18n("站点与排序的污染源", "Station and ranked sources"),
                     "description": i18n("role=station（点）与 role=source（点）",
                                         "role station (point) and role source (points)"),
                     "schema": GEOJSON},
        "wind_rose": {"title": i18n("风玫瑰", "Wind rose"),
                      "description": i18n("16 方位", "16 sectors"),
                      "schema": {"type": "array", "items": {"type": "object"}}},
        "summary": {"title": i18n("摘要", "Summary"), "description": i18n("摘要", "Summary"),
                    "schema": JSON},
    }
    EXAMPLE = {"station_id": "1272A", "start": "2025-01-21", "end": "2025-01-25",
               "pollutant": "pm25", "max_km": 50}

    def check(self, v: dict[str, Any]) -> UpwindInputs:
        data.check_stations(self.settings, [v["station_id"]], "station_id")
        t0, t1 = period(v["start"], v["end"])
        if data.count_valid_hours(self.settings, t0, t1, [v["station_id"]]) == 0:
            raise NoData("start", f"station {v['station_id']} has no valid hour from "
                         f"{t0.isoformat()} to {t1.isoformat()}; the data cover "
                         f"{data.data_span(self.settings)}")
        return UpwindInputs(v["station_id"], v["start"], v["end"], t0, t1, v["pollutant"],
                            v["max_km"])

    def run(self, inputs: UpwindInputs) -> dict[str, Any]:
        self.progress(0.1, "reading station hours and sources")
        st = data.stations(self.settings)
        station = st[st["station_id"] == inputs.station_id].iloc[0]
        sources = data.read_as(self.principal, "pollution_sources", self.settings)
        hourly = data.read_hourly(self.settings, inputs.t0, inputs.t1, [inputs.station_id])
        self.progress(0.5, "weighting upwind sources")
        result = contribution.upwind_sources(station, sources, hourly, inputs.start, inputs.end,
                                             pollutant=inputs.pollutant, max_km=inputs.max_km)
        return {"features": result.to_geojson(), "wind_rose": records(result.wind_rose),
                "summary": {k: value(v) if not isinstance(v, list | dict) else v
                            for k, v in result.summary.items()}}
