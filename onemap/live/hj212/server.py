"""The HJ 212 receiver's TCP side: one asyncio task per device connection, frames in, answers
out, nothing a device sends able to stop the server or hold up another device.

What happens to a packet is the :class:`Handler`'s business (which devices are registered,
where readings go); this module owns the protocol's rhythm:

- bytes are cut into frames (:class:`~onemap.live.hj212.frames.FrameReader`), each frame is
  checked (length, CRC) and read; a frame that fails gets a log line and no data answer, so the
  device sends it again (HJ 212 has no negative acknowledgement of uploads). When the frame's
  header could still be read and it asks for an answer, a 9011 carries the QnRtn of the
  standard's Table 7 (9 CRC, 3 PW, 4 MN, …) so the field engineer sees why;
- an accepted upload is stored first and answered after (9014 when the Flag asks): the
  handler's ``store`` runs shielded from the connection, so a device that hangs up right after
  sending (many do) does not cancel a commit half-way; the answer is written only once the
  handler says the packet is durable;
- notices (time calibration, stop, the 2025 heartbeat) are answered 9013;
- a split packet (Flag bit 1, PNUM/PNO: each sub-packet a whole frame with its own CRC, all
  with the QN of the one interaction) is put together per connection by MN and QN and stored
  once, whole, when its last part arrives; every part is then answered 9014. Parts are not
  answered on arrival, because an answer promises durability and a part held in memory is not
  durable: a device that loses its connection before the last part resends them all. At most
  ``MAX_SPLIT_PENDING`` unfinished packets of ``MAX_SPLIT_PARTS`` parts are held per
  connection (the oldest dropped beyond, logged);
- a connection idle for ``idle_s`` is closed, and at most ``max_connections`` are served at
  once (beyond that a new connection is closed at once, logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field, replace
from typing import Protocol

from onemap.live.hj212 import codes, frames
from onemap.live.hj212.frames import FrameError, FrameReader, Packet

LOGGER = logging.getLogger(__name__)
READ_SIZE = 4096
#: Unfinished split packets held per connection, and the most parts one may have.
MAX_SPLIT_PENDING = 8
MAX_SPLIT_PARTS = 64


class Handler(Protocol):
    """What the receiver does with a packet it could read."""

    async def check(self, packet: Packet) -> int | None:
        """None to accept the packet; else the QnRtn refusing it (3 PW, 4 MN, 5 ST, 8 CN)."""

    async def store(self, packet: Packet) -> None:
        """Keep an accepted upload; when this returns, it is durable (committed)."""


@dataclass
class Stats:
    """Counters for logs and the bench."""

    connections: int = 0
    open: int = 0
    frames: int = 0
    stored: int = 0
    refused: int = 0
    malformed: int = 0
    failed: int = 0
    answers: int = 0
    noise_bytes: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


class Receiver:
    """An HJ 212 TCP server around ``handler``; ``await start()``, ``await stop()``."""

    def __init__(self, handler: Handler, host: str = "0.0.0.0", port: int = 0, *,
                 idle_s: float = 600.0, max_connections: int = 10_000) -> None:
        self.handler, self.host, self.port = handler, host, port
        self.idle_s, self.max_connections = idle_s, max_connections
        self.stats = Stats()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> int:
        """Listen; returns the port (the one the system chose when ``port`` was 0)."""
        self._server = await asyncio.start_server(self._connection, self.host, self.port,
                                                  limit=READ_SIZE * 4)
        self.port = self._server.sockets[0].getsockname()[1]
        LOGGER.info("HJ 212 receiver listening on %s:%d", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        """Stop listening and close every connection (stores under way finish first)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        where = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.stats.connections += 1
        if self.stats.open >= self.max_connections:
            LOGGER.warning("HJ 212: %s refused, %d connections already open", where,
                           self.stats.open)
            writer.close()
            return
        self.stats.open += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        cutter = FrameReader()
        parts = Parts(where)
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), self.idle_s)
                except TimeoutError:
                    LOGGER.info("HJ 212: %s idle for %.0f s, closed", where, self.idle_s)
                    break
                if not data:
                    break
                for frame in cutter.feed(data):
                    for answer in await self._frame(frame, where, parts):
                        writer.write(frames.encode(answer))
                        self.stats.answers += 1
                    await writer.drain()
        except (ConnectionError, OSError) as exc:
            LOGGER.info("HJ 212: %s dropped (%s)", where, exc)
        except asyncio.CancelledError:
            pass
        finally:
            self.stats.noise_bytes += cutter.skipped
            self.stats.open -= 1
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _frame(self, frame: bytes, where: str, parts: Parts) -> list[Packet]:
        """Handle one frame; the answers to send (none, one, or every part of a split
        packet once it is whole and stored)."""
        self.stats.frames += 1
        try:
            packet = frames.decode(frame)
        except FrameError as exc:
            return self._malformed(frame, exc, where)
        refusal = await self.handler.check(packet)
        if refusal is not None:
            self._count("refused", refusal)
            LOGGER.warning("HJ 212: %s MN=%s CN=%s QN=%s refused (QnRtn %d)", where,
                           packet.mn, packet.cn, packet.qn, refusal)
            return [packet.answer(codes.CN_REQUEST_ANSWER, f"QnRtn={refusal}")] \
                if packet.wants_answer else []
        if packet.cn in codes.NOTICES:
            return [packet.answer(codes.CN_NOTICE_ANSWER)]
        if packet.cn in codes.UPLOADS:
            received = [packet]
            if packet.split:
                received = parts.add(packet)
                if not received:
                    return []  # answered with the others once the packet is whole
                packet = whole(received)
            try:  # shielded: a device hanging up does not cancel a commit half-way
                await asyncio.shield(self.handler.store(packet))
            except ValueError as exc:  # a data area that cannot be read: like a bad frame
                self._count("malformed", frames.QN_UNKNOWN)
                LOGGER.warning("HJ 212: %s MN=%s CN=%s QN=%s: %s; not stored, not answered",
                               where, packet.mn, packet.cn, packet.qn, exc)
                return []
            except Exception:  # the store failed: no answer, so the device sends it again
                self._count("failed", 0)
                LOGGER.exception("HJ 212: %s MN=%s QN=%s could not be stored", where,
                                 packet.mn, packet.qn)
                return []
            self.stats.stored += 1
            return [p.answer(codes.CN_DATA_ANSWER) for p in received if p.wants_answer]
        if packet.cn.startswith("90"):
            return []  # a device's answer to a request of ours
        self._count("refused", frames.QN_CN)
        LOGGER.warning("HJ 212: %s MN=%s sent CN=%s, which this receiver does not take",
                       where, packet.mn, packet.cn)
        return [packet.answer(codes.CN_REQUEST_ANSWER, f"QnRtn={frames.QN_CN}")] \
            if packet.wants_answer else []

    def _malformed(self, frame: bytes, exc: FrameError, where: str) -> list[Packet]:
        self._count("malformed", exc.qn_rtn)
        LOGGER.warning("HJ 212: %s sent a frame that cannot be used: %s (%r…)", where,
                       exc.reason, frame[:80])
        header = _readable_header(frame)
        if header is not None and header.wants_answer and header.qn is not None:
            return [header.answer(codes.CN_REQUEST_ANSWER, f"QnRtn={exc.qn_rtn}")]
        return []

    def _count(self, what: str, code: int) -> None:
        setattr(self.stats, what, getattr(self.stats, what) + 1)
        key = f"{what}:{code}"
        self.stats.reasons[key] = self.stats.reasons.get(key, 0) + 1


