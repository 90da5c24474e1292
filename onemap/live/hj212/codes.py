"""The codes HJ 212 data carry: pollutants (HJ 212-2017 Appendix B), system types (ST) and
commands (CN) — the subset an outlet's online monitoring uses, with names and units.

Concentrations of flue gas are mg/m³ and of wastewater mg/L; flows are m³/s (flue gas) and
L/s (wastewater), their cumulative amounts (``-Cou``) m³; emitted amounts of pollutants
kg. HJ 212-2025 renamed a few flue-gas parameters (废气流量, 颗粒物（烟尘）…) but kept every
code. Old HJ/T 212-2005 codes (``011`` COD, ``B01`` wastewater flow…) still sent by old
devices are mapped to the 2017 ones by :func:`canonical`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Medium = Literal["air", "water"]


@dataclass(frozen=True)
class Pollutant:
    code: str
    name: str
    name_en: str
    unit: str
    medium: Medium
    #: HJ/T 212-2005 code of the same parameter ("" when it had none).
    old: str = ""
    #: Whether it is a flow (its ``-Cou`` is a volume, not an emitted mass).
    flow: bool = False
    #: Whether an emission limit may apply (a concentration of a pollutant, not a condition).
    limited: bool = True


POLLUTANTS: dict[str, Pollutant] = {p.code: p for p in [
    Pollutant("a00000", "废气流量", "Flue gas flow", "m³/s", "air", "B02", flow=True,
              limited=False),
    Pollutant("a01011", "废气流速", "Flue gas velocity", "m/s", "air", "S02", limited=False),
    Pollutant("a01012", "废气温度", "Flue gas temperature", "°C", "air", "S03", limited=False),
    Pollutant("a01013", "废气压力", "Flue gas pressure", "kPa", "air", "S08", limited=False),
    Pollutant("a01014", "废气含湿量", "Flue gas moisture", "%", "air", "S05", limited=False),
    Pollutant("a19001", "氧含量", "Oxygen", "%", "air", "S01", limited=False),
    Pollutant("a21026", "二氧化硫", "SO₂", "mg/m³", "air", "02"),
    Pollutant("a21002", "氮氧化物", "NOx", "mg/m³", "air", "03"),
    Pollutant("a21005", "一氧化碳", "CO", "mg/m³", "air", "04"),
    Pollutant("a34013", "颗粒物（烟尘）", "Particulate matter", "mg/m³", "air", "01"),
    Pollutant("a21024", "氯化氢", "HCl", "mg/m³", "air", "08"),
    Pollutant("a21028", "硫化氢", "H₂S", "mg/m³", "air", "05"),
    Pollutant("a24088", "非甲烷总烃", "Non-methane hydrocarbons", "mg/m³", "air"),
    Pollutant("w00000", "废水流量", "Wastewater flow", "L/s", "water", "B01", flow=True,
              limited=False),
    Pollutant("w01001", "pH值", "pH", "", "water", "001"),
    Pollutant("w01018", "化学需氧量", "COD", "mg/L", "water", "011"),
    Pollutant("w21003", "氨氮", "Ammonia nitrogen", "mg/L", "water", "060"),
    Pollutant("w21011", "总磷", "Total phosphorus", "mg/L", "water", "101"),
    Pollutant("w21001", "总氮", "Total nitrogen", "mg/L", "water", "065"),
    Pollutant("w01012", "悬浮物", "Suspended solids", "mg/L", "water", "003"),
    Pollutant("w22001", "石油类", "Petroleum oils", "mg/L", "water", "080"),
    Pollutant("w01010", "水温", "Water temperature", "°C", "water", limited=False),
]}
_OLD = {p.old: p.code for p in POLLUTANTS.values() if p.old}

#: System types (ST) of outlets: flue gas (大气环境污染源) and wastewater (地表水体环境污染源).
ST_AIR_SOURCE = "31"
ST_WATER_SOURCE = "32"
ST_MEDIUM: dict[str, Medium] = {ST_AIR_SOURCE: "air", ST_WATER_SOURCE: "water"}

#: Data uploads (CN) and the interval of their readings.
CN_REALTIME, CN_MINUTE, CN_HOURLY, CN_DAILY = "2011", "2051", "2061", "2031"
CN_STATUS, CN_RUNTIME = "2021", "2041"
INTERVALS = {CN_REALTIME: "realtime", CN_MINUTE: "minute", CN_HOURLY: "hour",
             CN_DAILY: "day"}
#: Answers: data (9014), notices (9013), requests (9011), execution results (9012).
CN_DATA_ANSWER, CN_NOTICE_ANSWER, CN_REQUEST_ANSWER, CN_EXEC_RESULT = (
    "9014", "9013", "9011", "9012")
#: Notices from a device answered with 9013: time calibration request, stop of real-time or
#: status data, and HJ 212-2025's heartbeat.
NOTICES = frozenset({"1013", "2012", "2022", "9015"})
#: Uploads answered with 9014 when the Flag asks for it.
UPLOADS = frozenset({CN_REALTIME, CN_MINUTE, CN_HOURLY, CN_DAILY, CN_STATUS, CN_RUNTIME,
                     "2081", "3019", "3020"})


def canonical(code: str) -> str:
    """The HJ 212-2017 code of ``code`` (an old 2005 code mapped; others as they are)."""
    return _OLD.get(code, code)


def pollutant(code: str) -> Pollutant | None:
    return POLLUTANTS.get(canonical(code))
