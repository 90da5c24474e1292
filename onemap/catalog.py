"""The catalogue: every dataset OneMap serves, addressed by id.

Vector layers, attribute tables (time series) and rasters share one catalogue so that the
server, the CLI and the app discover them the same way and so that no request ever names a file:
a request names an id, the catalogue names the file. Every entry carries an access level from
the start (public / internal) so role-based access needs no migration later.

The catalogue is a small JSON document replaced atomically (temporary file + rename) under a
file lock, so a crash mid-import leaves the previous catalogue intact.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from onemap.config import Settings, get_settings

#: vector layer, attribute table, raster (one COG), cube (a zarr time × y × x grid).
Kind = Literal["vector", "table", "raster", "cube"]
Access = Literal["public", "internal"]
#: Always use ``fullmatch``: with ``match``, ``$`` also matches before a trailing newline
#: ("abc\\n" would pass). The pattern itself stays JSON-Schema (ECMA) compatible.
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class UnknownDataset(KeyError):
    """No catalogue entry has this id."""


class Entry(BaseModel):
    """One catalogued dataset."""

    id: str
    kind: Kind
    family: str
    title: str
    title_en: str = ""
    description: str = ""
    access: Access = "public"
    #: File path relative to the data dir; never taken from a request.
    path: str
    geometry_type: str | None = None
    feature_count: int = 0
    #: [minx, miny, maxx, maxy] in EPSG:4326 (lon/lat).
    bbox: list[float] | None = None
    #: Field name -> type name ("str", "int", "float", "datetime", "date").
    fields: dict[str, str] = Field(default_factory=dict)
    #: Time extent [start, end] as ISO strings, when the dataset has time.
    time_extent: list[str] | None = None
    source: str = ""
    updated: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    #: Kind-specific extras, e.g. a raster's date, bands, default colormap and rescale.
    extra: dict[str, Any] = Field(default_factory=dict)

    def file(self, settings: Settings | None = None) -> Path:
        """Absolute path of the dataset's file."""
        settings = settings or get_settings()
        return settings.data_dir / self.path


def check_id(dataset_id: str) -> str:
    """Ids are lowercase identifiers: safe as file names, SQL table names and URL segments."""
    if not ID_PATTERN.fullmatch(dataset_id):
        raise ValueError(
            f"invalid dataset id {dataset_id!r}: use a lowercase letter then letters, digits "
            "or '_' (at most 63 characters)"
        )
    return dataset_id


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide the file from a server user
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / ".catalog.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(settings: Settings) -> dict[str, Entry]:
    if not settings.catalog_path.exists():
        return {}
    raw = json.loads(settings.catalog_path.read_text(encoding="utf-8"))
    return {item["id"]: Entry.model_validate(item) for item in raw.get("datasets", [])}


def _write(settings: Settings, entries: dict[str, Entry]) -> None:
    doc = {"datasets": [e.model_dump() for e in sorted(entries.values(), key=lambda e: e.id)]}
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    atomic_write_bytes(settings.catalog_path, text.encode("utf-8"))


def load(settings: Settings | None = None) -> dict[str, Entry]:
    """All entries by id."""
    return _read(settings or get_settings())


def get(dataset_id: str, settings: Settings | None = None) -> Entry:
    """One entry; :class:`UnknownDataset` if there is none."""
    entries = load(settings)
    if dataset_id not in entries:
        raise UnknownDataset(dataset_id)
    return entries[dataset_id]


def put(entry: Entry, settings: Settings | None = None) -> None:
    """Add or replace an entry (call after its file is in place)."""
    settings = settings or get_settings()
    check_id(entry.id)
    with _locked(settings):
        entries = _read(settings)
        entries[entry.id] = entry
        _write(settings, entries)


def remove(dataset_id: str, settings: Settings | None = None) -> Entry:
    """Drop an entry from the catalogue and return it; its file is left to the caller."""
    settings = settings or get_settings()
    with _locked(settings):
        entries = _read(settings)
        if dataset_id not in entries:
            raise UnknownDataset(dataset_id)
        entry = entries.pop(dataset_id)
        _write(settings, entries)
    return entry
