"""HJ 212 frames against the standard's own examples and published test vectors (their
sources in docs/hj212.md): length field, CRC, Flag bits, answers, the byte
stream cut into frames, and every malformed frame refused with a reason."""

from __future__ import annotations

import pytest

from onemap.live.hj212 import cp, frames
from onemap.live.hj212.frames import FrameError, FrameReader, Packet

MN = "010000A8900016F000169DC0"
#: (data segment, length field, CRC) — from the standards and open test suites.
VECTORS = [
    # HJ 212-2017 Appendix A's example
    (f"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN={MN};Flag=5;CP=&&RtdInterval=30&&",
     101, 0x1C80),
    # HJ 212-2025 Appendix A.1 (Flag 9: version 2, answer required)
    (f"QN=20240601085857223;ST=32;CN=1011;PW=123456;MN={MN};Flag=9;CP=&&&&", 87, 0x2200),
    # HJ 212-2025 Appendix A.2, first example in plain text (minute data of a flue)
    (f"QN=20240520210700000;ST=31;CN=2051;PW=123456;MN={MN};Flag=9;CP=&&"
     "DataTime=20240520210600;a01011-Min=1.35,a01011-Avg=1.35,a01011-Max=1.35,"
     "a01011-Flag=N;a01012-Min=9.3,a01012-Avg=9.3,a01012-Max=9.3,a01012-Flag=N;"
     "a01014-Min=3.20,a01014-Avg=3.211,a01014-Max=3.212,a01014-Flag=N&&", 295, 0x2200),
    # an HJ/T 212-2005 style upload (no QN, no Flag), from hj-t212-parser's tests
    ("ST=32;CN=2011;PW=000000;MN=LD130133000015;CP=&&DataTime=20160824003817;"
     "011-Rtd=231.0,011-Flag=N;B01-Rtd=36.91;060-Rtd=1.803,060-Flag=N&&", 136, 0x1DC0),
    # ambient air minute data, from flash520/hj212's tests
    ("QN=20220513162608370;ST=22;CN=2051;PW=123456;MN=JLYP01_AIR01_0001;Flag=4;CP=&&"
     "DataTime=20220513162600;a21004-Avg=4,a21004-Flag=N;a05024-Avg=63,a05024-Flag=N;"
     "a21026-Avg=6,a21026-Flag=N;a21005-Avg=0.427,a21005-Flag=N;a34004-Avg=14,"
     "a34004-Flag=N;a34002-Avg=31,a34002-Flag=N;a01007-Avg=1,a01007-Flag=N;a01008-Avg=11,"
     "a01008-Flag=N;a01001-Avg=17,a01001-Flag=N;a01002-Avg=85,a01002-Flag=N;"
     "a01006-Avg=95,a01006-Flag=N&&", 411, 0xD641),
]


@pytest.mark.parametrize(("segment", "length", "crc"), VECTORS)
def test_published_vectors(segment: str, length: int, crc: int) -> None:
    assert len(segment.encode()) == length
    assert frames.crc16(segment.encode()) == crc
    frame = b"##%04d%s%04X\r\n" % (length, segment.encode(), crc)
    packet = frames.decode(frame)
    assert packet.segment() == segment  # read and written back byte for byte
    assert frames.encode(packet) == frame
    # devices that write the CRC in lower case are read too
    assert frames.decode(frame[:-6] + frame[-6:-2].lower() + b"\r\n") == packet


def test_table_crc_is_the_text_s_routine() -> None:
    import random

    rng = random.Random(212)
    for n in (0, 1, 2, 7, 101, 1024):
        data = bytes(rng.randrange(256) for _ in range(n))
        assert frames.crc16(data) == frames._crc16_by_the_text(data)


def test_crc_is_not_modbus() -> None:
    """Appendix A shifts the register before XOR-ing the byte: CRC-16/MODBUS (the usual
    library routine) gives 0759 for the standard's example instead of 1C80."""
    def modbus(data: bytes) -> int:
        crc = 0xFFFF
        for byte in data:
            crc ^= byte
            for _ in range(8):
                crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        return crc

    example = VECTORS[0][0].encode()
    assert modbus(example) == 0x0759 != frames.crc16(example)
    assert frames.crc16(b"") == 0xFFFF and frames.crc16(b"\x00") == 0x4040


def test_flags_and_answers() -> None:
    upload = frames.decode(frames.encode(Packet(
        st="32", cn="2061", pw="123456", mn=MN, qn="20160801090000001", flag=5,
        cp="DataTime=20160801080000;w01018-Avg=40.1,w01018-Flag=N")))
    assert (upload.version, upload.wants_answer, upload.split) == (1, True, False)
    ack = upload.answer("9014")
    # the standard's C.14 answer: same QN, PW and MN, ST 91, Flag 4, empty CP
    assert ack.segment() == f"QN=20160801090000001;ST=91;CN=9014;PW=123456;MN={MN};" \
                            "Flag=4;CP=&&&&"
    assert frames.encode(ack) == b"##0087" + ack.segment().encode() + b"FF01\r\n"
    assert frames.decode(frames.encode(upload.with_flag(9))).answer("9014").flag == 8
    split = frames.decode(frames.encode(Packet(st="31", cn="2051", pw="1", mn=MN, flag=7,
                                               qn="20160801090000001", pnum=3, pno=2)))
    assert (split.split, split.pnum, split.pno) == (True, 3, 2)
    assert "PNUM=3;PNO=2;CP=" in split.segment()
    back = frames.decode(frames.encode(Packet(st="32", cn="2061", pw="1", mn=MN, flag=9,
                                              qn="20260101000000000", extra=(("RF", "1"),))))
    assert back.extra == (("RF", "1"),) and back.version == 2


