"""The receiver over real TCP on 127.0.0.1: answers per the protocol, malformed frames refused
with their QnRtn and never a data answer, one stalled or hostile device holding up nobody,
and a device that hangs up right after sending not cancelling the store of its packet.

The handler here keeps packets in memory: what is tested is the server's rhythm; the store
of readings has its own tests."""

from __future__ import annotations

import asyncio

import pytest

from onemap.live.hj212 import cp, frames
from onemap.live.hj212.frames import Packet
from onemap.live.hj212.server import MAX_SPLIT_PARTS, MAX_SPLIT_PENDING, Parts, Receiver
from tests.loops import run

MN = "010000A8900016F000169DC0"
OTHER = "010000A8900016F000169DC1"


class Keeper:
    """Accepts MN (PW 123456), keeps what it stores after a short commit."""

    def __init__(self, commit_s: float = 0.0) -> None:
        self.kept: list[Packet] = []
        self.commit_s = commit_s

    async def check(self, packet: Packet) -> int | None:
        if packet.mn not in (MN, OTHER):
            return frames.QN_MN
        return frames.QN_PW if packet.pw != "123456" else None

    async def store(self, packet: Packet) -> None:
        await asyncio.sleep(self.commit_s)
        self.kept.append(packet)


def upload(qn: str, *, mn: str = MN, flag: int = 5, pw: str = "123456", **kw: object) -> Packet:
    return Packet(st="32", cn="2061", pw=pw, mn=mn, qn=qn, flag=flag,
                  cp="DataTime=20260101080000;w01018-Avg=40.1,w01018-Flag=N", **kw)


async def _answers(reader: asyncio.StreamReader, n: int) -> list[Packet]:
    out = []
    for _ in range(n):
        line = await asyncio.wait_for(reader.readuntil(b"\r\n"), 10)
        out.append(frames.decode(line))
    return out


_run = run  # the name the live tests use


def test_uploads_notices_and_refusals() -> None:
    async def main() -> None:
        keeper = Keeper()
        rx = Receiver(keeper, "127.0.0.1", idle_s=30)
        port = await rx.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            good = upload("20260101080000001")
            split = [upload("20260101080000002", flag=7, pnum=2, pno=i) for i in (1, 2)]
            quiet = upload("20260101080000004", flag=4)  # no answer asked
            beat = Packet(st="32", cn="9015", pw="123456", mn=MN, qn="20260101080000005",
                          flag=9)
            bad_crc = frames.encode(upload("20260101080000006"))[:-6] + b"0000\r\n"
            wrong_pw = upload("20260101080000007", pw="000000")
            stranger = upload("20260101080000008", mn="FFFF00000000000000000000")
            garbage = b"##9999 not a frame at all\r\n"
            stream = b"".join([frames.encode(good), *map(frames.encode, split),
                               frames.encode(quiet), frames.encode(beat), bad_crc,
                               frames.encode(wrong_pw), frames.encode(stranger), garbage])
            for i in range(0, len(stream), 7):  # as a slow modem would
                writer.write(stream[i:i + 7])
                await writer.drain()
            got = await _answers(reader, 7)
            assert [(a.cn, a.qn, a.cp) for a in got] == [
                ("9014", good.qn, ""), ("9014", split[0].qn, ""), ("9014", split[1].qn, ""),
                ("9013", beat.qn, ""), ("9011", "20260101080000006", "QnRtn=9"),
                ("9011", wrong_pw.qn, "QnRtn=3"), ("9011", stranger.qn, "QnRtn=4")]
            assert all(a.st == "91" and a.mn in (MN, stranger.mn) for a in got)
            assert got[3].flag == 8  # answered in the 2025 heartbeat's own version
            assert [p.qn for p in keeper.kept] == [good.qn, split[0].qn, quiet.qn]
            assert rx.stats.malformed == 2 and rx.stats.refused == 2
            writer.close()
        finally:
            await rx.stop()

    _run(main())


def test_a_stalled_or_flooding_device_holds_up_nobody() -> None:
    async def main() -> None:
        rx = Receiver(Keeper(), "127.0.0.1", idle_s=30)
        port = await rx.start()
        try:
            _, stalled = await asyncio.open_connection("127.0.0.1", port)
            stalled.write(frames.encode(upload("20260101080000001"))[:40])  # and nothing more
            _, flood = await asyncio.open_connection("127.0.0.1", port)
            flood.write(b"##" + b"7" * 200_000)  # never a CRLF
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for i in range(20):
                writer.write(frames.encode(upload(f"202601010800001{i:02d}", mn=OTHER)))
            await writer.drain()
            got = await _answers(reader, 20)
            assert [a.qn for a in got] == [f"202601010800001{i:02d}" for i in range(20)]
            for w in (stalled, flood, writer):
                w.close()
        finally:
            await rx.stop()

    _run(main())


