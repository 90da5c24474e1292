"""HJ 212 frames: ``##`` + 4-digit length + data segment + CRC16 + CRLF, and their fields.

The data segment is ``QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;[PNUM=…;PNO=…;]CP=&&…&&`` (HJ 212-2017
§6.3, Table 3). The length counts the data segment's bytes; the CRC is the standard's
Appendix A routine over the same bytes (``crc = (crc >> 8) ^ byte`` then eight shifts with
0xA001 — *not* CRC-16/MODBUS, which XORs the byte into the low end), written as four hex
digits, high byte first. The Flag byte is ``V5..V0`` (the protocol version: 1 for 2017, 2 for
2025) then bit 1 "packet numbers present" and bit 0 "answer required".

Everything here is pure (bytes in, values out) so that the receiver, the simulator and the
tests share one reading of the standard. A frame that cannot be read raises
:class:`FrameError` naming what is wrong and the QnRtn code of the standard's Table 7 that
matches it (the protocol has no negative acknowledgement for uploads: the receiver logs and
drops such a frame and the device retries).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

#: Longest data segment the standard allows (Table 2: 0 ≤ n ≤ 1024).
MAX_SEGMENT = 1024
#: Longest data segment accepted from a device: HJ 212-2025's encrypted CP is written as
#: ``{0xE4,…}`` text, about four times the plain length, and its length field keeps the plain
#: length (the standard's own examples): the receiver frames on the CRLF instead.
MAX_WIRE_SEGMENT = 8 * MAX_SEGMENT
#: QnRtn (HJ 212-2017 Table 7): why a request is not executed.
QN_READY, QN_REFUSED, QN_PW, QN_MN, QN_ST, QN_FLAG, QN_QN, QN_CN, QN_CRC, QN_UNKNOWN = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 100)
#: Flag bits.
FLAG_ANSWER = 0b01
FLAG_SPLIT = 0b10
#: ST of the system's own answers (9011–9014).
ST_SYSTEM = "91"
_HEADER_KEYS = ("QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO")
_QN = re.compile(r"^\d{17}$")
_DIGITS = re.compile(r"^\d{1,4}$")
_MN = re.compile(r"^[0-9A-Za-z_-]{1,24}$")


class FrameError(ValueError):
    """A frame that cannot be used: ``reason`` in words, ``qn_rtn`` the standard's code."""

    def __init__(self, reason: str, qn_rtn: int = QN_UNKNOWN, packet: Packet | None = None):
        super().__init__(reason)
        self.reason, self.qn_rtn, self.packet = reason, qn_rtn, packet


def _rounds(value: int) -> int:
    """Appendix A's eight shift rounds on ``value``."""
    for _ in range(8):
        value = (value >> 1) ^ (0xA001 if value & 1 else 0)
    return value


#: The eight rounds of every low byte: the rounds are linear (over GF(2)) and the high byte
#: only shifts down, so ``rounds(x) == (x >> 8) ^ _TABLE[x & 0xFF]`` — one lookup per byte
#: instead of eight shifts (the receiver checks every frame).
_TABLE = tuple(_rounds(low) for low in range(256))


def crc16(data: bytes) -> int:
    """HJ 212 Appendix A CRC of ``data``: from 0xFFFF, each byte XORed into the *high* end
    (``crc = (crc >> 8) ^ byte``), then eight rounds with the reflected polynomial 0xA001."""
    crc = 0xFFFF
    table = _TABLE
    for byte in data:
        x = (crc >> 8) ^ byte
        crc = (x >> 8) ^ table[x & 0xFF]
    return crc


def _crc16_by_the_text(data: bytes) -> int:
    """Appendix A's routine as written, bit by bit (the tests compare the two)."""
    crc = 0xFFFF
    for byte in data:
        crc = _rounds((crc >> 8) ^ byte)
    return crc


