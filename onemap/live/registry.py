"""Which devices may send, and what they monitor: the HJ 212 device registry.

A device is known by its MN (数采仪编码). An MN is registered when an outlet of the ``outlets``
layer carries it — the same layer the map shows, imported and validated like any other, so the
registry is kept where the bureau already keeps its outlets (a device moved to another outlet is
a row edited there, not a second list to keep in step). The registry reads the layer again when
its file changes.

Each device's access password (PW) is its own when ``onemap hj212 password MN`` set one (kept
as a salted SHA-256 in the system database: PW travels in clear text on the wire, so it guards
against a misconfigured or stray device, not an eavesdropper), else ``ONEMAP_HJ212_PASSWORD``.

An outlet's permit limits (``so2_limit`` … ``ph_max``) become limits per HJ 212 pollutant code,
so the alarm rules compare a reading with its own outlet's permit.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from dataclasses import dataclass, field

import pyogrio
import pyogrio.errors
from sqlalchemy import delete, insert, select

from onemap import catalog, sysdb
from onemap.config import Settings
from onemap.live.hj212 import codes

#: Outlet layer column → HJ 212 pollutant code of the concentration it limits (upper limits).
LIMIT_COLUMNS = {
    "so2_limit": "a21026", "nox_limit": "a21002", "pm_limit": "a34013", "nmhc_limit": "a24088",
    "cod_limit": "w01018", "nh3n_limit": "w21003", "tp_limit": "w21011", "tn_limit": "w21001",
}
PH = "w01001"
#: How often (seconds) the registry looks whether the outlets layer changed.
RELOAD_S = 10.0


class UnknownDevice(LookupError):
    """No outlet carries this MN."""


@dataclass(frozen=True)
class Device:
    """A registered device: the outlet it monitors and that outlet's permit limits."""

    mn: str
    outlet_code: str
    source_id: str
    medium: str
    county_code: str
    lon: float
    lat: float
    #: Pollutant code → (lower, upper) limit; either may be None (pH has both).
    limits: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    #: The source's name (单位名称) from the pollution sources layer, "" when unknown.
    source_name: str = ""

    @property
    def st(self) -> str:
        """The system type (ST) its uploads carry."""
        return codes.ST_AIR_SOURCE if self.medium == "air" else codes.ST_WATER_SOURCE


def number(value: object) -> float | None:
    """A layer's value as a finite float; None for empty, NaN or not a number."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _source_names(settings: Settings) -> dict[str, str]:
    """Source code → name, from the pollution sources layer (none when it is missing)."""
    try:
        entry = catalog.get("pollution_sources", settings)
        frame = pyogrio.read_dataframe(entry.file(settings), layer=entry.id,
                                       columns=["source_id", "name"], read_geometry=False)
    except (catalog.UnknownDataset, OSError, pyogrio.errors.DataSourceError):
        return {}
    return dict(zip(frame["source_id"].astype(str), frame["name"].astype(str), strict=True))


def _devices(settings: Settings) -> dict[str, Device]:
    names = _source_names(settings)
    entry = catalog.get("outlets", settings)
    frame = pyogrio.read_dataframe(entry.file(settings), layer=entry.id,
                                   where="mn IS NOT NULL AND mn <> ''")
    out: dict[str, Device] = {}
    for row in frame.itertuples(index=False):
        limits: dict[str, tuple[float | None, float | None]] = {}
        for column, code in LIMIT_COLUMNS.items():
            upper = number(getattr(row, column, None))
            if upper is not None:
                limits[code] = (None, upper)
        low, high = number(getattr(row, "ph_min", None)), number(getattr(row, "ph_max", None))
        if low is not None or high is not None:
            limits[PH] = (low, high)
        point = row.geometry
        out[str(row.mn)] = Device(str(row.mn), str(row.outlet_code), str(row.source_id),
                                  str(row.medium), str(getattr(row, "county_code", "") or ""),
                                  float(point.x), float(point.y), limits,
                                  names.get(str(row.source_id), ""))
    return out


class Registry:
    """The registered devices, read from the outlets layer and kept current."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._devices: dict[str, Device] = {}
        self._stamp: tuple | None = None
        self._checked = 0.0
        self._passwords: dict[str, tuple[str, str]] | None = None
        self.refresh(force=True)

    def _file_stamp(self) -> tuple:
        try:
            entry = catalog.get("outlets", self.settings)
        except catalog.UnknownDataset:
            return ()
        path = entry.file(self.settings)
        stat = path.stat() if path.exists() else None
        return (str(path), stat.st_mtime_ns if stat else 0, stat.st_size if stat else 0)

    def refresh(self, force: bool = False) -> None:
        """Read the outlets layer again when it changed (looked at every ``RELOAD_S``)."""
        now = time.monotonic()
        if not force and now - self._checked < RELOAD_S:
            return
        with self._lock:
            self._checked = now
            stamp = self._file_stamp()
            if stamp == self._stamp and not force:
                return
            self._devices = _devices(self.settings) if stamp else {}
            self._passwords = None
            self._stamp = stamp

    def __len__(self) -> int:
        return len(self._devices)

    def devices(self) -> dict[str, Device]:
        self.refresh()
        return self._devices

    def get(self, mn: str) -> Device:
        """The device ``mn``; :class:`UnknownDevice` when no outlet carries it."""
        device = self.devices().get(mn)
        if device is None:
            raise UnknownDevice(mn)
        return device

    def password_ok(self, mn: str, password: str | None) -> bool:
        """Whether ``password`` is the PW of device ``mn``."""
        if self._passwords is None:
            self._passwords = own_passwords(self.settings)
        own = self._passwords.get(mn)
        if own is None:
            return password is not None and hmac.compare_digest(
                password.encode(), self.settings.hj212_password.encode())
        salt, digest = own
        return password is not None and hmac.compare_digest(_digest(salt, password), digest)

    def forget_passwords(self) -> None:
        self._passwords = None


def _digest(salt: str, password: str) -> str:
    return hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()


def own_passwords(settings: Settings) -> dict[str, tuple[str, str]]:
    """MN → (salt, digest) of every device with a password of its own."""
    with sysdb.engine(settings).connect() as conn:
        rows = conn.execute(select(sysdb.DEVICES.c.mn, sysdb.DEVICES.c.salt,
                                   sysdb.DEVICES.c.digest)).all()
    return {mn: (salt, digest) for mn, salt, digest in rows}


def set_password(settings: Settings, mn: str, password: str | None, by: str = "") -> None:
    """Give device ``mn`` a password of its own; None: back to ``ONEMAP_HJ212_PASSWORD``."""
    with sysdb.engine(settings).begin() as conn:
        conn.execute(delete(sysdb.DEVICES).where(sysdb.DEVICES.c.mn == mn))
        if password is not None:
            salt = secrets.token_hex(16)
            conn.execute(insert(sysdb.DEVICES).values(
                mn=mn, salt=salt, digest=_digest(salt, password), updated=sysdb.now(),
                updated_by=by))
