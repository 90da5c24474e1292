"""The Emergency panel's form: reading what the user typed into process inputs, and filling the
form from a reported incident. Pure functions, so every rule is unit-tested without a browser.

The server checks everything again (and alone knows the region): these checks exist so that a
mistyped field is named in the user's words before a job is even started, and so that the
request never mixes a wind override given by half.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from onemap.app.i18n import t
from onemap.app.panels.emergency_text import (
    POLLUTANTS,
    incident_status_label,
    incident_type_label,
    match_pollutant,
    name_or_code,
)

BEIJING = timezone(timedelta(hours=8))
PROCESS = "incident-assessment"
DEFAULT_RINGS_KM = "1, 3, 5"
#: Process input -> the string key of the form field that feeds it (for error messages).
INPUT_FIELDS = {"lon": "em_lon", "lat": "em_lat", "location": "em_location",
                "time": "em_time", "medium": "em_medium",
                "pollutant": "em_pollutant", "amount_kg": "em_amount",
                "duration_min": "em_duration", "wind_speed_m_s": "em_wind_speed",
                "wind_from_deg": "em_wind_from", "stability": "em_stability",
                "flow_speed_m_s": "em_flow", "max_hours": "em_hours", "rings_m": "em_rings"}
_TIME = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?"
                   r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$")


class FormError(ValueError):
    """A field the user must correct; ``key`` is the string that says how."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_time(text: object) -> datetime | None:
    """``2025-06-01 10:20`` (Beijing time unless an offset is given) as an aware datetime;
    None when it is not a date-time."""
    match = _TIME.match(str(text or ""))
    if not match:
        return None
    y, mo, d, h, mi, s, zone = match.groups()
    try:
        tz = BEIJING
        if zone == "Z":
            tz = UTC
        elif zone:
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        return datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0),
                        tzinfo=tz)
    except ValueError:
        return None


def beijing(value: object, *, seconds: bool = False) -> str:
    """An ISO time (any offset) as Beijing wall-clock text ``2025-06-01 10:20``; "" if none."""
    if not value:
        return ""
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=BEIJING)
    return when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else ""))


def _number(value: object) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def _bounded(value: object, key: str, lo: float, hi: float, *, open_lo: bool = True
             ) -> float | None:
    v = _number(value)
    if v is None:
        return None
    if math.isnan(v) or v > hi or v < lo or (open_lo and v == lo):
        raise FormError(key)
    return v


def parse_rings(text: object) -> list[float]:
    """``"1, 3, 5"`` (km) → ``[1000.0, 3000.0, 5000.0]`` (m), sorted; FormError if not 1–10
    distinct positive distances up to 50 km."""
    parts = [p for p in re.split(r"[,，;；\s]+", str(text or "").strip()) if p]
    try:
        km = [float(p) for p in parts]
    except ValueError:
        raise FormError("em_err_rings") from None
    if (not 1 <= len(km) <= 10 or len(set(km)) != len(km)
            or any(not math.isfinite(k) or k <= 0 or k > 50 for k in km)):
        raise FormError("em_err_rings")
    return sorted(round(k * 1000.0, 3) for k in km)


