"""The receiver with its real store, over TCP on 127.0.0.1: registered devices' data stored
with their outlet and answered after the commit; unknown devices, wrong passwords and wrong
system types refused with the protocol's codes; an unreadable data area stored nowhere; the
alarms a packet raises committed with it; and ``onemap hj212`` killed with -9 loses nothing it
acknowledged."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime

import pyogrio

from onemap.config import Settings
from onemap.live import livestore, readings, registry
from onemap.live.hj212 import cp, frames
from onemap.live.hj212.frames import Packet
from onemap.live.registry import Registry
from onemap.live.service import Service
from tests.live.test_hj212_server import _answers, _run


def _packet(device: registry.Device, qn: str, cp_text: str, *, cn: str = "2061",
            pw: str = "123456", st: str | None = None) -> Packet:
    return Packet(st=st or device.st, cn=cn, pw=pw, mn=device.mn, qn=qn, flag=5, cp=cp_text)


def _now_cp(items: str) -> str:
    return f"DataTime={cp.format_time(datetime.now(UTC))};{items}"


def test_registered_devices_stored_others_refused(live_settings: Settings) -> None:
    reg = Registry(live_settings).devices()
    water = next(d for d in reg.values() if d.medium == "water" and "w01018" in d.limits)
    air = next(d for d in reg.values() if d.medium == "air")
    registry.set_password(live_settings, air.mn, "s3cret", "test")

    async def main() -> tuple[list[Packet], Service]:
        service = Service(live_settings, "127.0.0.1", 0)
        port = await service.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            limit = water.limits["w01018"][1]
            sent = [
                _packet(water, "20261201080000001", _now_cp(
                    f"w01018-Avg={limit * 3},w01018-Flag=N;w21003-Avg=1.2,w21003-Flag=N")),
                _packet(water, "20261201080000002", _now_cp("w01018-Avg=1"),
                        st=air.st),                                      # wrong ST
                _packet(air, "20261201080000003", _now_cp("a21026-Rtd=20"), cn="2011"),  # PW
                _packet(air, "20261201080000004", _now_cp("a21026-Rtd=20"), cn="2011",
                        pw="s3cret"),                                    # its own PW
                Packet(st="32", cn="2061", pw="123456", mn="FFFF00000000000000000000",
                       qn="20261201080000005", flag=5, cp=_now_cp("w01018-Avg=1")),
            ]
            bad = _packet(water, "20261201080000006", _now_cp("w01018-Avg=abc"))
            for p in sent[:2]:
                writer.write(frames.encode(p))
            writer.write(frames.encode(bad))  # no answer: an unreadable data area
            for p in sent[2:]:
                writer.write(frames.encode(p))
            await writer.drain()
            got = await _answers(reader, 5)
            writer.close()
            return got, service
        finally:
            await service.stop()

    got, service = _run(main())
    assert [(a.cn, a.qn, a.cp) for a in got] == [
        ("9014", "20261201080000001", ""), ("9011", "20261201080000002", "QnRtn=5"),
        ("9011", "20261201080000003", "QnRtn=3"), ("9014", "20261201080000004", ""),
        ("9011", "20261201080000005", "QnRtn=4")]
    assert service.receiver.stats.malformed == 1
    conn = livestore.connect(livestore.path(live_settings))
    rows = readings.read(conn)
    assert sorted((r.mn, r.outlet_code, r.pollutant) for r in rows) == sorted([
        (water.mn, water.outlet_code, "w01018"), (water.mn, water.outlet_code, "w21003"),
        (air.mn, air.outlet_code, "a21026")])
    status = dict(conn.execute("SELECT mn, status FROM devices WHERE status <> 'unseen'"))
    assert status == {water.mn: "online", air.mn: "online"}
    alarm = conn.execute("SELECT rule, outlet_code, pollutant FROM alarms").fetchall()
    assert alarm == [("exceedance", water.outlet_code, "w01018")]  # committed before the 9014
    # the server reads them as catalogued layers
    path = livestore.path(live_settings)
    assert len(pyogrio.read_dataframe(path, layer="devices")) == len(reg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kill_9_loses_nothing_acknowledged(live_settings: Settings) -> None:
    """Devices send hourly data as fast as they are answered; the receiver process is killed
    with -9 mid-stream. Every packet answered 9014 is in the store after the kill."""
    reg = Registry(live_settings).devices()
    chosen = [d for d in reg.values() if d.medium == "water"][:8]
    port = _free_port()
    env = {**os.environ, "ONEMAP_DATA_DIR": str(live_settings.data_dir),
           "ONEMAP_HJ212_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "onemap", "hj212"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:  # log lines, then the one that says it listens
            if "HJ 212 receiver on" in line:
                break
        acked: list[tuple[str, int]] = []

        async def device(d: registry.Device, stop: asyncio.Event) -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            hour = 0
            try:
                while not stop.is_set():
                    moment = datetime(2026, 11, 1, tzinfo=UTC).timestamp() + hour * 3600
                    when = cp.format_time(datetime.fromtimestamp(moment, UTC))
                    writer.write(frames.encode(_packet(
                        d, f"20261201{hour:09d}", f"DataTime={when};w01018-Avg={hour}")))
                    await writer.drain()
                    answer = await asyncio.wait_for(reader.readuntil(b"\r\n"), 10)
                    if frames.decode(answer).cn == "9014":
                        acked.append((d.mn, hour))
                    hour += 1
            except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
                return

        async def main() -> None:
            stop = asyncio.Event()
            tasks = [asyncio.create_task(device(d, stop)) for d in chosen]
            while len(acked) < 200:
                await asyncio.sleep(0.01)
            os.kill(proc.pid, signal.SIGKILL)
            await asyncio.gather(*tasks)

        _run(main())
        proc.wait(10)
        assert proc.returncode == -9
    finally:
        if proc.poll() is None:
            proc.kill()
    conn = livestore.connect(livestore.path(live_settings))
    kept = {(r.mn, int(r.value)) for r in readings.read(conn) if r.pollutant == "w01018"}
    assert len(acked) >= 200
    assert set(acked) <= kept, f"acknowledged but lost: {sorted(set(acked) - kept)[:5]}"
