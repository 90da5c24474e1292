"""The HJ 212 simulator against the real receiver over TCP on 127.0.0.1: what the receiver
decoded and answered is what is checked — back-fill, the scenarios as the alarms will see
them, bad CRCs refused then sent again, split packets put together, nothing lost.

The receiver's handler keeps packets in memory (the store of readings has its own tests);
the devices are the sample's outlets (``sample_settings``)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from onemap.live import livestore, readings
from onemap.live.hj212 import cp, frames
from onemap.live.hj212.frames import Packet
from onemap.live.hj212.server import Receiver
from onemap.live.sim_device import SCENARIOS, Device, assign
from onemap.live.simulate import Options, devices_of, load_outlets, simulate
from tests.loops import run as _run

INTERVAL = 0.2


class Recorder:
    """Accepts the simulated devices (PW 123456) and keeps every packet stored (and, given a
    readings file, its readings there, as the receiver's handler does)."""

    def __init__(self, devices: list[Device], conn: sqlite3.Connection | None = None) -> None:
        self.mns = {d.mn for d in devices}
        self.kept: dict[str, list[Packet]] = defaultdict(list)
        self.conn = conn

    async def check(self, packet: Packet) -> int | None:
        if packet.mn not in self.mns:
            return frames.QN_MN
        return frames.QN_PW if packet.pw != "123456" else None

    async def store(self, packet: Packet) -> None:
        self.kept[packet.mn].append(packet)
        if self.conn is not None:
            readings.append(self.conn, readings.rows_of(packet))


@pytest.fixture(scope="module")
def outlets(sample_settings) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return load_outlets(sample_settings)


@pytest.fixture(scope="module")
def run(outlets: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Ten devices (air and water), seven of them one scenario each, for 6 s at 0.2 s."""
    picked = pd.concat([outlets[outlets.medium == "air"].head(5),
                        outlets[outlets.medium == "water"].head(5)])
    devices = devices_of(picked, seed=7, share=0.7)
    conn = livestore.connect(tmp_path_factory.mktemp("readings") / "live.gpkg")
    recorder = Recorder(devices, conn)

    async def main():  # type: ignore[no-untyped-def]
        rx = Receiver(recorder, "127.0.0.1", idle_s=30)
        port = await rx.start()
        try:
            opts = Options("127.0.0.1", port, "123456", interval=INTERVAL, backfill_hours=4,
                           answer_timeout=2.0)
            started = datetime.now(UTC)
            stats = await simulate(devices, opts, duration=6.0)
            return started, stats, rx.stats
        finally:
            await rx.stop()

    started, stats, rx_stats = _run(main())
    by_scenario = {d.scenario: d for d in devices if d.scenario}
    yield devices, by_scenario, recorder.kept, started, stats, rx_stats, conn
    conn.close()


def _of(kept: list[Packet], cn: str) -> list[tuple[datetime, cp.DataArea]]:
    out = []
    for p in kept:
        if p.cn == cn:
            area = cp.parse(p.cp)
            out.append((area.data_time, area))
    return out


def _hourly(kept: list[Packet]) -> dict[datetime, cp.DataArea]:
    """The last hourly packet of each hour (the receiver upserts them)."""
    return dict(_of(kept, "2061"))


def test_every_scenario_is_cast_and_every_device_is_heard(run) -> None:  # type: ignore[no-untyped-def]
    devices, by_scenario, kept, _, stats, rx_stats, _ = run
    assert set(by_scenario) == set(SCENARIOS)
    total = stats.total()
    assert total["lost"] == 0 and total["unanswered"] == 0
    for dev in devices:
        packets = kept[dev.mn]
        assert {p.cn for p in packets} == {"2011", "2021", "2061"}, dev.scenario
        assert {p.st for p in packets} == {"31" if dev.medium == "air" else "32"}
        assert all(p.flag == 5 and p.pw == "123456" for p in packets)
        realtime = _of(packets, "2011")
        assert len(realtime) >= 10 if dev.scenario != "dropout" else len(realtime) >= 5
        assert set(realtime[0][1].items) == {m.code for m in dev.measures}
    # every answered packet was stored once (a split packet once, whole); nothing else stored
    for group, counts in stats.groups.items():
        stored = sum(len({p.qn for p in kept[d.mn]}) for d in devices
                     if (d.scenario or "normal") == group)
        assert stored == counts["answered"], group


def test_readings_land_in_the_store(run) -> None:  # type: ignore[no-untyped-def]
    devices, _, kept, started, _, _, conn = run
    hour = started.replace(minute=0, second=0, microsecond=0)
    for dev in devices:
        rows = readings.read(conn, dev.mn)
        hourly = {(r.pollutant, r.time): r for r in rows if r.interval == "hour"}
        assert {p for p, _ in hourly} == {m.code for m in dev.measures}
        times = {t for _, t in hourly}  # back-fill and the running hour, once each (upserted)
        assert times == {readings.stamp(hour - timedelta(hours=h)) for h in range(5)}
        last = _hourly(kept[dev.mn])[hour]  # the running hour holds the last average sent
        for m in dev.measures:
            assert hourly[(m.code, readings.stamp(hour))].value \
                == last.values(m.code)["Avg"]
        assert sum(r.interval == "realtime" for r in rows) >= 6


def test_backfill_hours_are_there_at_once(run) -> None:  # type: ignore[no-untyped-def]
    devices, _, kept, started, _, _, _ = run
    hour = started.replace(minute=0, second=0, microsecond=0)
    for dev in devices:
        hours = _hourly(kept[dev.mn])
        assert {hour - timedelta(hours=h) for h in range(1, 5)} <= set(hours)
        assert hour in hours  # the running hour too


def test_normal_devices_comply_with_their_limits(run) -> None:  # type: ignore[no-untyped-def]
    devices, _, kept, _, _, _, _ = run
    for dev in devices:
        if dev.scenario == "exceedance":
            continue
        areas = [a for _, a in _of(kept[dev.mn], "2011")] + list(_hourly(kept[dev.mn]).values())
        for m in dev.measures:
            for area in areas:
                value = area.values(m.code)
                value = value.get("Rtd", value.get("Avg"))
                if m.limit is not None:
                    assert value < m.limit, (dev.mn, m.code)
                if m.low is not None:
                    assert value > m.low, (dev.mn, m.code)
                if dev.scenario != "abnormal_flag":
                    assert area.items[m.code]["Flag"] == "N"


def test_exceedance_for_three_hours_and_on(run) -> None:  # type: ignore[no-untyped-def]
    _, by_scenario, kept, started, _, _, _ = run
    dev = by_scenario["exceedance"]
    limit = dev.measure(dev.target).limit
    hours = _hourly(kept[dev.mn])
    over = sorted(h for h, a in hours.items() if a.values(dev.target)["Avg"] > limit)
    hour = started.replace(minute=0, second=0, microsecond=0)
    assert [hour - timedelta(hours=h) for h in (3, 2, 1, 0)] == over[-4:]
    assert all(a.values(dev.target)["Rtd"] > limit for _, a in _of(kept[dev.mn], "2011"))


def test_constant_value_repeats(run) -> None:  # type: ignore[no-untyped-def]
    _, by_scenario, kept, _, _, _, _ = run
    dev = by_scenario["constant"]
    values = [a.items[dev.target]["Rtd"] for _, a in _of(kept[dev.mn], "2011")]
    assert len(values) >= 10 and len(set(values)) == 1
    others = [a.items[dev.flow]["Rtd"] for _, a in _of(kept[dev.mn], "2011")]
    assert len(set(others)) > 1  # only the stuck analyser is stuck


def test_zero_flow_while_running(run) -> None:  # type: ignore[no-untyped-def]
    _, by_scenario, kept, _, _, _, _ = run
    dev = by_scenario["zero_flow"]
    assert all(a.values(dev.flow)["Rtd"] == 0 for _, a in _of(kept[dev.mn], "2011"))
    status = _of(kept[dev.mn], "2021")
    assert status and all(a.items["SB1"]["RS"] == "1" for _, a in status)


def test_abnormal_flags(run) -> None:  # type: ignore[no-untyped-def]
    _, by_scenario, kept, _, _, _, _ = run
    dev = by_scenario["abnormal_flag"]
    flags = [a.items[dev.target]["Flag"] for _, a in _of(kept[dev.mn], "2011")]
    assert {"D", "C", "M"} <= set(flags) and flags.count("N") >= len(flags) / 2


def test_bad_crc_refused_then_sent_again(run) -> None:  # type: ignore[no-untyped-def]
    _, by_scenario, kept, _, stats, rx_stats, _ = run
    counts = stats.groups["bad_crc"]
    assert counts["bad_crc"] >= 3
    # the receiver found exactly the garbled frames malformed, for their CRC, and said so
    assert rx_stats.malformed == counts["bad_crc"]
    assert rx_stats.reasons.get("malformed:9") == counts["bad_crc"]
    assert counts["refused"] == counts["bad_crc"] and counts["resent"] == counts["bad_crc"]
    realtime = [p.qn for p in kept[by_scenario["bad_crc"].mn] if p.cn == "2011"]
    assert len(realtime) == len(set(realtime)) >= 10  # none missing, none twice


def test_split_packets_reassembled(run) -> None:  # type: ignore[no-untyped-def]
    _, by_scenario, kept, _, stats, rx_stats, _ = run
    dev = by_scenario["split"]
    assert stats.groups["split"]["split"] >= 5
    realtime = [p for p in kept[dev.mn] if p.cn == "2011"]
    assert len(realtime) == stats.groups["split"]["split"]  # every reading was split
    for p in realtime:
        assert (p.flag, p.pnum, p.pno) == (5, None, None)
        assert set(cp.parse(p.cp).items) == {m.code for m in dev.measures}
    assert stats.groups["split"]["frames"] > stats.groups["split"]["packets"]


def test_dropout_goes_silent_then_comes_back(run) -> None:  # type: ignore[no-untyped-def]
    _, by_scenario, kept, _, stats, _, _ = run
    dev = by_scenario["dropout"]
    times = sorted(t for t, _ in _of(kept[dev.mn], "2011"))
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert max(gaps) >= timedelta(seconds=2)  # 15 readings of 0.2 s missing
    assert times[-1] - times[0] > max(gaps)  # and readings on both sides
    assert stats.groups["dropout"]["reconnects"] >= 1
    assert all(stats.groups[s]["reconnects"] == 0 for s in stats.groups if s != "dropout")


def test_the_same_seed_casts_the_same_devices(outlets: pd.DataFrame) -> None:
    mns = list(outlets["mn"].head(200))
    cast = assign(mns, 3, 0.1)
    assert cast == assign(list(reversed(mns)), 3, 0.1)
    assert len(cast) == 20 and set(cast.values()) == set(SCENARIOS)
    assert cast != assign(mns, 4, 0.1)
    rows = outlets.head(50)
    assert devices_of(rows, 3, 0.2) == devices_of(rows, 3, 0.2)
    assert assign(mns, 3, 0) == {}


def _cli(settings, *args: str) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    env = {**os.environ, "ONEMAP_DATA_DIR": str(settings.data_dir)}
    return subprocess.run([sys.executable, "-m", "onemap", "simulate", "hj212", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_lists_scenarios_runs_and_refuses_bad_options(sample_settings) -> None:  # type: ignore[no-untyped-def]
    listing = _cli(sample_settings, "--devices", "30", "--seed", "5", "--list-scenarios")
    assert listing.returncode == 0, listing.stderr
    lines = [line.split() for line in listing.stdout.splitlines()]
    assert len(lines) == len(SCENARIOS) and {line[2] for line in lines} == set(SCENARIOS)
    assert all(len(line[0]) == 24 for line in lines)

    recorder = Recorder(devices_of(load_outlets(sample_settings).head(3), 0, 0))
    loop = asyncio.new_event_loop()  # run in a thread of its own: a browser test's loop may
    thread = threading.Thread(target=loop.run_forever, daemon=True)  # run in the main one
    thread.start()
    rx = Receiver(recorder, "127.0.0.1", idle_s=30)
    port = asyncio.run_coroutine_threadsafe(rx.start(), loop).result(30)
    try:
        done = _cli(sample_settings, "--devices", "3", "--share", "0", "--interval", "0.2",
                    "--duration", "2", "--backfill-hours", "2", "--port", str(port))
        # no --duration: runs until Ctrl-C, then prints its summary all the same
        env = {**os.environ, "ONEMAP_DATA_DIR": str(sample_settings.data_dir)}
        endless = subprocess.Popen(
            [sys.executable, "-m", "onemap", "simulate", "hj212", "--devices", "2", "--interval",
             "0.2", "--backfill-hours", "0", "--port", str(port)], env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert "simulating 2 HJ 212 devices" in endless.stdout.readline()
        time.sleep(1.5)
        endless.send_signal(signal.SIGINT)
        out, err = endless.communicate(timeout=30)
    finally:
        asyncio.run_coroutine_threadsafe(rx.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
    assert done.returncode == 0, done.stderr
    assert endless.returncode == 0, err
    assert out.splitlines()[-1].split()[:2] == ["total", "2"] and "Traceback" not in err
    assert "total" in done.stdout and len(recorder.kept) == 3
    assert all(len(_hourly(p)) >= 3 for p in recorder.kept.values())

    for bad, words in ((["--interval", "0"], "--interval"), (["--devices", "x"], "--devices"),
                       (["--share", "2"], "--share")):
        result = _cli(sample_settings, *bad)
        assert result.returncode == 2 and words in result.stderr


class Slow(Recorder):
    """Takes ``delay`` seconds to commit the first ``slow`` packets (a receiver under load)."""

    def __init__(self, devices: list[Device], slow: int, delay: float) -> None:
        super().__init__(devices)
        self.slow, self.delay = slow, delay
        self.delayed: list[Packet] = []

    async def store(self, packet: Packet) -> None:
        if self.slow > 0:
            self.slow -= 1
            self.delayed.append(packet)
            await asyncio.sleep(self.delay)
        await super().store(packet)


def test_unanswered_packets_are_sent_again_and_lost_connections_restored(outlets) -> None:  # type: ignore[no-untyped-def]
    devices = devices_of(outlets.head(2), seed=1, share=0)
    slow = Slow(devices, slow=1, delay=0.8)

    async def main():  # type: ignore[no-untyped-def]
        rx = Receiver(slow, "127.0.0.1", idle_s=30)
        port = await rx.start()
        opts = Options("127.0.0.1", port, "123456", interval=INTERVAL, backfill_hours=1,
                       answer_timeout=0.5)
        stop = asyncio.Event()
        running = asyncio.create_task(simulate(devices, opts, stop=stop))
        await asyncio.sleep(2.0)
        await rx.stop()  # the receiver goes away: connections drop, connecting fails
        before = {mn: len(p) for mn, p in slow.kept.items()}
        await asyncio.sleep(1.5)
        rx = Receiver(slow, "127.0.0.1", port, idle_s=30)
        await rx.start()
        await asyncio.sleep(3.0)
        stop.set()
        stats = await running
        await rx.stop()
        return stats, before

    stats, before = _run(main())
    total = stats.total()
    # the first packet waited 0.8 s for its answer, more than the 0.5 s a device waits
    assert total["unanswered"] >= 1 and total["resent"] == total["unanswered"]
    assert total["lost"] == 0
    late = slow.delayed[0]
    assert sum(p.qn == late.qn for p in slow.kept[late.mn]) == 2  # stored, then sent again
    assert total["reconnects"] == 2  # each device once, after the receiver came back
    assert all(len(slow.kept[mn]) > before[mn] + 5 for mn in before)
    for packets in slow.kept.values():  # readings made while cut off came later, in their time
        seconds = sorted({t for t, _ in _of(packets, "2011")})
        assert max(b - a for a, b in zip(seconds, seconds[1:], strict=False)) \
            <= timedelta(seconds=1)
        span = (seconds[-1] - seconds[0]).total_seconds()
        assert len({p.qn for p in packets if p.cn == "2011"}) >= (span - 1) / INTERVAL