@dataclass(frozen=True)
class Packet:
    """One data segment's fields; ``cp`` is the text between ``CP=&&`` and ``&&``."""

    st: str
    cn: str
    pw: str
    mn: str
    cp: str = ""
    qn: str | None = None
    #: None: a HJ/T 212-2005 frame, which has no Flag (nor QN).
    flag: int | None = 4
    pnum: int | None = None
    pno: int | None = None
    #: Header fields beyond the 2017 set, in order (HJ 212-2025's ``RF=1`` for back-filled data).
    extra: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def version(self) -> int:
        """1: HJ 212-2017, 2: HJ 212-2025, 0: HJ/T 212-2005 (no Flag)."""
        return (self.flag or 0) >> 2

    @property
    def wants_answer(self) -> bool:
        return bool((self.flag or 0) & FLAG_ANSWER)

    @property
    def split(self) -> bool:
        return bool((self.flag or 0) & FLAG_SPLIT)

    def segment(self) -> str:
        """The data segment as sent."""
        parts = [f"QN={self.qn}"] if self.qn is not None else []
        parts += [f"ST={self.st}", f"CN={self.cn}", f"PW={self.pw}", f"MN={self.mn}"]
        parts += [f"Flag={self.flag}"] if self.flag is not None else []
        if self.pnum is not None and self.pno is not None:
            parts += [f"PNUM={self.pnum}", f"PNO={self.pno}"]
        parts += [f"{k}={v}" for k, v in self.extra]
        return ";".join(parts) + f";CP=&&{self.cp}&&"

    def answer(self, cn: str, cp: str = "") -> Packet:
        """The receiver's answer to this packet (9014 data, 9013 notice, 9011 request): the
        same QN, PW and MN, ST 91, no answer asked, in the sender's protocol version."""
        return Packet(st=ST_SYSTEM, cn=cn, pw=self.pw, mn=self.mn, cp=cp, qn=self.qn,
                      flag=(self.version << 2) if self.version else 4)

    def with_flag(self, flag: int) -> Packet:
        return replace(self, flag=flag)


def encode(packet: Packet) -> bytes:
    """The whole frame of ``packet``: ``##``, length, segment, CRC, CRLF."""
    data = packet.segment().encode("utf-8")
    if len(data) > 9999:
        raise ValueError(f"data segment of {len(data)} bytes cannot be framed (max 9999)")
    return b"##%04d%s%04X\r\n" % (len(data), data, crc16(data))


def check(frame: bytes) -> bytes:
    """The data segment of a complete frame (with or without its CRLF), after checking the
    start, the length field and the CRC; :class:`FrameError` otherwise."""
    body = frame[:-2] if frame.endswith(b"\r\n") else frame
    if not body.startswith(b"##"):
        raise FrameError("a frame starts with '##'")
    if len(body) < 2 + 4 + 4:
        raise FrameError(f"frame of {len(frame)} bytes is too short")
    length, segment, crc_text = body[2:6], body[6:-4], body[-4:]
    if not length.isdigit():
        raise FrameError(f"length field {length!r} is not four digits")
    try:
        sent = int(crc_text.decode("ascii"), 16)
    except (UnicodeDecodeError, ValueError):
        raise FrameError(f"CRC {crc_text!r} is not four hex digits", QN_CRC) from None
    if len(segment) > MAX_WIRE_SEGMENT:
        raise FrameError(f"data segment of {len(segment)} bytes is over the limit")
    if crc16(segment) != sent:
        raise FrameError(f"CRC {crc_text.decode()} does not match the data "
                         f"(computed {crc16(segment):04X})", QN_CRC)
    if int(length) != len(segment) and b"{0x" not in segment:
        # HJ 212-2025's encrypted CP keeps the plain length (its own examples): skip that case
        raise FrameError(f"length field says {int(length)} bytes, the data segment has "
                         f"{len(segment)}")
    return segment


