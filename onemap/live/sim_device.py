"""What a simulated HJ 212 device measures and says: an outlet of the sample as a data logger
with its analysers, readings below the outlet's permit limits, and the scenarios some devices
play so that a demo (and the alarm tests) have something to find.

Everything here is deterministic given ``seed`` and the device's MN: which device plays which
scenario, its typical values, and its sequence of readings (one :class:`random.Random` per
device), so that a demo user told "device X exceeds its SO₂ limit" finds it again next run.
The wire (TCP, QN, answers) is :mod:`onemap.live.simulate`'s business; this module only builds
the data areas, with :func:`onemap.live.hj212.cp.format_cp`.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from onemap.live.hj212 import codes
from onemap.live.hj212.cp import format_cp, format_time
from onemap.live.registry import number

#: What an outlet's analysers measure, by medium: (pollutant code, column of its limit).
MEASURED: dict[str, tuple[tuple[str, str | None], ...]] = {
    "air": (("a00000", None), ("a21026", "so2_limit"), ("a21002", "nox_limit"),
            ("a34013", "pm_limit"), ("a19001", None), ("a01012", None)),
    "water": (("w00000", None), ("w01018", "cod_limit"), ("w21003", "nh3n_limit"),
              ("w21011", "tp_limit"), ("w21001", "tn_limit"), ("w01001", None)),
}
ST_OF = {"air": codes.ST_AIR_SOURCE, "water": codes.ST_WATER_SOURCE}
#: Typical values where no limit scales them: (low, high) of a device's own level.
TYPICAL: dict[str, tuple[float, float]] = {
    "a00000": (15, 120), "a19001": (6, 11), "a01012": (45, 130), "a21026": (10, 40),
    "a21002": (30, 90), "a34013": (3, 15), "w00000": (2, 60), "w01018": (20, 60),
    "w21003": (1, 5), "w21011": (0.1, 0.4), "w21001": (5, 15), "w01001": (6.8, 8.0)}
#: A device's level as a share of its limit, and the cap of any normal reading.
LEVEL, CAP = (0.25, 0.55), 0.9
#: Scenarios, in the order they are dealt out.
SCENARIOS = ("exceedance", "dropout", "constant", "zero_flow", "abnormal_flag", "bad_crc",
             "split")
#: Exceedance episodes: from this many hours before the start to this many after.
EPISODE_BEFORE, EPISODE_AFTER = 3, 3
#: Dropouts: silent from reading DROPOUT_AT to DROPOUT_AT + DROPOUT_FOR of every DROPOUT_EVERY
#: (at the default 60 s interval: 15 minutes offline, beyond the receiver's 10 minutes).
DROPOUT_AT, DROPOUT_FOR, DROPOUT_EVERY = 5, 15, 60


@dataclass(frozen=True)
class Measure:
    """One analyser: its pollutant, its limits (None: none) and this device's typical level."""

    code: str
    level: float
    limit: float | None = None
    low: float | None = None

    def sample(self, rng: random.Random, spread: float) -> float:
        """A reading near the level, never at or above 90 % of the limit (nor below a lower
        one): a normal device complies."""
        if self.low is not None and self.limit is not None:  # pH: a band
            return round(min(max(self.level + rng.gauss(0, 2 * spread), self.low + 0.2),
                             self.limit - 0.2), 2)
        value = max(0.0, self.level * (1 + rng.gauss(0, spread)))
        if self.limit is not None:
            value = min(value, CAP * self.limit)
        return round(value, 3)


@dataclass(frozen=True)
class Device:
    """An outlet's data logger: MN, what it measures, the scenario it plays (None: normal)
    and the pollutant the scenario is about."""

    mn: str
    outlet_code: str
    medium: str
    measures: tuple[Measure, ...]
    scenario: str | None = None
    target: str = ""
    seed: int = 0

    @property
    def st(self) -> str:
        return ST_OF[self.medium]

    @property
    def flow(self) -> str:
        return self.measures[0].code

    def measure(self, code: str) -> Measure:
        return next(m for m in self.measures if m.code == code)

    def rng(self, purpose: str) -> random.Random:
        """A generator of its own for ``purpose`` (live readings, an hour of back-fill…)."""
        return random.Random(f"{self.seed}:{self.mn}:{purpose}")


