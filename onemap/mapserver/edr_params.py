"""What the EDR collections serve: which station layer has which time series, and what each
parameter means — name (zh, en), unit, and the standard that gives it meaning.

The meanings are derived from the code that applies the standards, never retyped: HJ 633-2012
breakpoints from :mod:`onemap.analysis.standards.aqi`, GB 3838-2002 class limits from
:mod:`onemap.analysis.standards.water`, HJ 212-2017 pollutant codes, names and units from
:mod:`onemap.live.hj212.codes`, field names and units from the family schemas. A corrected
limit there is a corrected description here.
"""

from __future__ import annotations

from dataclasses import dataclass

from onemap.analysis.standards import aqi, water
from onemap.layers.families import FAMILIES
from onemap.live.hj212 import codes


@dataclass(frozen=True)
class Param:
    """One EDR parameter (a CoverageJSON ``Parameter``)."""

    id: str
    zh: str
    en: str
    unit: str
    meaning_zh: str = ""
    meaning_en: str = ""

    def field(self) -> dict[str, str]:
        """The ``get_fields`` item pygeoapi needs (``title`` and ``x-ogc-unit`` are read
        unconditionally by describe-collection: without them it answers 500)."""
        title = self.en if self.zh == self.en else f"{self.en} {self.zh}"
        return {"type": "number", "title": title, "x-ogc-unit": self.unit,
                "description": self.meaning_en}

    def coverage(self) -> dict:
        """The CoverageJSON ``Parameter`` object, in both languages."""
        out: dict = {"type": "Parameter",
                     "observedProperty": {"id": self.id,
                                          "label": {"zh": self.zh, "en": self.en}},
                     "unit": {"label": {"zh": self.unit or "无量纲", "en": self.unit or "1"},
                              "symbol": self.unit or "1"}}
        if self.meaning_en:
            out["description"] = {"zh": self.meaning_zh, "en": self.meaning_en}
        return out


@dataclass(frozen=True)
class Series:
    """A station layer family whose stations have a time series in a table family: wide
    (one column per parameter) or long (``pollutant``/``value`` rows, the HJ 212 readings)."""

    stations: str
    table: str
    key: str
    time: str
    params: tuple[Param, ...]
    #: the wide table's HJ 212 data-flag column: values flagged otherwise than N are null
    flag: str | None = None
    #: long tables: the interval served (HJ 212 hourly averages, CN 2061)
    interval: str | None = None


def _steps(values: tuple[float, ...]) -> str:
    return "/".join(f"{v:g}" for v in values)


def _air(name: str) -> Param:
    spec = FAMILIES["air_hourly"].field(name)
    if name not in aqi.POLLUTANTS:
        return Param(name, spec.label, spec.label_en, spec.unit, "气象参数", "meteorology")
    period = "24h" if name in ("pm25", "pm10") else "1h"
    steps = _steps(aqi.BREAKPOINTS[(name, period)])
    iaqi = _steps(aqi.IAQI_STEPS[:len(aqi.BREAKPOINTS[(name, period)])])
    zh_period = "24小时平均" if period == "24h" else "1小时平均"
    return Param(
        name, spec.label, spec.label_en, spec.unit,
        f"小时浓度；HJ 633-2012 表1 {zh_period}浓度限值 {steps} {spec.unit} 对应 IAQI {iaqi}"
        "（实时报用此分段）；数据标识非 N 的小时为无效值（null）",
        f"hourly concentration; HJ 633-2012 table 1 {period} breakpoints {steps} {spec.unit} "
        f"for IAQI {iaqi} (used by the real-time report); hours flagged other than N "
        "(HJ 212) are invalid (null)")


def _water(name: str) -> Param:
    spec = FAMILIES["water_samples"].field(name)
    if name == "ph":
        return Param(name, spec.label, spec.label_en, "1", "GB 3838-2002 表1 Ⅰ–Ⅴ类 6–9",
                     "GB 3838-2002 table 1, classes I–V: 6–9")
    if name not in water.LIMITS:
        return Param(name, spec.label, spec.label_en, spec.unit)
    limits = _steps(water.LIMITS[name])
    bound_zh, bound_en = ("下限", "lower limits") if name == "do" else ("上限", "upper limits")
    extra_zh = extra_en = ""
    if name == "tp":
        extra_zh = f"；湖库 {_steps(water.LIMITS['tp_lake'])}"
        extra_en = f"; lakes and reservoirs {_steps(water.LIMITS['tp_lake'])}"
    return Param(name, spec.label, spec.label_en, spec.unit,
                 f"GB 3838-2002 表1 Ⅰ–Ⅴ类{bound_zh} {limits} {spec.unit}{extra_zh}",
                 f"GB 3838-2002 table 1, class I–V {bound_en} {limits} {spec.unit}{extra_en}")


def _reading(p: codes.Pollutant) -> Param:
    kind_zh, kind_en = ("废气", "flue gas") if p.medium == "air" else ("废水", "wastewater")
    limit_zh = "，限值见排放口的许可浓度" if p.limited else ""
    limit_en = ", limit: the outlet's permitted concentration" if p.limited else ""
    return Param(p.code, p.name, p.name_en, p.unit or "1",
                 f"HJ 212-2017 附录B 编码 {p.code}（{kind_zh}），小时均值（CN 2061）{limit_zh}",
                 f"HJ 212-2017 appendix B code {p.code} ({kind_en}), hourly average "
                 f"(CN 2061){limit_en}")


_AIR = ("pm25", "pm10", "so2", "no2", "co", "o3", "ws", "wd")
_WATER = ("wt", "ph", "do", "codmn", "cod", "bod5", "nh3n", "tp", "tn")

#: Station layer family → its series.
SERIES: dict[str, Series] = {s.stations: s for s in (
    Series("air_stations", "air_hourly", "station_id", "time",
           tuple(_air(n) for n in _AIR), flag="flag"),
    Series("water_sections", "water_samples", "section_id", "time",
           tuple(_water(n) for n in _WATER)),
    Series("outlets", "outlet_readings", "outlet_code", "time",
           tuple(_reading(p) for p in codes.POLLUTANTS.values()), interval="hour"),
)}


def params_of(family: str) -> dict[str, Param]:
    """The parameters of a station family's series by id (empty for other families)."""
    series = SERIES.get(family)
    return {p.id: p for p in series.params} if series else {}