def _readable_header(frame: bytes) -> Packet | None:
    """The packet a refused frame names, when its segment can be read at all (to tell the
    device why, e.g. a CRC error); None when nothing in it can be trusted to address."""
    body = frame[:-2] if frame.endswith(b"\r\n") else frame
    try:
        return frames.parse_segment(body[6:-4])
    except FrameError:
        return None


class Parts:
    """The parts of split packets one connection has sent, by MN and QN, until each is whole."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.pending: dict[tuple[str, str | None], dict[int, Packet]] = {}

    def add(self, part: Packet) -> list[Packet]:
        """Keep ``part``; every part in PNO order once all PNUM have come, else []."""
        assert part.pnum is not None and part.pno is not None  # parse_segment checked them
        key = (part.mn, part.qn)
        if part.pnum > MAX_SPLIT_PARTS:
            LOGGER.warning("HJ 212: %s MN=%s QN=%s split in %d parts, more than %d: dropped",
                           self.where, part.mn, part.qn, part.pnum, MAX_SPLIT_PARTS)
            return []
        held = self.pending.pop(key, {})  # popped and put back: the newest at the end
        if any(p.pnum != part.pnum or p.cn != part.cn for p in held.values()):
            LOGGER.warning("HJ 212: %s MN=%s QN=%s parts disagree on PNUM or CN: the earlier "
                           "ones dropped", self.where, part.mn, part.qn)
            held = {}
        held[part.pno] = part  # a part sent again replaces the first
        if len(held) == part.pnum:
            return [held[n] for n in sorted(held)]
        self.pending[key] = held
        if len(self.pending) > MAX_SPLIT_PENDING:
            (mn, qn), dropped = next(iter(self.pending.items()))
            del self.pending[(mn, qn)]
            LOGGER.warning("HJ 212: %s MN=%s QN=%s never got all its parts (%d of %d): dropped",
                           self.where, mn, qn, len(dropped), next(iter(dropped.values())).pnum)
        return []


def whole(parts: list[Packet]) -> Packet:
    """One packet of a split packet's parts: their data areas joined in PNO order (each part
    repeats DataTime, which reads the same twice), no packet numbers, the split bit off."""
    first = parts[0]
    cp = ";".join(p.cp for p in parts if p.cp)
    return replace(first, cp=cp, flag=(first.flag or 0) & ~frames.FLAG_SPLIT, pnum=None,
                   pno=None)
