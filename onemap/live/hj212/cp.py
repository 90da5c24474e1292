"""The CP data area: ``DataTime=…;a21026-Rtd=35.2,a21026-Flag=N;w01018-Avg=40.1,…``.

``=`` joins a key and its value, ``,`` separates fields of the same item and ``;`` items
(HJ 212-2017 §6.3.3.1) — the standard's own examples mix them up, and devices do too, so both
are separators here and what matters is the key: ``<code>-<field>`` for a pollutant
(``a21026-Rtd``: SO₂ real-time value) or a plain name (``DataTime``, ``QnRtn``, ``RtdInterval``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

#: Beijing time: a device's DataTime is local time (the standard gives no zone; China is UTC+8).
CST = timezone(timedelta(hours=8), "CST")
#: Fields of a pollutant item (HJ 212-2017 Table 4).
VALUE_FIELDS = ("Rtd", "Min", "Avg", "Max", "Cou", "ZsRtd", "ZsMin", "ZsAvg", "ZsMax",
                "RS")  # RS: a facility's running state (CN 2021), 1 running
#: Data flags (Table 8): N normal, F stopped, M maintenance, S manually set, D fault,
#: C calibration, T over the measuring range, B communication with the instrument abnormal.
FLAGS = {"N": "normal", "F": "stopped", "M": "maintenance", "S": "manual", "D": "fault",
         "C": "calibration", "T": "over range", "B": "communication"}
_TIME = re.compile(r"^\d{14}(\d{3})?$")


class CPError(ValueError):
    """A data area that cannot be read (a value in words)."""


@dataclass
class DataArea:
    """The CP of one packet: plain fields and the pollutants' fields by code."""

    fields: dict[str, str] = field(default_factory=dict)
    items: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def data_time(self) -> datetime | None:
        """DataTime as an aware datetime (Beijing time); None when absent."""
        text = self.fields.get("DataTime")
        return parse_time(text) if text is not None else None

    def values(self, code: str) -> dict[str, float]:
        """The numeric fields of pollutant ``code`` (Rtd, Avg, …); CPError for a bad number."""
        out = {}
        for name, text in self.items.get(code, {}).items():
            if name in VALUE_FIELDS:
                try:
                    out[name] = float(text)
                except ValueError:
                    raise CPError(f"{code}-{name}={text!r} is not a number") from None
        return out


def parse_time(text: str) -> datetime:
    """``YYYYMMDDhhmmss[zzz]`` in Beijing time."""
    if not _TIME.match(text):
        raise CPError(f"time {text!r} is not YYYYMMDDhhmmss")
    try:
        moment = datetime.strptime(text[:14], "%Y%m%d%H%M%S")
    except ValueError:
        raise CPError(f"time {text!r} is not a real date") from None
    millis = int(text[14:]) if len(text) == 17 else 0
    return moment.replace(tzinfo=CST) + timedelta(milliseconds=millis)


def format_time(moment: datetime, millis: bool = False) -> str:
    local = moment.astimezone(CST) if moment.tzinfo else moment
    text = local.strftime("%Y%m%d%H%M%S")
    return text + f"{local.microsecond // 1000:03d}" if millis else text


def parse(cp: str) -> DataArea:
    """A CP's text (between ``&&`` and ``&&``) read; CPError names a malformed key.

    HJ 212-2025 lets a device encrypt its data area with SM4 (written as ``{0x..,…}``). The
    cipher's mode, padding and key distribution are in the 2025 text, which could not be
    obtained and verified here (docs/hj212.md): such a data area is refused by name, not
    guessed at, and the device's packets are logged as encrypted."""
    if cp.lstrip().startswith("{"):
        raise CPError("an SM4-encrypted data area (HJ 212-2025): this receiver does not "
                      "decrypt; configure the device to send plain text on the intranet")
    area = DataArea()
    for part in re.split(r"[;,]", cp):
        part = part.strip()
        if not part:
            continue
        key, eq, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not eq or not key:
            raise CPError(f"CP item {part!r} has no '='")
        code, dash, name = key.partition("-")  # every keyed item has one: a21026-Rtd, SB1-RS
        if dash:
            if not code or not name:
                raise CPError(f"CP key {key!r} is not <code>-<field>")
            area.items.setdefault(code, {})[name] = value
        else:
            area.fields[key] = value
    return area


def format_cp(fields: dict[str, str], items: dict[str, dict[str, object]]) -> str:
    """A CP's text: plain fields first, then one ``;``-separated item per pollutant with its
    fields ``,``-separated (the layout of the standard's examples)."""
    parts = [f"{k}={v}" for k, v in fields.items()]
    for code, values in items.items():
        parts.append(",".join(f"{code}-{name}={_number(v)}" for name, v in values.items()))
    return ";".join(parts)


def _number(value: object) -> str:
    if isinstance(value, float):
        text = f"{value:.4f}".rstrip("0").rstrip(".")
        return text if text not in ("", "-0") else "0"
    return str(value)
