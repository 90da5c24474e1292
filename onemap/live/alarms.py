"""Alarms raised from readings as they are stored, in the same transaction.

An alarm is one *episode* of one rule at one device (and pollutant): it opens when the rule
first holds (``start``), gathers evidence while it goes on (``last``, ``readings``, the worst
``value``), and ends (``end``) when a later reading shows the condition gone. An official's
workflow runs beside it: ``status`` new → acknowledged → closed, each with who and when. A
condition that returns after its episode ended opens a new alarm; evidence sent again (a
device resending, back-filling) updates the episode it belongs to and never opens a second one.

Rules read the readings table by its key index (the last N hours or readings of one device and
pollutant), so they need no state in memory, survive restarts, and give the same alarms
whichever order back-filled hours arrive in.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from onemap.live import livestore
from onemap.live.hj212 import codes
from onemap.live.readings import STATUS, Reading, stamp
from onemap.live.registry import Device
from onemap.live.rules import Rules

TABLE = livestore.ALARMS
HOUR = "hour"
SAMPLED = ("realtime", "minute")
STATUSES = ("new", "acknowledged", "closed")


@dataclass(frozen=True)
class Evidence:
    """What a rule saw: the rule, pollutant ("" for the device), when it began, the value and
    the limits it broke, and the reading's time."""

    rule: str
    pollutant: str
    start: str
    value: float | None
    when: str
    threshold: float | None = None
    threshold_low: float | None = None


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _over(value: float | None, limits: tuple[float | None, float | None]) -> bool:
    low, high = limits
    return value is not None and ((high is not None and value > high)
                                  or (low is not None and value < low))


def _limits(device: Device, pollutant: str, rules: Rules
            ) -> tuple[float | None, float | None] | None:
    own = device.limits.get(pollutant)
    if own is not None:
        return own
    fallback = rules.fallback_limit(pollutant)
    return None if fallback is None else (None, fallback)


def _recent(conn: sqlite3.Connection, mn: str, pollutant: str, intervals: tuple[str, ...],
            until: str, n: int) -> list[tuple[str, float | None]]:
    """The last ``n`` (time, value) of one device's pollutant up to ``until``, newest first."""
    marks = ", ".join("?" * len(intervals))
    return conn.execute(
        f"SELECT time, value FROM {livestore.READINGS} WHERE mn = ? AND pollutant = ? "  # noqa: S608
        f"AND interval IN ({marks}) AND time <= ? ORDER BY time DESC LIMIT ?",
        (mn, pollutant, *intervals, until, n)).fetchall()


def _running(conn: sqlite3.Connection, mn: str, until: str) -> bool | None:
    """Whether the facilities were running at ``until`` by the last status reading of each
    (None when the device never reported its facilities' state)."""
    rows = conn.execute(
        f"SELECT pollutant, value FROM {livestore.READINGS} r WHERE mn = ? AND interval = ? "  # noqa: S608
        "AND time = (SELECT MAX(time) FROM outlet_readings s WHERE s.mn = r.mn "
        "AND s.pollutant = r.pollutant AND s.interval = r.interval AND s.time <= ?)",
        (mn, STATUS, until)).fetchall()
    if not rows:
        return None
    return any(value == 1 for _, value in rows)