@dataclass(frozen=True)
class Moment:
    """When a reading is made: ``n`` counts live readings (or back-filled hours), ``hour``
    is its hour and ``start`` the hour the simulation started in."""

    n: int
    hour: datetime
    start: datetime


Values = dict[str, tuple[float, str]]


def device_of(row: Mapping[str, object], seed: int, scenario: str | None = None) -> Device:
    """The device of an outlet row (``mn``, ``outlet_code``, ``medium``, limit columns)."""
    mn, medium = str(row["mn"]), str(row["medium"])
    rng = random.Random(f"{seed}:{mn}:device")
    measures = []
    for code, column in MEASURED[medium]:
        limit = number(row.get(column)) if column else None
        if code == "w01001":
            low, high = number(row.get("ph_min")), number(row.get("ph_max"))
            level = rng.uniform(*TYPICAL[code])
            if low is not None and high is not None:
                level = min(max(level, low + 0.3), high - 0.3)
            measures.append(Measure(code, round(level, 2), high, low))
            continue
        level = limit * rng.uniform(*LEVEL) if limit else rng.uniform(*TYPICAL[code])
        measures.append(Measure(code, round(level, 2), limit))
    limited = [m.code for m in measures if m.limit is not None and m.low is None]
    concentrations = [m.code for m in measures[1:] if codes.POLLUTANTS[m.code].limited]
    choices = {"exceedance": limited, "constant": concentrations,
               "abnormal_flag": concentrations, "zero_flow": [measures[0].code]}
    target = ""
    if scenario in choices:
        if not choices[scenario]:
            scenario = None  # an outlet without limits cannot exceed one: it plays normal
        else:
            target = rng.choice(choices[scenario])
    return Device(mn, str(row["outlet_code"]), medium, tuple(measures), scenario, target, seed)


def assign(mns: list[str], seed: int, share: float) -> dict[str, str]:
    """Which devices play which scenario: a ``share`` of them (at least one per scenario
    when there are enough devices), picked and dealt out by a hash of seed and MN — the same
    seed gives the same cast whatever order the devices come in."""
    if share <= 0 or not mns:
        return {}
    order = sorted(mns, key=lambda mn: hashlib.sha256(f"{seed}:{mn}".encode()).digest())
    count = min(len(mns), max(len(SCENARIOS), round(share * len(mns))))
    return {mn: SCENARIOS[i % len(SCENARIOS)] for i, mn in enumerate(order[:count])}


# -- scenarios acting on values: each takes the readings a normal device would give ----------

def exceedance(dev: Device, at: Moment, values: Values, rng: random.Random) -> Values:
    """An episode of averages 30–70 % above the limit, from EPISODE_BEFORE hours before the
    start (so the back-fill already holds ≥ 3 hours of it) to EPISODE_AFTER hours after."""
    if at.start - timedelta(hours=EPISODE_BEFORE) <= at.hour \
            < at.start + timedelta(hours=EPISODE_AFTER):
        limit = dev.measure(dev.target).limit or 0.0
        values[dev.target] = (round(limit * rng.uniform(1.3, 1.7), 3), "N")
    return values


def constant(dev: Device, at: Moment, values: Values, rng: random.Random) -> Values:
    """A stuck analyser (数据恒值): one pollutant's value never changes."""
    values[dev.target] = (dev.measure(dev.target).level, "N")
    return values


def zero_flow(dev: Device, at: Moment, values: Values, rng: random.Random) -> Values:
    """No flow while the facilities report running (a bypass, 偷排): flow 0, status still 1."""
    values[dev.flow] = (0.0, "N")
    return values