def _frame(segment: str, *, length: int | None = None, crc: int | None = None) -> bytes:
    data = segment.encode()
    return b"##%04d%s%04X\r\n" % (len(data) if length is None else length, data,
                                  frames.crc16(data) if crc is None else crc)


GOOD = f"QN=20160801090000001;ST=32;CN=2061;PW=123456;MN={MN};Flag=5;CP=&&a-Rtd=1&&"


@pytest.mark.parametrize(("frame", "words", "code"), [
    (_frame(GOOD, crc=0x1234), "CRC", frames.QN_CRC),
    (_frame(GOOD, length=50), "length field", frames.QN_UNKNOWN),
    (b"##00x1" + GOOD.encode() + b"0000\r\n", "four digits", frames.QN_UNKNOWN),
    (b"##0087" + GOOD.encode() + b"zzzz\r\n", "hex", frames.QN_CRC),
    (b"#0087abc\r\n", "'##'", frames.QN_UNKNOWN),
    (_frame(GOOD.replace("CP=&&a-Rtd=1&&", "CP=a")), "CP=&&", frames.QN_UNKNOWN),
    (_frame(GOOD.replace("ST=32;", "")), "ST", frames.QN_ST),
    (_frame(GOOD.replace("PW=123456;", "")), "PW", frames.QN_PW),
    (_frame(GOOD.replace("QN=20160801090000001", "QN=2016")), "QN", frames.QN_QN),
    (_frame(GOOD.replace("Flag=5", "Flag=x")), "Flag", frames.QN_FLAG),
    (_frame(GOOD.replace("Flag=5", "Flag=7")), "PNUM", frames.QN_FLAG),
    (_frame(GOOD.replace("Flag=5", "Flag=7;PNUM=2;PNO=3")), "out of range", frames.QN_FLAG),
    (_frame(GOOD.replace("MN=" + MN, "MN=../../etc")), "MN", frames.QN_MN),
    (_frame(GOOD.replace("CN=2061", "CN=2061;CN=2051")), "twice", frames.QN_UNKNOWN),
    (b"##0004\xff\xfe\xfd\xfc" + b"%04X" % frames.crc16(b"\xff\xfe\xfd\xfc") + b"\r\n",
     "UTF-8", frames.QN_UNKNOWN),
])
def test_malformed_frames_are_refused_with_a_reason(frame: bytes, words: str,
                                                    code: int) -> None:
    with pytest.raises(FrameError) as err:
        frames.decode(frame)
    assert words in err.value.reason and err.value.qn_rtn == code


def test_the_stream_is_cut_into_frames() -> None:
    one, two = _frame(GOOD), _frame(GOOD.replace("001;", "002;"))
    reader = FrameReader()
    stream = b"noise" + one + two[:10]
    assert reader.feed(stream) == [one]
    got = []
    for i in range(10, len(two)):  # the rest one byte at a time
        got += reader.feed(two[i:i + 1])
    assert got == [two] and reader.skipped == 5
    # a frame cut off by the next one: the next one survives
    assert reader.feed(one[:40] + two) == [two]
    # a device that never sends CRLF is not buffered without end
    small = FrameReader(limit=200)
    assert small.feed(b"##" + b"9" * 1000) == [] and len(small.buffer) <= 200
    assert small.feed(b"##" + b"x" * 10 + one) == [one]
    assert len(small.buffer) == 0


def test_data_area() -> None:
    area = cp.parse("DataTime=20160801080000;w00000-Cou=63.0,w00000-Avg=17.5,w00000-Flag=N;"
                    " w01018-Avg=40.1 ,w01018-Flag=D;SB1-RS=1")
    assert area.data_time.isoformat() == "2016-08-01T08:00:00+08:00"
    assert area.values("w01018") == {"Avg": 40.1} and area.items["w01018"]["Flag"] == "D"
    assert area.items["SB1"] == {"RS": "1"} and area.values("w00000")["Cou"] == 63.0
    assert cp.parse("QnRtn=1").fields == {"QnRtn": "1"}
    text = cp.format_cp({"DataTime": "20160801080000"},
                        {"w01018": {"Avg": 40.1, "Flag": "N"}, "w21003": {"Avg": 2.0}})
    assert text == "DataTime=20160801080000;w01018-Avg=40.1,w01018-Flag=N;w21003-Avg=2"
    assert cp.parse("DataTime=20160801080000123").data_time.microsecond == 123000
    for bad, words in (("a21026-Rtd", "'='"), ("-Rtd=1", "<code>-<field>"),
                       ("DataTime=20161301000000", "real date")):
        with pytest.raises(cp.CPError, match=words):
            area = cp.parse(bad)
            area.data_time  # noqa: B018 - the time is read on access
    with pytest.raises(cp.CPError, match="not a number"):
        cp.parse("a21026-Rtd=abc").values("a21026")
    with pytest.raises(cp.CPError, match="SM4-encrypted"):  # HJ 212-2025, no key here
        cp.parse("{0xE4,0x1A,0x07}")


def test_codes() -> None:
    from onemap.live.hj212 import codes

    assert codes.canonical("011") == "w01018" and codes.canonical("a21026") == "a21026"
    assert codes.pollutant("060").name == "氨氮" and codes.pollutant("B01").flow
    assert codes.pollutant("a21026").unit == "mg/m³" and codes.pollutant("zz") is None
    assert all(p.medium == ("air" if c.startswith("a") else "water")
               for c, p in codes.POLLUTANTS.items())
    assert codes.UPLOADS.isdisjoint(codes.NOTICES)