def evidence(conn: sqlite3.Connection, device: Device, reading: Reading, rules: Rules
             ) -> tuple[list[Evidence], list[tuple[str, str]]]:
    """What one stored reading shows: the rules that hold (to open or feed an alarm) and the
    (rule, pollutant) whose condition it shows gone (to end an open alarm)."""
    held: list[Evidence] = []
    gone: list[tuple[str, str]] = []
    p, v, t = reading.pollutant, reading.value, reading.time
    if reading.interval == STATUS:
        return held, gone
    if rules.enabled("abnormal_flag", p) and reading.flag:
        if reading.flag in rules.abnormal_flags:
            held.append(Evidence("abnormal_flag", p, t, v, t))
        else:
            gone.append(("abnormal_flag", p))
    limits = _limits(device, p, rules)
    if reading.interval == HOUR and limits is not None:
        low, high = limits
        if _over(v, limits):
            if rules.enabled("exceedance", p):
                held.append(Evidence("exceedance", p, t, v, t, high, low))
            n = rules.continuous_hours
            last = _recent(conn, device.mn, p, (HOUR,), t, n)
            hours = [_parse(when) for when, _ in last]
            if (rules.enabled("continuous_exceedance", p) and len(last) == n
                    and all(_over(val, limits) for _, val in last)
                    and hours[0] - hours[-1] == timedelta(hours=n - 1)):
                held.append(Evidence("continuous_exceedance", p, last[-1][0], v, t, high, low))
        elif v is not None:
            gone += [("exceedance", p), ("continuous_exceedance", p)]
    # a run of zeros is a stopped flow or a value under detection, not a stuck analyser: the
    # zero-flow rule judges flows against the plant's state
    if reading.interval in SAMPLED and v and rules.enabled("constant", p):
        n, tolerance = rules.constant(p)
        last = _recent(conn, device.mn, p, (reading.interval,), t, n)
        values = [val for _, val in last]
        if len(values) == n and None not in values and max(values) - min(values) <= tolerance:
            held.append(Evidence("constant", p, last[-1][0], v, t))
        elif len(values) >= 2 and values[1] is not None and abs(values[0] - values[1]) > tolerance:
            gone.append(("constant", p))
    flow = codes.pollutant(p)
    if flow is not None and flow.flow and v is not None and rules.enabled("zero_flow", p):
        if v <= rules.zero_flow_below and _running(conn, device.mn, t):
            held.append(Evidence("zero_flow", p, t, v, t))
        elif v > rules.zero_flow_below:
            gone.append(("zero_flow", p))
    return held, gone


def _worse(rule: str, old: float | None, new: float | None,
           limits: tuple[float | None, float | None]) -> float | None:
    """The value an episode shows: the farthest from its limit for exceedances, else the
    latest."""
    if rule not in ("exceedance", "continuous_exceedance") or old is None or new is None:
        return new if new is not None else old
    low, high = limits
    if low is not None and new < low and (old >= low or new < old):
        return new
    return max(old, new) if high is not None and new > high else old


def raise_(conn: sqlite3.Connection, device: Device, ev: Evidence, now: str) -> bool:
    """Open an alarm for ``ev``, or feed the open episode of its rule; True when new."""
    row = conn.execute(
        f'SELECT fid, value, last, start FROM {TABLE} WHERE mn = ? AND rule = ? '  # noqa: S608
        'AND pollutant = ? AND "end" IS NULL', (device.mn, ev.rule, ev.pollutant)).fetchone()
    if row is not None:
        fid, value, last, start = row
        later = ev.when > (last or "")
        conn.execute(
            f"UPDATE {TABLE} SET value = ?, last = ?, start = ?, readings = readings + ?, "  # noqa: S608
            "updated = ? WHERE fid = ?",
            (_worse(ev.rule, value, ev.value, (ev.threshold_low, ev.threshold)),
             max(ev.when, last or ""), min(ev.start, start), 1 if later else 0, now, fid))
        return False
    compact = ev.start[:19].replace("-", "").replace(":", "") + "Z"  # 20261203T130000Z
    alarm_id = f"{device.outlet_code}-{ev.rule}-{ev.pollutant or 'device'}-{compact}"
    if conn.execute(f"SELECT 1 FROM {TABLE} WHERE alarm_id = ?",  # noqa: S608
                    (alarm_id,)).fetchone():
        return False  # an ended episode's evidence sent again: it stays ended
    info = codes.pollutant(ev.pollutant) if ev.pollutant else None
    conn.execute(
        f"INSERT INTO {TABLE} (geom, alarm_id, rule, source_id, source_name, outlet_code, mn, "  # noqa: S608
        "county_code, pollutant, pollutant_name, unit, value, threshold, threshold_low, "
        "readings, start, last, status, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, 1, ?, ?, 'new', ?)",
        (livestore.point_blob(device.lon, device.lat), alarm_id, ev.rule, device.source_id,
         device.source_name, device.outlet_code, device.mn, device.county_code, ev.pollutant,
         info.name if info else "", info.unit if info else "", ev.value, ev.threshold,
         ev.threshold_low, ev.start, ev.when, now))
    return True