def parse_segment(segment: bytes) -> Packet:
    """The fields of a checked data segment; :class:`FrameError` names a missing or bad one."""
    try:
        text = segment.decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError("data segment is not UTF-8 text") from None
    head, sep, rest = text.partition("CP=&&")
    if not sep or not rest.endswith("&&"):
        raise FrameError("no CP=&&…&& data area")
    fields: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    for item in head.rstrip(";, ").split(";"):
        key, eq, value = item.strip().partition("=")
        if not key:
            continue
        if not eq:
            raise FrameError(f"header item {item!r} has no '='")
        if key in fields or any(k == key for k, _ in extra):
            raise FrameError(f"header field {key} twice")
        if key in _HEADER_KEYS:
            fields[key] = value
        else:
            extra.append((key, value))
    missing = [k for k in ("ST", "CN", "PW", "MN") if k not in fields]
    if missing:
        raise FrameError(f"missing header field(s): {', '.join(missing)}",
                         QN_ST if "ST" in missing else QN_CN if "CN" in missing else
                         QN_PW if "PW" in missing else QN_MN)
    return _packet(fields, extra, rest[:-2])


def _packet(fields: dict[str, str], extra: list[tuple[str, str]], cp: str) -> Packet:
    qn = fields.get("QN")
    if qn is not None and not _QN.match(qn):
        raise FrameError(f"QN {qn!r} is not YYYYMMDDhhmmsszzz", QN_QN)
    if not _DIGITS.match(fields["ST"]):
        raise FrameError(f"ST {fields['ST']!r} is not a system code", QN_ST)
    if not _DIGITS.match(fields["CN"]):
        raise FrameError(f"CN {fields['CN']!r} is not a command code", QN_CN)
    if not _MN.match(fields["MN"]):
        raise FrameError(f"MN {fields['MN']!r} is not a device code", QN_MN)
    flag_text = fields.get("Flag")
    if flag_text is not None and (not flag_text.isdigit() or int(flag_text) > 255):
        raise FrameError(f"Flag {flag_text!r} is not a byte", QN_FLAG)
    flag = int(flag_text) if flag_text is not None else None
    pnum = pno = None
    if (flag or 0) & FLAG_SPLIT:
        try:
            pnum, pno = int(fields["PNUM"]), int(fields["PNO"])
        except (KeyError, ValueError):
            raise FrameError("Flag says split but PNUM/PNO are missing or not numbers",
                             QN_FLAG) from None
        if not 1 <= pno <= pnum:
            raise FrameError(f"packet {pno} of {pnum} is out of range", QN_FLAG)
    return Packet(st=fields["ST"], cn=fields["CN"], pw=fields["PW"], mn=fields["MN"], cp=cp,
                  qn=qn, flag=flag, pnum=pnum, pno=pno, extra=tuple(extra))


def decode(frame: bytes) -> Packet:
    """A whole frame read: checked, then its fields parsed."""
    return parse_segment(check(frame))


class FrameReader:
    """Cuts a TCP byte stream into frames: everything from ``##`` to the next CRLF.

    Bytes before a ``##`` are noise (skipped and counted); a frame that grows past the limit
    without a CRLF is dropped up to the next ``##``, so one bad device never makes the
    receiver hold more than one frame's worth of its bytes."""

    def __init__(self, limit: int = MAX_WIRE_SEGMENT + 16) -> None:
        self.buffer = bytearray()
        self.limit = limit
        self.skipped = 0

    def feed(self, data: bytes) -> list[bytes]:
        """The complete frames ``data`` finishes (each with its CRLF)."""
        self.buffer += data
        out = []
        while True:
            start = self.buffer.find(b"##")
            if start < 0:
                keep = 1 if self.buffer.endswith(b"#") else 0
                self.skipped += len(self.buffer) - keep
                del self.buffer[:len(self.buffer) - keep]
                return out
            if start:
                self.skipped += start
                del self.buffer[:start]
            end = self.buffer.find(b"\r\n")
            if end < 0:
                if len(self.buffer) > self.limit:
                    nxt = self.buffer.find(b"##", 2)
                    cut = nxt if nxt > 0 else len(self.buffer)
                    self.skipped += cut
                    del self.buffer[:cut]
                    continue
                return out
            frame = bytes(self.buffer[:end + 2])
            del self.buffer[:end + 2]
            nested = frame.rfind(b"##", 2)
            if nested > 0:  # a frame cut off by a new one: keep the new one only
                self.skipped += nested
                frame = frame[nested:]
            out.append(frame)
