"""Outlet readings as a feed: rows sent by file or HTTP (a back-fill of what a device could not
send, readings from a platform that is not HJ 212) land in the same table the receiver
writes, through the receiver's own writer (:func:`onemap.live.readings.append`), keyed the
same way — so a reading fed and the same reading uploaded later are one row.

The values are checked by the import's code (:func:`onemap.layers.normalise.normalise` and
:func:`onemap.layers.validate.field_problems`) against the fields below; the key has four
parts (device, pollutant, interval, time), so duplicates are looked for here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from onemap.config import Settings
from onemap.layers import feeds
from onemap.layers.errors import LayerImportError, Problem
from onemap.layers.families import MN_PATTERN, F, Family
from onemap.layers.normalise import normalise
from onemap.layers.validate import field_problems
from onemap.live import alarms, livestore, readings, rules
from onemap.live.hj212 import codes
from onemap.live.hj212.cp import FLAGS
from onemap.live.registry import Registry
from onemap.store import pg_live

KEY = ("mn", "pollutant", "interval", "time")
#: The readings' fields as a family schema (for normalising and checking only: the table is
#: made by :mod:`onemap.live.livestore`, not imported).
READINGS = Family("outlet_readings", "排放口在线监测数据", "Outlet online monitoring readings",
                  None, "mn", (
    F("mn", "str", "数采仪编码", "Device code (MN)", "数采仪编码", "MN", required=True,
      pattern=MN_PATTERN),
    F("pollutant", "str", "监测因子", "Pollutant code", "监测因子", "污染物代码", "code",
      required=True, pattern=r"^[a-zA-Z0-9]{2,8}$"),
    F("interval", "str", "数据类型", "Interval", "数据类型", required=True,
      choices=tuple(codes.INTERVALS.values()),
      value_aliases={"实时": "realtime", "分钟": "minute", "小时": "hour", "日": "day"}),
    F("time", "datetime", "数据时间", "Time", "数据时间", "DataTime", required=True),
    F("value", "float", "监测值", "Value", "监测值", "Avg", "Rtd"),
    F("min", "float", "最小值", "Minimum", "最小值", "Min"),
    F("max", "float", "最大值", "Maximum", "最大值", "Max"),
    F("cou", "float", "累计值", "Total", "累计值", "Cou"),
    F("flag", "str", "数据标记", "Flag", "数据标记", "Flag", choices=tuple(FLAGS)),
), time_field="time")


def check(frame: pd.DataFrame, feed: feeds.Feed, source: str, unit: str,
          table_columns: Sequence[str]) -> feeds.Checked:
    """Normalise and check a batch of readings; every problem at once."""
    chunk = normalise(frame, READINGS, file=source, unit=unit)
    problems = list(chunk.problems)
    skip = {(p.row, p.field) for p in problems}
    problems += [Problem(source, None if row is None else int(row), name, message, unit)
                 for row, name, message in field_problems(chunk.frame, READINGS,
                                                          chunk.sources, skip)]
    extra = [c for c in chunk.frame.columns if c not in {f.name for f in READINGS.fields}]
    problems += [Problem(source, None, c, f"column {c!r} is not a field of outlet readings "
                         f"({', '.join(f.name for f in READINGS.fields)})", unit)
                 for c in extra]
    keys = chunk.frame[list(KEY)]
    for row in keys.index[keys.notna().all(axis=1) & keys.duplicated(keep="first")]:
        problems.append(Problem(source, int(row), "mn", "the same device, pollutant, interval "
                                "and time as an earlier row", unit))
    if problems:
        problems.sort(key=lambda p: (p.row is not None, p.row or 0))
        raise LayerImportError(problems)
    columns = tuple(f.name for f in READINGS.fields if f.name in chunk.sources)
    return feeds.Checked(chunk.frame[list(dict.fromkeys([*KEY, *columns]))], columns)


def commit(path: Path, checked: feeds.Checked, settings: Settings) -> int:
    """Upsert the checked rows in the live store, each with its device's outlet, and run the
    alarm rules over them (a back-fill of hours over the limit raises its alarms as an upload
    would) — one transaction. A device no outlet carries is a problem of its rows."""
    frame = checked.frame
    devices = Registry(settings).devices()
    unknown = [Problem("", int(i), "mn", f"no outlet carries the device {mn!r}: register it in "
                       "the outlets layer", "row")
               for i, mn in frame["mn"].items() if mn not in devices]
    if unknown:
        raise LayerImportError(unknown)
    received = readings.stamp(datetime.now(UTC))

    def number(row: pd.Series, name: str) -> float | None:
        value = row.get(name)
        return None if value is None or pd.isna(value) else float(value)

    rows = [readings.Reading(row["mn"], devices[row["mn"]].outlet_code,
                             codes.canonical(row["pollutant"]), row["interval"],
                             readings.stamp(row["time"].to_pydatetime()),
                             number(row, "value"), number(row, "min"), number(row, "max"),
                             number(row, "cou"),
                             None if pd.isna(row.get("flag")) else row["flag"], received)
            for _, row in frame.iterrows()]
    found = rules.load(settings)
    conn = livestore.connect(path)
    try:
        with livestore.transaction(conn):
            written = readings.upsert(conn, rows)
            for mn in dict.fromkeys(r.mn for r in rows):
                alarms.evaluate(conn, devices[mn], [r for r in rows if r.mn == mn], found,
                                received)
    finally:
        conn.close()
    pg_live.follow_now(settings)  # committed: PostGIS follows (``onemap feed`` then exits)
    return written


FEED = feeds.register(feeds.Feed("outlet_readings", KEY, check=check, commit=commit))
