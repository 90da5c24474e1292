"""The HJ 212 receiver under load: devices connected, packets per second with no loss, and the
time from a packet to its alarm on a browser's event stream.

Run with ``make bench-hj212`` (or ``.venv/bin/python bench/hj212.py``) after ``onemap sample``.
Everything runs on a temporary data dir (your data is never touched): the sample's outlets,
with device codes (MN) given to more outlets when ``--devices`` asks for more than the sample
registers (2,786), and ``onemap hj212`` as its own process, as deployed.

Devices are asyncio connections of this process, each behaving like a data logger: it sends
minute data (CN 2051, six pollutants) and waits for the 9014 before its next packet (a logger
resends what is not answered; here an unanswered packet after 30 s counts as lost). Phases:

1. **steady** — ``--devices`` (default 3,000) each sending every ``devices / rate`` seconds
   (default rate 50 packets/s: 3,000 devices' minute data) for ``--seconds``;
2. **burst** — the same devices at ``--burst`` times the rate (default 10×) for ``--burst-seconds``;
3. **reference** — the same steady and burst load against a bare asyncio server that cuts
   frames with the same reader and answers 9014 at once, storing nothing: the ceiling of this
   machine's TCP, event loop and client, measured in the same run (ratio = ours / bare).

Then **loss**: every packet answered must have its six readings in the store (counted in the
live file after the run). And **latency**: with ``onemap serve`` on the same data dir and an
admin's event stream open (``/api/alarms/events``), exceedance packets are sent while the steady
load runs; the time from the send to the alarm event's arrival is printed (median, max).
Numbers are machine-dependent; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import pyogrio
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from onemap import catalog  # noqa: E402
from onemap.access import accounts  # noqa: E402
from onemap.config import Settings, get_settings  # noqa: E402
from onemap.live.hj212 import cp, frames  # noqa: E402
from onemap.live.hj212.frames import Packet  # noqa: E402
from tests.server import free_port, run_receiver, run_server  # noqa: E402

AIR = "a00000-Avg={f},a00000-Flag=N;a21026-Avg=12.1,a21026-Flag=N;a21002-Avg=40.2,a21002-Flag=N;" \
      "a34013-Avg=3.3,a34013-Flag=N;a19001-Avg=9.8,a19001-Flag=N;a01012-Avg=55,a01012-Flag=N"
WATER = "w00000-Avg={f},w00000-Flag=N;w01018-Avg=21.5,w01018-Flag=N;w21003-Avg=1.1," \
        "w21003-Flag=N;w21011-Avg=0.2,w21011-Flag=N;w21001-Avg=6.5,w21001-Flag=N;" \
        "w01001-Avg=7.2,w01001-Flag=N"
POLLUTANTS_PER_PACKET = 6
BARE = """
import asyncio, sys
from onemap.live.hj212 import frames
from onemap.live.hj212.frames import FrameReader
async def conn(r, w):
    cut = FrameReader()
    while data := await r.read(4096):
        for f in cut.feed(data):
            w.write(frames.encode(frames.decode(f).answer("9014")))
        await w.drain()
async def main():
    s = await asyncio.start_server(conn, "127.0.0.1", int(sys.argv[1]), limit=16384)
    print("ready", flush=True)
    await s.serve_forever()
asyncio.run(main())
"""


def prepare(data: Path, source: Settings, devices: int) -> list[tuple[str, str]]:
    """A data dir with the sample's outlets, ``devices`` of them with an MN; (mn, medium)."""
    entry = catalog.get("outlets", source)
    settings = Settings(data_dir=data)
    frame = gpd.read_file(entry.file(source), layer=entry.id, engine="pyogrio")
    frame = frame.sort_values("mn", na_position="last").reset_index(drop=True)
    if devices > len(frame):
        raise SystemExit(f"the sample has {len(frame)} outlets; ask for at most that many")
    for i in range(devices):
        if not isinstance(frame.at[i, "mn"], str) or not frame.at[i, "mn"]:
            frame.at[i, "mn"] = f"BENCH{i:019d}"
    frame.loc[devices:, "mn"] = None
    target = data / entry.path
    target.parent.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(frame, target, layer=entry.id, driver="GPKG")
    catalog.put(entry, settings)
    chosen = frame.iloc[:devices]
    return list(zip(chosen["mn"], chosen["medium"], strict=True))