def abnormal_flag(dev: Device, at: Moment, values: Values, rng: random.Random) -> Values:
    """Every fourth reading of one pollutant flagged fault, calibration, maintenance in turn."""
    if at.n % 4 == 3:
        values[dev.target] = (values[dev.target][0], "DCM"[(at.n // 4) % 3])
    return values


RULES: dict[str, Callable[[Device, Moment, Values, random.Random], Values]] = {
    "exceedance": exceedance, "constant": constant, "zero_flow": zero_flow,
    "abnormal_flag": abnormal_flag}


# -- scenarios acting on the wire -----------------------------------------------------------

def silent(dev: Device, n: int) -> bool:
    """dropout: whether live reading ``n`` falls in an outage (the device off, no connection)."""
    return dev.scenario == "dropout" and DROPOUT_AT <= n % DROPOUT_EVERY < DROPOUT_AT + DROPOUT_FOR


def corrupt(dev: Device, n: int) -> bool:
    """bad_crc: whether the real-time frame of reading ``n`` first goes out with a wrong CRC."""
    return dev.scenario == "bad_crc" and n % 3 == 1


def parts(dev: Device, n: int) -> int:
    """split: in how many sub-packets reading ``n``'s real-time data go (1: not split)."""
    return 2 + n % 2 if dev.scenario == "split" else 1


def values_at(dev: Device, at: Moment, rng: random.Random, spread: float = 0.08) -> Values:
    """The readings of every analyser at ``at``, the device's scenario applied."""
    values = {m.code: (m.sample(rng, spread), "N") for m in dev.measures}
    rule = RULES.get(dev.scenario or "")
    return rule(dev, at, values, rng) if rule else values


# -- data areas -----------------------------------------------------------------------------

def realtime_cps(when: datetime, values: Values, split: int = 1, millis: bool = False
                 ) -> list[str]:
    """CN 2011 data areas: ``DataTime`` then each pollutant's Rtd and Flag; ``split`` > 1
    cuts the pollutants into that many data areas, each with the DataTime. ``millis``: the
    time to the millisecond (sub-second intervals, in tests: one second's readings would
    otherwise share a time and overwrite each other in the store)."""
    items = [(code, {"Rtd": v, "Flag": f}) for code, (v, f) in values.items()]
    size = math.ceil(len(items) / split)
    fields = {"DataTime": format_time(when, millis=millis)}
    return [format_cp(fields, dict(items[i:i + size])) for i in range(0, len(items), size)]


def status_cp(when: datetime, running: bool = True) -> str:
    """CN 2021: the production (SB1) and treatment (SB2) facilities' running state."""
    state = int(running)
    return format_cp({"DataTime": format_time(when)}, {"SB1": {"RS": state},
                                                       "SB2": {"RS": state}})


@dataclass
class Hour:
    """The running statistics of one hour's real-time readings (for CN 2061 so far)."""

    start: datetime
    n: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    lows: dict[str, float] = field(default_factory=dict)
    highs: dict[str, float] = field(default_factory=dict)
    normal: dict[str, int] = field(default_factory=dict)
    odd: dict[str, str] = field(default_factory=dict)

    def add(self, values: Values) -> None:
        self.n += 1
        for code, (v, flag) in values.items():
            self.sums[code] = self.sums.get(code, 0.0) + v
            self.lows[code] = min(self.lows.get(code, v), v)
            self.highs[code] = max(self.highs.get(code, v), v)
            self.normal[code] = self.normal.get(code, 0) + (flag == "N")
            if flag != "N":
                self.odd[code] = flag

    def cp(self, medium: str) -> str:
        """CN 2061 data area: the hour's Avg/Min/Max (flow also its volume, Cou) and Flag —
        N when at least 3/4 of the readings were (HJ 75's validity), else the odd flag."""
        items: dict[str, dict[str, object]] = {}
        for code, total in self.sums.items():
            avg = round(total / self.n, 3)
            flag = "N" if self.normal[code] * 4 >= self.n * 3 else self.odd[code]
            items[code] = {"Avg": avg, "Min": self.lows[code], "Max": self.highs[code]}
            if codes.POLLUTANTS[code].flow:
                items[code]["Cou"] = round(avg * (3600 if medium == "air" else 3.6), 1)
            items[code]["Flag"] = flag
        return format_cp({"DataTime": format_time(self.start)}, items)


def backfill_cp(dev: Device, hour: datetime, start: datetime) -> str:
    """CN 2061 data area of a past hour, as if the device had made a reading a minute."""
    rng = dev.rng(f"hour:{hour.isoformat()}")
    acc = Hour(hour)
    for minute in range(0, 60, 5):  # twelve readings make the hour's statistics
        at = Moment(int(hour.timestamp() // 3600) * 12 + minute // 5, hour, start)
        acc.add(values_at(dev, at, rng, spread=0.05))
    return acc.cp(dev.medium)
