"""The alarm rules' settings: which rules run for which pollutant, and their thresholds.

Defaults suit outlet monitoring under the bureau's usual practice; a bureau changes them in
``<data dir>/alarm_rules.json`` (read at the receiver's start; ``onemap hj212 rules`` prints
what is in force), for instance::

    {"continuous_hours": 4, "constant_readings": 15, "abnormal_flags": "DTB",
     "pollutants": {"w01001": {"rules": ["exceedance", "abnormal_flag"]},
                    "a21026": {"constant_readings": 30, "constant_tolerance": 0.01}}}

Limits themselves are the outlet's permit limits (the ``outlets`` layer); a pollutant's
``limit`` here applies only to outlets whose permit sets none.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from onemap.config import Settings

#: Rule codes, with their names as officials know them.
RULES = {
    "exceedance": ("超标", "Exceedance (hourly average over the permit limit)"),
    "continuous_exceedance": ("连续超标", "Continuous exceedance"),
    "offline": ("断线", "Device offline"),
    "constant": ("数据恒值", "Constant value"),
    "zero_flow": ("零流量", "Zero flow while producing"),
    "abnormal_flag": ("异常标记", "Abnormal data flag"),
}
FILE = "alarm_rules.json"


class PollutantRules(BaseModel):
    """Overrides for one pollutant code."""

    model_config = ConfigDict(extra="forbid")
    #: The rules that run for it (default: all that apply to it).
    rules: list[str] | None = None
    constant_readings: int | None = Field(None, ge=3)
    constant_tolerance: float | None = Field(None, ge=0)
    #: Upper limit used where the outlet's permit sets none.
    limit: float | None = None


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: Hours over the limit in a row that make a continuous exceedance.
    continuous_hours: int = Field(3, ge=2)
    #: Readings in a row of one value (within ``constant_tolerance``) that make a constant
    #: value; real-time and minute data are looked at.
    constant_readings: int = Field(10, ge=3)
    constant_tolerance: float = Field(0.0, ge=0)
    #: Data flags (HJ 212 Table: D fault, C calibration, M maintenance, T over range,
    #: B communication fault) that raise an abnormal-flag alarm.
    abnormal_flags: str = "DCMTB"
    #: A flow at or below this is zero (m³/s or L/s).
    zero_flow_below: float = Field(0.0, ge=0)
    #: Minutes without data after which a device that reported is offline; None: the
    #: setting ONEMAP_HJ212_OFFLINE_MINUTES.
    offline_minutes: float | None = Field(None, gt=0)
    pollutants: dict[str, PollutantRules] = Field(default_factory=dict)

    def enabled(self, rule: str, pollutant: str) -> bool:
        own = self.pollutants.get(pollutant)
        return own is None or own.rules is None or rule in own.rules

    def constant(self, pollutant: str) -> tuple[int, float]:
        own = self.pollutants.get(pollutant) or PollutantRules()
        return (own.constant_readings or self.constant_readings,
                self.constant_tolerance if own.constant_tolerance is None
                else own.constant_tolerance)

    def fallback_limit(self, pollutant: str) -> float | None:
        own = self.pollutants.get(pollutant)
        return own.limit if own else None


class RulesError(ValueError):
    """The rules file cannot be used (named, with the problem)."""


def load(settings: Settings, path: Path | None = None) -> Rules:
    """The rules in force: the file's, or the defaults when there is none."""
    path = path or settings.data_dir / FILE
    if not path.exists():
        rules = Rules()
    else:
        try:
            rules = Rules.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, ValidationError) as exc:
            raise RulesError(f"{path}: {exc}") from exc
        for code, own in rules.pollutants.items():
            unknown = set(own.rules or ()) - set(RULES)
            if unknown:
                raise RulesError(f"{path}: pollutant {code}: unknown rules "
                                 f"{', '.join(sorted(unknown))} (known: {', '.join(RULES)})")
    if rules.offline_minutes is None:
        rules = rules.model_copy(update={"offline_minutes": settings.hj212_offline_minutes})
    return rules