def packet(mn: str, medium: str, qn: int, moment: datetime) -> bytes:
    items = (AIR if medium == "air" else WATER).format(f=12.5 + qn % 7)
    return frames.encode(Packet(
        st="31" if medium == "air" else "32", cn="2051", pw="123456", mn=mn,
        qn=f"{moment:%Y%m%d%H%M%S}{qn % 1000:03d}", flag=5,
        cp=f"DataTime={cp.format_time(moment)};{items}"))


class Load:
    """Devices sending minute data at ``rate`` packets/s in all, answered before the next."""

    def __init__(self, port: int, devices: list[tuple[str, str]]) -> None:
        self.port, self.devices = port, devices
        self.sent = self.acked = self.lost = 0
        self.latency: list[float] = []
        self.connected = 0
        self.first_send = self.last_ack = 0.0

    async def device(self, i: int, mn: str, medium: str, rate: float, until: float,
                     start: datetime) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.connected += 1
        period = len(self.devices) / rate
        await asyncio.sleep((i / len(self.devices)) * period)  # spread evenly
        n = 0
        try:
            while time.monotonic() < until:
                began = time.monotonic()
                moment = start + timedelta(minutes=n)  # each packet a minute of its own
                writer.write(packet(mn, medium, n, moment))
                self.sent += 1
                self.first_send = self.first_send or began
                try:
                    await asyncio.wait_for(reader.readuntil(b"\r\n"), 30)
                    self.acked += 1
                    self.last_ack = time.monotonic()
                    self.latency.append(time.monotonic() - began)
                except (TimeoutError, asyncio.IncompleteReadError):
                    self.lost += 1
                    return
                n += 1
                wake = min(began + period, until)
                await asyncio.sleep(max(0.0, wake - time.monotonic()))
        finally:
            writer.close()

    async def run(self, rate: float, seconds: float, start: datetime) -> float:
        """Answered packets per second, from the first packet sent to the last answer (the
        devices' connecting, before, is not the receiver's throughput)."""
        until = time.monotonic() + seconds
        await asyncio.gather(*(self.device(i, mn, medium, rate, until, start)
                               for i, (mn, medium) in enumerate(self.devices)))
        return self.acked / max(1e-9, self.last_ack - self.first_send)