def build_inputs(form: dict[str, Any], lang: str) -> dict[str, Any]:
    """The ``incident-assessment`` inputs for what the form holds (FormError if a field is
    wrong). Only the medium's own options are sent: flow for water, wind for air."""
    lon, lat = _number(form.get("lon")), _number(form.get("lat"))
    if lon is None or lat is None:
        raise FormError("em_err_point")
    if math.isnan(lon) or math.isnan(lat) or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise FormError("em_err_lonlat")
    when = parse_time(form.get("time"))
    if when is None:
        raise FormError("em_err_time")
    medium = form.get("medium") if form.get("medium") in ("air", "water") else "air"
    pollutant = form.get("pollutant")
    if not pollutant:
        raise FormError("em_err_pollutant")
    amount = _bounded(form.get("amount_kg"), "em_err_amount", 0, 1e9)
    if amount is None:
        raise FormError("em_err_amount")
    inputs: dict[str, Any] = {
        "lon": round(lon, 6), "lat": round(lat, 6), "time": when.isoformat(),
        "medium": medium, "pollutant": pollutant, "amount_kg": amount,
        "rings_m": parse_rings(form.get("rings") or DEFAULT_RINGS_KM),
        "lang": "en" if lang == "en" else "zh"}
    duration = _bounded(form.get("duration_min"), "em_err_duration", 0, 7 * 24 * 60)
    if duration is not None:
        inputs["duration_min"] = duration
    if medium == "air":
        speed = _bounded(form.get("wind_speed"), "em_err_wind", 0, 60)
        deg = _bounded(form.get("wind_from"), "em_err_wind", 0, 360, open_lo=False)
        if (speed is None) != (deg is None):
            raise FormError("em_err_wind_pair")
        if speed is not None:
            inputs["wind_speed_m_s"], inputs["wind_from_deg"] = speed, deg
        if form.get("stability") in ("A", "B", "C", "D", "E", "F"):
            inputs["stability"] = form["stability"]
    else:
        flow = _bounded(form.get("flow_speed"), "em_err_flow", 0, 10)
        if flow is not None:
            inputs["flow_speed_m_s"] = flow
        hours = _bounded(form.get("max_hours"), "em_err_hours", 0, 720)
        if hours is not None:
            inputs["max_hours"] = hours
    return inputs


def input_labels() -> dict[str, dict[str, str]]:
    """The form's names of the process inputs in both languages (for error messages)."""
    return {lang: {name: t(key, lang) for name, key in INPUT_FIELDS.items()}
            for lang in ("zh", "en")}


def incident_options(features: list[dict], lang: str) -> list[dict]:
    """Dropdown options of the reported incidents, newest first: title and time in Chinese;
    code, type and time in English (titles are Chinese text)."""
    rows = []
    for f in features:
        p = f.get("properties") or {}
        fid = str(p.get("incident_id") or f.get("id") or "")
        if not fid or not (f.get("geometry") or {}).get("coordinates"):
            continue
        when = beijing(p.get("time"))
        status = incident_status_label(p.get("status"), lang)
        if lang == "en":
            label = " · ".join(x for x in (fid, incident_type_label(p.get("type"), "en"), when,
                                           status) if x)
        else:
            label = " · ".join(x for x in (name_or_code(p.get("title"), fid, "zh"), when, status)
                               if x)
        rows.append((str(p.get("time") or ""), {"label": label, "value": fid}))
    rows.sort(key=lambda r: r[0], reverse=True)
    return [r[1] for r in rows]


def incident_fill(feature: dict, medium: str, enum: list[str] | None) -> dict[str, Any]:
    """What picking an incident puts into the form: its point and time, and — when its report
    names a pollutant the process knows — the pollutant and a medium it is assessed in
    (the incident's own type when it is air or water). ``note`` asks the user to choose a
    pollutant when none could be read."""
    p = feature.get("properties") or {}
    lon, lat = (feature.get("geometry") or {}).get("coordinates", [None, None])[:2]
    out: dict[str, Any] = {"lon": round(float(lon), 6), "lat": round(float(lat), 6),
                           "time": beijing(p.get("time")) or None, "medium": medium,
                           "pollutant": None, "note": None}
    code = match_pollutant(p.get("pollutant"))
    if code is not None and enum is not None and code not in enum:
        code = None
    kind = str(p.get("type") or "")
    if code is None:
        if kind in ("air", "water"):
            out["medium"] = kind
        out["note"] = "em_note_no_pollutant"
        return out
    media = POLLUTANTS[code].media
    if kind in media:
        out["medium"] = kind
    elif medium not in media:
        out["medium"] = media[0]
    out["pollutant"] = code
    return out


def medium_options(lang: str) -> list[dict]:
    return [{"label": t(f"em_medium_{m}", lang), "value": m} for m in ("air", "water")]
