"""Alarm rules on readings as the receiver stores them: each rule opens one alarm per episode,
feeds it while it goes on, ends it when the condition is gone, and evidence sent again never
opens a second one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyogrio
import pytest

from onemap.config import Settings
from onemap.live import alarms, devices, livestore, readings
from onemap.live.readings import Reading, stamp
from onemap.live.registry import Registry
from onemap.live.rules import PollutantRules, Rules

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def setup(live_settings: Settings):  # type: ignore[no-untyped-def]
    registry = Registry(live_settings)
    water = next(d for d in registry.devices().values()
                 if d.medium == "water" and "w01018" in d.limits)
    air = next(d for d in registry.devices().values() if d.medium == "air"
               and "a21026" in d.limits)
    conn = livestore.connect(livestore.path(live_settings))
    return conn, water, air


def _store(conn, device, rows: list[Reading], rules: Rules | None = None) -> int:  # type: ignore[no-untyped-def]
    with livestore.transaction(conn):
        readings.upsert(conn, rows)
        return alarms.evaluate(conn, device, rows, rules or Rules(), stamp(datetime.now(UTC)))


def _hour(device, pollutant: str, h: int, value: float, flag: str = "N") -> Reading:  # type: ignore[no-untyped-def]
    return Reading(device.mn, device.outlet_code, pollutant, "hour",
                   stamp(T0 + timedelta(hours=h)), value, flag=flag, received=stamp(T0))


def _rt(device, pollutant: str, s: int, value: float, flag: str = "N") -> Reading:  # type: ignore[no-untyped-def]
    return Reading(device.mn, device.outlet_code, pollutant, "realtime",
                   stamp(T0 + timedelta(seconds=30 * s)), value, flag=flag, received=stamp(T0))


def _alarms(conn, rule: str | None = None) -> list[dict]:  # type: ignore[no-untyped-def]
    rows = alarms.changed_since(conn, "")
    return [a for a in rows if rule is None or a["rule"] == rule]


def test_exceedance_episode_and_continuous(setup) -> None:  # type: ignore[no-untyped-def]
    conn, water, _ = setup
    limit = water.limits["w01018"][1]
    assert _store(conn, water, [_hour(water, "w01018", 0, limit * 0.5)]) == 0
    assert _store(conn, water, [_hour(water, "w01018", 1, limit * 1.5)]) == 1
    assert _store(conn, water, [_hour(water, "w01018", 2, limit * 2.0)]) == 0  # same episode
    assert _alarms(conn, "continuous_exceedance") == []  # two hours are not three
    assert _store(conn, water, [_hour(water, "w01018", 3, limit * 1.2)]) == 1  # the third
    ex, = _alarms(conn, "exceedance")
    cont, = _alarms(conn, "continuous_exceedance")
    assert ex["value"] == pytest.approx(limit * 2.0) and ex["threshold"] == limit
    assert ex["start"] == stamp(T0 + timedelta(hours=1)) and ex["end"] is None
    assert ex["readings"] == 3 and ex["status"] == "new"
    assert ex["source_name"] == water.source_name != ""  # the company, for the officer
    assert cont["start"] == stamp(T0 + timedelta(hours=1))
    # the same hour sent again (a device resending): nothing new, no count twice
    assert _store(conn, water, [_hour(water, "w01018", 3, limit * 1.2)]) == 0
    assert _alarms(conn, "exceedance")[0]["readings"] == 3
    # back under the limit: the episode ends at that hour
    _store(conn, water, [_hour(water, "w01018", 4, limit * 0.3)])
    ended = {a["rule"]: a["end"] for a in _alarms(conn)}
    assert ended == {"exceedance": stamp(T0 + timedelta(hours=4)),
                     "continuous_exceedance": stamp(T0 + timedelta(hours=4))}
    # a gap in the hours is not continuous: 6 and 8 over, 7 missing
    _store(conn, water, [_hour(water, "w01018", 6, limit * 3)])
    _store(conn, water, [_hour(water, "w01018", 8, limit * 3)])
    _store(conn, water, [_hour(water, "w01018", 9, limit * 3)])
    assert len(_alarms(conn, "continuous_exceedance")) == 1
    assert len(_alarms(conn, "exceedance")) == 2  # a new episode after the end


def test_ph_has_a_range(setup) -> None:  # type: ignore[no-untyped-def]
    conn, water, _ = setup
    low, high = water.limits["w01001"]
    assert (low, high) == (6.0, 9.0)
    _store(conn, water, [_hour(water, "w01001", 0, 7.5)])
    assert _alarms(conn) == []
    _store(conn, water, [_hour(water, "w01001", 1, 4.2)])
    alarm, = _alarms(conn, "exceedance")
    assert alarm["threshold_low"] == 6.0 and alarm["value"] == 4.2


def test_constant_zero_flow_and_flags(setup) -> None:  # type: ignore[no-untyped-def]
    conn, _, air = setup
    rules = Rules(constant_readings=5)
    for s in range(4):
        _store(conn, air, [_rt(air, "a21026", s, 12.5)], rules)
    assert _alarms(conn, "constant") == []
    _store(conn, air, [_rt(air, "a21026", 4, 12.5)], rules)
    alarm, = _alarms(conn, "constant")
    assert alarm["start"] == stamp(T0) and alarm["value"] == 12.5
    _store(conn, air, [_rt(air, "a21026", 5, 13.1)], rules)
    assert _alarms(conn, "constant")[0]["end"] == stamp(T0 + timedelta(seconds=150))
    # a pollutant with its own count
    own = Rules(constant_readings=5, pollutants={"a21002": PollutantRules(constant_readings=8)})
    for s in range(6):
        _store(conn, air, [_rt(air, "a21002", s, 40.0)], own)
    assert _alarms(conn, "constant")[-1]["pollutant"] == "a21026"
    # zero flow alarms only while the plant reports it runs
    _store(conn, air, [_rt(air, "a00000", 0, 0.0)])
    assert _alarms(conn, "zero_flow") == []  # no status known: no judgement
    status = Reading(air.mn, air.outlet_code, "SB1", "status", stamp(T0), 1.0,
                     received=stamp(T0))
    _store(conn, air, [status, _rt(air, "a00000", 1, 0.0)])
    alarm, = _alarms(conn, "zero_flow")
    assert alarm["pollutant"] == "a00000"
    # abnormal flags
    _store(conn, air, [_rt(air, "a34013", 0, 5.0, flag="D")])
    assert _alarms(conn, "abnormal_flag")[0]["pollutant"] == "a34013"
    _store(conn, air, [_rt(air, "a34013", 1, 5.0, flag="N")])
    assert _alarms(conn, "abnormal_flag")[0]["end"] is not None
    # a rule turned off for a pollutant
    off = Rules(pollutants={"a21024": PollutantRules(rules=["exceedance"])})
    _store(conn, air, [_rt(air, "a21024", 0, 1.0, flag="D")], off)
    assert [a["pollutant"] for a in _alarms(conn, "abnormal_flag")] == ["a34013"]


def test_offline_and_back(setup, live_settings: Settings) -> None:  # type: ignore[no-untyped-def]
    conn, water, _ = setup
    registry = Registry(live_settings).devices()
    devices.sync(conn, registry, stamp(T0))
    assert devices.counts(conn) == {"unseen": len(registry)}
    with livestore.transaction(conn):
        devices.seen(conn, water, "2061", stamp(T0))
    rules = Rules(offline_minutes=10)
    assert devices.sweep(conn, registry, rules, T0 + timedelta(minutes=5)) == 0
    assert devices.sweep(conn, registry, rules, T0 + timedelta(minutes=11)) == 1
    alarm, = _alarms(conn, "offline")
    assert alarm["start"] == stamp(T0) and alarm["end"] is None and alarm["pollutant"] == ""
    assert devices.sweep(conn, registry, rules, T0 + timedelta(minutes=30)) == 0  # once
    with livestore.transaction(conn):
        devices.seen(conn, water, "2011", stamp(T0 + timedelta(minutes=40)))
    assert _alarms(conn, "offline")[0]["end"] == stamp(T0 + timedelta(minutes=40))
    assert devices.counts(conn)["online"] == 1


def test_officials_acknowledge_then_close(setup, live_settings: Settings) -> None:  # type: ignore[no-untyped-def]
    conn, water, _ = setup
    _store(conn, water, [_hour(water, "w01018", 0, 1e6)])
    alarm, = _alarms(conn)
    with pytest.raises(alarms.AlarmConflict, match="status"):
        alarms.set_status(conn, alarm["alarm_id"], "new", "li")
    got = alarms.set_status(conn, alarm["alarm_id"], "acknowledged", "li", "on my way")
    assert got["status"] == "acknowledged" and got["acknowledged_by"] == "li"
    with pytest.raises(alarms.AlarmConflict, match="already acknowledged"):
        alarms.set_status(conn, alarm["alarm_id"], "acknowledged", "wang")
    got = alarms.set_status(conn, alarm["alarm_id"], "closed", "wang")
    assert (got["closed_by"], got["acknowledged_by"], got["note"]) == ("wang", "li", "on my way")
    with pytest.raises(alarms.AlarmNotFound):
        alarms.set_status(conn, "nope", "closed", "wang")
    # GDAL reads the alarms as a point layer at the outlet
    frame = pyogrio.read_dataframe(livestore.path(live_settings), layer="alarms")
    assert frame.geometry.iloc[0].x == pytest.approx(water.lon)
    assert str(frame["start"].dtype).startswith("datetime64")