def phase(port: int, devices: list[tuple[str, str]], rate: float, seconds: float,
          start: datetime) -> dict:
    load = Load(port, devices)
    achieved = asyncio.run(load.run(rate, seconds, start))
    lat = sorted(load.latency) or [float("nan")]
    return {"connected": load.connected, "sent": load.sent, "acked": load.acked,
            "lost": load.lost, "rate": achieved, "p50_ms": lat[len(lat) // 2] * 1000,
            "p99_ms": lat[int(len(lat) * 0.99)] * 1000}


def alarm_latency(base: str, port: int, key: str, devices: list[tuple[str, str]],
                  outlets: gpd.GeoDataFrame, tries: int) -> list[float]:
    """Seconds from sending an exceeding hourly packet to its alarm on the event stream."""
    seen: dict[str, float] = {}
    stream = requests.get(f"{base}/api/alarms/events", stream=True, timeout=120,
                          headers={"Authorization": f"Bearer {key}"})

    def read() -> None:
        try:
            for line in stream.iter_lines(decode_unicode=True):
                if line.startswith("data: "):
                    seen.setdefault(json.loads(line[6:])["properties"]["mn"],
                                    time.monotonic())
        except (requests.RequestException, AttributeError, ValueError):
            return  # closed at the end

    threading.Thread(target=read, daemon=True).start()
    time.sleep(1.0)
    limits = outlets.set_index("mn")
    out = []
    water = [mn for mn, medium in devices if medium == "water"
             and limits.loc[mn, "cod_limit"] == limits.loc[mn, "cod_limit"]][:tries]
    for i, mn in enumerate(water):
        over = float(limits.loc[mn, "cod_limit"]) * 3
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        frame = frames.encode(Packet(
            st="32", cn="2061", pw="123456", mn=mn, qn=f"{hour:%Y%m%d%H%M%S}{i:03d}", flag=5,
            cp=f"DataTime={cp.format_time(hour)};w01018-Avg={over},w01018-Flag=N"))
        sent = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(frame)
            sock.recv(4096)
        while mn not in seen and time.monotonic() - sent < 30:
            time.sleep(0.01)
        out.append(seen.get(mn, float("inf")) - sent)
        time.sleep(0.5)
    stream.close()
    return out


def stored_readings(data: Path) -> int:
    with sqlite3.connect(data / "store" / "live.gpkg") as conn:
        return conn.execute("SELECT COUNT(*) FROM outlet_readings WHERE interval = 'minute'"
                            ).fetchone()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, default=3000)
    ap.add_argument("--rate", type=float, default=50.0, help="packets/s in all (steady)")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--burst", type=float, default=10.0, help="burst rate as × steady")
    ap.add_argument("--burst-seconds", type=float, default=10.0)
    ap.add_argument("--alarms", type=int, default=10, help="alarm latency samples")
    args = ap.parse_args()
    source = get_settings()
    tmp = Path(tempfile.mkdtemp(prefix="onemap-bench-hj212-"))
    try:
        data = tmp / "data"
        devices = prepare(data, source, args.devices)
        outlets = gpd.read_file(data / catalog.get("outlets", Settings(data_dir=data)).path,
                                engine="pyogrio")
        rows: list[tuple[str, dict]] = []
        base_time = datetime(2026, 1, 1, tzinfo=UTC)
        port = free_port()
        bare = subprocess.Popen([sys.executable, "-c", BARE, str(port)], stdout=subprocess.PIPE,
                                text=True)
        assert bare.stdout.readline().strip() == "ready"
        rows.append(("bare, steady", phase(port, devices, args.rate, args.seconds, base_time)))
        rows.append(("bare, burst", phase(port, devices, args.rate * args.burst,
                                          args.burst_seconds, base_time)))
        bare.terminate()
        bare.wait()
        settings = Settings(data_dir=data)
        accounts.add(settings, "bench", roles=("admin",))
        _, key = accounts.create_key(settings, "bench", "bench")
        with run_receiver(data) as hport, run_server(data) as base:
            rows.append(("onemap hj212, steady",
                         phase(hport, devices, args.rate, args.seconds, base_time)))
            rows.append(("onemap hj212, burst",
                         phase(hport, devices, args.rate * args.burst, args.burst_seconds,
                               base_time + timedelta(days=30))))
            acked = sum(r["acked"] for name, r in rows if name.startswith("onemap"))
            stored = stored_readings(data)
            holder: dict[str, list[float]] = {}
            bg = threading.Thread(target=lambda: holder.setdefault("load", [phase(
                hport, devices, args.rate, max(args.seconds, args.alarms * 1.5 + 5),
                base_time + timedelta(days=60))["rate"]]))
            bg.start()
            latency = alarm_latency(base, hport, key, devices, outlets, args.alarms)
            bg.join()
        print(f"\nHJ 212 receiver: {args.devices} devices, minute data (6 pollutants a packet), "
              f"steady {args.rate:g}/s, burst ×{args.burst:g}")
        print(f"{'phase':24} {'connected':>9} {'sent':>7} {'acked':>7} {'lost':>5} "
              f"{'acked/s':>8} {'p50 ms':>7} {'p99 ms':>7}")
        for name, r in rows:
            print(f"{name:24} {r['connected']:9d} {r['sent']:7d} {r['acked']:7d} {r['lost']:5d} "
                  f"{r['rate']:8.1f} {r['p50_ms']:7.1f} {r['p99_ms']:7.1f}")
        for kind in ("steady", "burst"):
            ours = next(r for n, r in rows if n == f"onemap hj212, {kind}")
            ref = next(r for n, r in rows if n == f"bare, {kind}")
            print(f"ratio onemap/bare, {kind}: acked/s {ours['rate'] / ref['rate']:.3f}, "
                  f"p50 latency {ours['p50_ms'] / ref['p50_ms']:.2f}×")
        expected = acked * POLLUTANTS_PER_PACKET  # more may be stored: answers timed out
        print(f"loss: {acked} packets acknowledged, {stored} minute readings stored "
              f"(at least {expected} expected) → "
              f"{'no acknowledged packet lost' if stored >= expected else 'LOSS'}")
        finite = [x for x in latency if x != float("inf")]
        if finite:
            print(f"packet → alarm on the event stream, under the steady load: median "
                  f"{statistics.median(finite) * 1000:.0f} ms, max {max(finite) * 1000:.0f} ms "
                  f"({len(finite)}/{len(latency)} arrived)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
