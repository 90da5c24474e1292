"""``onemap simulate hj212``: the sample's key-managed outlets as HJ 212 field devices over
real TCP, for the demo and the load bench.

One asyncio task and one TCP connection per device, all on one event loop (thousands of
devices cost a few KiB each). A device behaves like a data logger: it back-fills the last
hours of hourly data when it starts, then every interval (each device at its own phase, with
jitter, so they do not fire together) sends its real-time data (CN 2011), its facilities'
running state (2021) and the current hour's running hourly data (2061, DataTime the hour, so
the receiver upserts it), each with Flag 5 (HJ 212-2017, answer asked). It waits for each
9014: none within the answer timeout → counted unanswered and sent again later (at most
``retries`` times); a 9011 refusing a frame for its CRC → sent again at once; a dropped
connection → reconnect with a doubling backoff. Framing and CRC are
:mod:`onemap.live.hj212.frames`' — the simulator only garbles a CRC on purpose (bad_crc).
What each device says is :mod:`onemap.live.sim_device`'s, one exchange on the wire
:mod:`onemap.live.sim_link`'s. Readings fall on a grid (start + n × interval); those made while
the receiver was unreachable are sent on reconnection with their own times (补传), up to
``MAX_BACKLOG`` packets a device.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import resource
import signal
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd

from onemap.config import Settings
from onemap.live.hj212 import codes, frames
from onemap.live.hj212.cp import format_time
from onemap.live.hj212.frames import Packet
from onemap.live.sim_device import (
    Device,
    Hour,
    Moment,
    assign,
    backfill_cp,
    corrupt,
    device_of,
    parts,
    realtime_cps,
    silent,
    status_cp,
    values_at,
)
from onemap.live.sim_link import FLAG, Link, Message

LOGGER = logging.getLogger(__name__)
#: Outlet columns a device is made of.
COLUMNS = ["outlet_code", "medium", "mn", "so2_limit", "nox_limit", "pm_limit", "cod_limit",
           "nh3n_limit", "tp_limit", "tn_limit", "ph_min", "ph_max"]
#: Messages a device keeps for resending (two hours of readings a minute, three packets each).
MAX_BACKLOG = 360
#: Counters of the summary, in its order.
COUNTERS = ("packets", "frames", "answered", "unanswered", "refused", "resent", "lost",
            "reconnects", "bad_crc", "split")


@dataclass(frozen=True)
class Options:
    host: str
    port: int
    password: str
    interval: float = 60.0
    backfill_hours: int = 6
    #: Seconds to wait for an answer (HJ 212-2017's default time-out is 5 s, 3 retries).
    answer_timeout: float = 5.0
    retries: int = 3
    #: Longest pause between reconnections.
    max_backoff: float = 60.0


@dataclass
class Stats:
    """Counters per group (a scenario's name, or "normal") and the devices in each."""

    devices: Counter = field(default_factory=Counter)
    groups: dict[str, Counter] = field(default_factory=dict)
    #: Devices connected now.
    connected: int = 0

    def of(self, dev: Device) -> Counter:
        return self.groups.setdefault(dev.scenario or "normal", Counter())

    def total(self) -> Counter:
        return sum(self.groups.values(), Counter())

    def summary(self) -> str:
        """A table: a row per group and the total."""
        head = f"{'group':14} {'devices':>8} " + " ".join(f"{c:>10}" for c in COUNTERS)
        rows = [head]
        for name in sorted(self.devices):
            counts = self.groups.get(name, Counter())
            rows.append(f"{name:14} {self.devices[name]:>8} "
                        + " ".join(f"{counts[c]:>10}" for c in COUNTERS))
        total = self.total()
        rows.append(f"{'total':14} {sum(self.devices.values()):>8} "
                    + " ".join(f"{total[c]:>10}" for c in COUNTERS))
        return "\n".join(rows)


def load_outlets(settings: Settings) -> pd.DataFrame:
    """The outlets with a device (non-empty MN) from the store, in a stable order that mixes
    places and media (by a hash of MN): ``--devices N`` takes a spread, not one county."""
    import pyogrio

    from onemap import catalog

    try:
        entry = catalog.get("outlets", settings)
    except catalog.UnknownDataset:
        raise ValueError("the catalogue has no 'outlets' layer: run 'onemap sample', or "
                         "import the outlets with 'onemap import FILE --family outlets'") from None
    rows = pyogrio.read_dataframe(entry.file(settings), columns=COLUMNS, read_geometry=False)
    rows = rows[rows["mn"].notna() & (rows["mn"].astype(str).str.strip() != "")]
    if rows.empty:
        raise ValueError("the outlets layer has no outlet with a device code (mn)")
    order = rows["mn"].map(lambda mn: hashlib.sha256(mn.encode()).hexdigest())
    return rows.assign(_order=order).sort_values("_order").drop(columns="_order")


def devices_of(rows: pd.DataFrame, seed: int, share: float) -> list[Device]:
    """A device per outlet row, a ``share`` of them cast in scenarios by ``seed``."""
    cast = assign(list(rows["mn"]), seed, share)
    return [device_of(row, seed, cast.get(row["mn"])) for row in rows.to_dict("records")]


class Runner:
    """One device's life: connect, back-fill, report every interval, reconnect."""

    def __init__(self, dev: Device, opts: Options, stats: Stats, stop: asyncio.Event,
                 start: datetime, ramp: float = 5.0) -> None:
        self.dev, self.opts, self.stop, self.stats = dev, opts, stop, stats
        self.counts = stats.of(dev)
        self.start = start.replace(minute=0, second=0, microsecond=0)
        self.rng = dev.rng("live")
        self.n = 0
        self.hour: Hour | None = None
        self.last_qn = 0
        self.backlog: deque[Message] = deque(self._backfill())
        jitter = random.Random(f"{dev.seed}:{dev.mn}:phase")
        self.phase = jitter.uniform(0, opts.interval)
        self.jitter = jitter
        self.ramp = ramp
        self.t0 = 0.0
        self.wall0 = start

    def _qn(self) -> str:
        """A QN (a millisecond timestamp) never used before by this device."""
        now = int(datetime.now(UTC).timestamp() * 1000)
        self.last_qn = max(now, self.last_qn + 1)
        return format_time(datetime.fromtimestamp(self.last_qn / 1000, UTC), millis=True)

    def _packet(self, cn: str, cp: str, *, qn: str | None = None, pnum: int | None = None,
                pno: int | None = None) -> Packet:
        split = frames.FLAG_SPLIT if pnum is not None else 0
        return Packet(st=self.dev.st, cn=cn, pw=self.opts.password, mn=self.dev.mn, cp=cp,
                      qn=qn or self._qn(), flag=FLAG | split, pnum=pnum, pno=pno)

    def _backfill(self) -> list[Message]:
        hours = [self.start - timedelta(hours=h) for h in range(self.opts.backfill_hours, 0, -1)]
        return [Message("backfill", [self._packet(codes.CN_HOURLY, backfill_cp(
            self.dev, hour, self.start))]) for hour in hours]

    def _messages(self, now: datetime) -> list[Message]:
        """The packets of live reading ``self.n``."""
        dev, n = self.dev, self.n
        hour = now.replace(minute=0, second=0, microsecond=0)
        values = values_at(dev, Moment(n, hour, self.start), self.rng)
        if self.hour is None or self.hour.start != hour:
            self.hour = Hour(hour)
        self.hour.add(values)
        cps = realtime_cps(now, values, parts(dev, n), millis=self.opts.interval < 1)
        if len(cps) == 1:
            realtime = [self._packet(codes.CN_REALTIME, cps[0])]
        else:  # one interaction, one QN: each part a whole frame of its own
            qn = self._qn()
            realtime = [self._packet(codes.CN_REALTIME, cp, qn=qn, pnum=len(cps), pno=i + 1)
                        for i, cp in enumerate(cps)]
        return [Message("realtime", realtime, garble=corrupt(dev, n)),
                Message("status", [self._packet(codes.CN_STATUS, status_cp(now))]),
                Message("hourly", [self._packet(codes.CN_HOURLY, self.hour.cp(dev.medium))])]

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), max(0.0, seconds))

    async def _deliver(self, link: Link, msg: Message) -> bool:
        """Send ``msg`` until answered, refused or timed out; whether to keep it for later.
        A connection error propagates and the message stays where it is, for the next
        connection."""
        while True:
            outcome = await link.exchange(msg)
            msg.tries += 1
            if outcome == "answered":
                self.counts["answered"] += 1
                return False
            if outcome == "timeout":
                self.counts["unanswered"] += 1
                if msg.tries <= self.opts.retries:
                    return True  # sent again after the next reading
                self.counts["lost"] += 1
                return False
            self.counts["refused"] += 1
            qn_rtn = outcome.partition(":")[2]
            if qn_rtn != str(frames.QN_CRC) or msg.tries > self.opts.retries:
                LOGGER.warning("MN=%s: %s packet refused (QnRtn %s), given up", self.dev.mn,
                               msg.kind, qn_rtn)
                self.counts["lost"] += 1
                return False
            # refused for its CRC: sent again at once, whole this time

    async def _drain(self, link: Link) -> None:
        """Send what waits, oldest first (back-fill, readings not yet answered)."""
        for _ in range(len(self.backlog)):
            if self.stop.is_set():
                return
            keep = await self._deliver(link, self.backlog[0])
            msg = self.backlog.popleft()
            if keep:
                self.backlog.append(msg)

    def _keep(self, messages: list[Message]) -> None:
        """Queue ``messages``; a logger's memory is finite: beyond MAX_BACKLOG the oldest go."""
        self.backlog.extend(messages)
        while len(self.backlog) > MAX_BACKLOG:
            self.backlog.popleft()
            self.counts["lost"] += 1

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.t0 = loop.time() + self.phase
        self.wall0 = datetime.now(UTC) + timedelta(seconds=self.phase)
        backoff = first = min(1.0, self.opts.interval)
        connected_once = False
        await self._pause(self.jitter.uniform(0, self.ramp))
        while not self.stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(self.opts.host, self.opts.port)
            except OSError as exc:
                LOGGER.debug("MN=%s: cannot connect (%s)", self.dev.mn, exc)
                await self._pause(backoff)
                backoff = min(backoff * 2, self.opts.max_backoff)
                continue
            self.counts["reconnects"] += connected_once
            connected_once = True
            self.stats.connected += 1
            dropped = False
            try:
                await self._session(Link(self.dev, self.opts.answer_timeout, self.counts, reader,
                                        writer))
                backoff = first
            except (ConnectionError, OSError, asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError) as exc:
                LOGGER.info("MN=%s: connection lost (%s)", self.dev.mn, exc)
                dropped = True
            finally:
                self.stats.connected -= 1
                writer.close()
                with contextlib.suppress(ConnectionError, OSError):
                    await writer.wait_closed()
            if dropped:
                await self._pause(backoff)
                backoff = min(backoff * 2, self.opts.max_backoff)

    async def _session(self, link: Link) -> None:
        """Report until stopped; returns when the device goes silent (dropout), after it.
        Readings fall on a grid (``t0`` + n × interval); the ones made while disconnected
        are sent on reconnection with their own times (补传)."""
        loop = asyncio.get_running_loop()
        interval = self.opts.interval
        while not self.stop.is_set():
            await self._drain(link)
            due = self.t0 + self.n * interval
            await self._pause(due - loop.time() + self.jitter.uniform(0, 0.1) * interval)
            if self.stop.is_set():
                return
            if silent(self.dev, self.n):
                while silent(self.dev, self.n):
                    self.n += 1  # the device is off: these readings never exist
                await self._pause(self.t0 + self.n * interval - loop.time())
                return
            while self.t0 + self.n * interval <= loop.time() and not silent(self.dev, self.n):
                when = self.wall0 + timedelta(seconds=self.n * interval)
                self._keep(self._messages(when))
                self.n += 1