def end(conn: sqlite3.Connection, mn: str, rule: str, pollutant: str, when: str,
        now: str) -> int:
    """End the open episode of ``rule`` when ``when`` is later than its evidence."""
    return conn.execute(
        f'UPDATE {TABLE} SET "end" = ?, updated = ? WHERE mn = ? AND rule = ? '  # noqa: S608
        'AND pollutant = ? AND "end" IS NULL AND last < ?',
        (when, now, mn, rule, pollutant, when)).rowcount


def evaluate(conn: sqlite3.Connection, device: Device, stored: list[Reading], rules: Rules,
             now: str) -> int:
    """Run the rules over readings just upserted (inside the caller's transaction); the
    number of alarms opened."""
    opened = 0
    for reading in stored:
        held, gone = evidence(conn, device, reading, rules)
        for rule, pollutant in gone:
            end(conn, device.mn, rule, pollutant, reading.time, now)
        for ev in held:
            opened += raise_(conn, device, ev, now)
    return opened


class AlarmNotFound(LookupError):
    pass


class AlarmConflict(ValueError):
    """The change does not follow new → acknowledged → closed."""


def set_status(conn: sqlite3.Connection, alarm_id: str, status: str, who: str,
               note: str | None = None) -> dict:
    """An official acknowledges or closes an alarm; the alarm's row as it now is."""
    if status not in ("acknowledged", "closed"):
        raise AlarmConflict(f"status must be 'acknowledged' or 'closed', not {status!r}")
    now = stamp(datetime.now(UTC))
    with livestore.transaction(conn):
        row = conn.execute(f"SELECT status FROM {TABLE} WHERE alarm_id = ?",  # noqa: S608
                           (alarm_id,)).fetchone()
        if row is None:
            raise AlarmNotFound(alarm_id)
        current = row[0]
        if STATUSES.index(status) <= STATUSES.index(current):
            raise AlarmConflict(f"alarm {alarm_id} is already {current}")
        prefix = "acknowledged" if status == "acknowledged" else "closed"
        fields = f"status = ?, {prefix}_by = ?, {prefix}_at = ?, updated = ?"
        args: list = [status, who, now, now]
        if status == "closed" and current == "new":  # closing acknowledges too
            fields += ", acknowledged_by = ?, acknowledged_at = ?"
            args += [who, now]
        if note is not None:
            fields += ", note = ?"
            args.append(note)
        conn.execute(f"UPDATE {TABLE} SET {fields} WHERE alarm_id = ?",  # noqa: S608
                     (*args, alarm_id))
    return get(conn, alarm_id)


COLUMNS = tuple(livestore.SCHEMAS[TABLE])


def get(conn: sqlite3.Connection, alarm_id: str) -> dict:
    row = conn.execute(f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in COLUMNS)} "  # noqa: S608
                       f"FROM {TABLE} WHERE alarm_id = ?", (alarm_id,)).fetchone()
    if row is None:
        raise AlarmNotFound(alarm_id)
    return dict(zip(COLUMNS, row, strict=True))


def changed_since(conn: sqlite3.Connection, since: str, limit: int = 500) -> list[dict]:
    """Alarms opened or changed after ``since`` (an ``updated`` value), oldest change first:
    what a live feed sends after the last event a browser saw."""
    quoted = ", ".join(f'"{c}"' for c in COLUMNS)
    rows = conn.execute(f"SELECT {quoted}, fid FROM {TABLE} WHERE updated > ? "  # noqa: S608
                        "ORDER BY updated, fid LIMIT ?", (since, limit)).fetchall()
    return [dict(zip((*COLUMNS, "fid"), row, strict=True)) for row in rows]