def test_a_device_hanging_up_does_not_cancel_its_store() -> None:
    async def main() -> None:
        keeper = Keeper(commit_s=0.3)
        rx = Receiver(keeper, "127.0.0.1", idle_s=30)
        port = await rx.start()
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(frames.encode(upload("20260101080000001")))
            await writer.drain()
            writer.close()  # gone before the commit ends
            for _ in range(100):
                if keeper.kept:
                    break
                await asyncio.sleep(0.05)
            assert [p.qn for p in keeper.kept] == ["20260101080000001"]
        finally:
            await rx.stop()

    _run(main())


def test_idle_connections_are_closed() -> None:
    async def main() -> None:
        rx = Receiver(Keeper(), "127.0.0.1", idle_s=0.3)
        port = await rx.start()
        try:
            reader, _ = await asyncio.open_connection("127.0.0.1", port)
            assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the server
        finally:
            await rx.stop()

    _run(main())


@pytest.mark.parametrize("limit", [1])
def test_connections_beyond_the_limit_are_closed(limit: int) -> None:
    async def main() -> None:
        rx = Receiver(Keeper(), "127.0.0.1", idle_s=30, max_connections=limit)
        port = await rx.start()
        try:
            first_r, first_w = await asyncio.open_connection("127.0.0.1", port)
            first_w.write(frames.encode(upload("20260101080000001")))
            assert len(await _answers(first_r, 1)) == 1  # the first is being served
            second_r, _ = await asyncio.open_connection("127.0.0.1", port)
            assert await asyncio.wait_for(second_r.read(), 10) == b""
            first_w.close()
        finally:
            await rx.stop()

    _run(main())


def _part(qn: str, pno: int, pnum: int, cp: str, *, mn: str = MN) -> Packet:
    return Packet(st="32", cn="2011", pw="123456", mn=mn, qn=qn, flag=7, pnum=pnum, pno=pno,
                  cp=f"DataTime=20260101080000;{cp}")


def test_split_packets_are_stored_whole_then_every_part_answered() -> None:
    async def main() -> None:
        keeper = Keeper()
        rx = Receiver(keeper, "127.0.0.1", idle_s=30)
        port = await rx.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            qn, other = "20260101080000001", "20260101080000002"
            a = [_part(qn, i + 1, 3, f"w0101{i}-Rtd={i}.5,w0101{i}-Flag=N") for i in range(3)]
            b = [_part(other, i + 1, 2, f"w2100{i}-Rtd=1,w2100{i}-Flag=N", mn=OTHER)
                 for i in range(2)]
            # out of order, interleaved with another device's packet, one part sent twice
            for p in (a[2], b[0], a[0], a[2], b[1], a[1]):
                writer.write(frames.encode(p))
            await writer.drain()
            got = await _answers(reader, 5)
            assert [(x.cn, x.qn, x.mn) for x in got] == [
                ("9014", other, OTHER), ("9014", other, OTHER),
                ("9014", qn, MN), ("9014", qn, MN), ("9014", qn, MN)]
            assert [(p.mn, p.qn) for p in keeper.kept] == [(OTHER, other), (MN, qn)]
            stored = keeper.kept[1]
            assert (stored.flag, stored.pnum, stored.pno, stored.split) == (5, None, None, False)
            area = cp.parse(stored.cp)
            assert area.fields == {"DataTime": "20260101080000"}
            assert {c: area.values(c)["Rtd"] for c in area.items} == {
                "w01010": 0.5, "w01011": 1.5, "w01012": 2.5}
            # a part alone is neither stored nor answered; its connection's end forgets it
            writer.write(frames.encode(_part("20260101080000003", 1, 2, "w01018-Rtd=9")))
            writer.write(frames.encode(upload("20260101080000004")))
            assert [x.qn for x in await _answers(reader, 1)] == ["20260101080000004"]
            assert [p.qn for p in keeper.kept][2:] == ["20260101080000004"]
            writer.close()
        finally:
            await rx.stop()

    _run(main())


def test_split_packets_held_per_connection_are_bounded() -> None:
    parts = Parts("test")
    for i in range(MAX_SPLIT_PENDING + 3):
        assert parts.add(_part(f"202601010800000{i:02d}", 1, 2, "w01018-Rtd=1")) == []
    assert len(parts.pending) == MAX_SPLIT_PENDING
    assert (MN, "20260101080000000") not in parts.pending  # the oldest went first
    assert parts.add(_part("20260101080000001", 1, MAX_SPLIT_PARTS + 1, "")) == []
    last = _part(f"202601010800000{MAX_SPLIT_PENDING + 2:02d}", 2, 2, "w21003-Rtd=2")
    assert [p.pno for p in parts.add(last)] == [1, 2]