async def _report(stats: Stats, opts: Options, every: float) -> None:
    """A line every ``every`` seconds: how many devices are connected, what got through."""
    while True:
        await asyncio.sleep(every)
        total, devices = stats.total(), sum(stats.devices.values())
        LOGGER.info("%d of %d devices connected to %s:%d; packets %d, answered %d, "
                    "unanswered %d, reconnects %d", stats.connected, devices, opts.host,
                    opts.port, total["packets"], total["answered"], total["unanswered"],
                    total["reconnects"])
        if not stats.connected and devices:
            LOGGER.warning("no device could connect: is the receiver ('onemap hj212') "
                           "listening on %s:%d?", opts.host, opts.port)


async def simulate(devices: list[Device], opts: Options, *, duration: float | None = None,
                   stop: asyncio.Event | None = None, handle_signals: bool = False,
                   report_every: float | None = None) -> Stats:
    """Run ``devices`` until ``duration`` seconds have passed or ``stop`` is set (Ctrl-C
    sets it when ``handle_signals``), logging progress every ``report_every`` s; the
    counters."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
    _enough_files(len(devices))
    stats = Stats()
    start = datetime.now(UTC)
    for dev in devices:
        stats.devices[dev.scenario or "normal"] += 1
        stats.of(dev)
        if dev.scenario:
            LOGGER.info("MN=%s outlet %s plays %s%s", dev.mn, dev.outlet_code, dev.scenario,
                        f" ({dev.target})" if dev.target else "")
    # devices come up over a few seconds, a fleet of thousands over up to a minute, so that
    # their back-fill does not land on the receiver at once
    ramp = min(opts.interval, max(5.0, len(devices) / 100))
    tasks = [asyncio.create_task(Runner(dev, opts, stats, stop, start, ramp).run(),
                                 name=dev.mn) for dev in devices]
    for task in tasks:
        task.add_done_callback(_failed)
    reporter = asyncio.create_task(_report(stats, opts, report_every)) if report_every else None
    try:
        await asyncio.wait_for(stop.wait(), duration)
    except TimeoutError:
        stop.set()
    finally:
        # an exchange under way ends with its answer (or its time-out), then the device stops
        if tasks:
            await asyncio.wait(tasks, timeout=opts.answer_timeout + 1)
        everything = tasks + ([reporter] if reporter else [])
        for task in everything:
            task.cancel()
        await asyncio.gather(*everything, return_exceptions=True)
    return stats


def _failed(task: asyncio.Task) -> None:
    """Say so when a device stops for an error of ours (not a network one: those it survives)."""
    if not task.cancelled() and task.exception() is not None:
        LOGGER.error("device MN=%s stopped: %r", task.get_name(), task.exception(),
                     exc_info=task.exception())


def _enough_files(devices: int) -> None:
    """Raise the open-file limit to the hard one: a socket per device."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < devices + 64:
        want = hard if hard == resource.RLIM_INFINITY else min(hard, devices + 1024)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < devices + 64:
            raise ValueError(f"{devices} devices need {devices + 64} open files; the limit is "
                             f"{hard} (raise it with ulimit -n)")
