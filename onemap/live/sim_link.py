"""A simulated device's side of its TCP connection: a message (a packet, or the parts of a
split one) out, its answers in, matched by QN — HJ 212's rhythm of one interaction at a time.
Frames are :func:`onemap.live.hj212.frames.encode`'s; only bad_crc garbles a CRC, on purpose.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass

from onemap.live.hj212 import codes, frames
from onemap.live.hj212.frames import FrameError, Packet
from onemap.live.sim_device import Device

LOGGER = logging.getLogger("onemap.live.simulate")

#: HJ 212-2017, answer asked (version 1 in bits 2–7, bit 0 "answer"); bit 1 added when split.
FLAG = 1 << 2 | frames.FLAG_ANSWER


@dataclass
class Message:
    """One interaction: a packet, or the parts of a split one (one QN), and its history."""

    kind: str
    packets: list[Packet]
    garble: bool = False
    tries: int = 0


class Link:
    """A device's side of one connection: frames out, answers in."""

    def __init__(self, dev: Device, answer_timeout: float, counts: Counter,
                 reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.dev, self.answer_timeout, self.counts = dev, answer_timeout, counts
        self.reader, self.writer = reader, writer

    async def exchange(self, msg: Message) -> str:
        """Send ``msg`` and wait for its answers: "answered", "timeout", or "refused:<QnRtn>".
        Connection errors propagate (the caller reconnects)."""
        out = [frames.encode(p) for p in msg.packets]
        if msg.garble and msg.tries == 0:
            out[0] = garbled(out[0])
            self.counts["bad_crc"] += 1
        self.writer.write(b"".join(out))
        await self.writer.drain()
        self.counts["frames"] += len(out)
        self.counts["packets"] += 1
        self.counts["resent"] += msg.tries > 0
        self.counts["split"] += len(out) > 1 and msg.tries == 0
        qn, waiting = msg.packets[0].qn, len(out)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.answer_timeout
        while waiting:
            try:
                # at least a moment: an answer already received counts, even when this
                # process's own event loop is late (thousands of devices on a busy machine)
                line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"),
                                              max(deadline - loop.time(), 0.01))
            except TimeoutError:
                LOGGER.info("MN=%s: %s packet QN=%s unanswered after %g s (%d of %d answers)",
                            self.dev.mn, msg.kind, qn, self.answer_timeout,
                            len(out) - waiting, len(out))
                return "timeout"
            try:
                answer = frames.decode(line)
            except FrameError as exc:
                LOGGER.warning("MN=%s: unreadable answer (%s)", self.dev.mn, exc)
                continue
            if answer.qn != qn:
                continue  # a late answer to a packet that timed out
            if answer.cn == codes.CN_DATA_ANSWER:
                waiting -= 1
            elif answer.cn == codes.CN_REQUEST_ANSWER:
                return "refused:" + answer.cp.partition("QnRtn=")[2]
        return "answered"


def garbled(frame: bytes) -> bytes:
    """``frame`` with its CRC's four hex digits changed (bad_crc); the data stay as they are."""
    crc = int(frame[-6:-2], 16) ^ 0x5A5A
    return frame[:-6] + b"%04X\r\n" % crc
