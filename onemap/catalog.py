"""The catalogue: every dataset OneMap serves, addressed by id.

Vector layers, attribute tables (time series) and rasters share one catalogue so that the
server, the CLI and the app discover them the same way and so that no request ever names a file:
a request names an id, the catalogue names the file. Every entry carries an access level from
the start (public / internal) so role-based access needs no migration later.

The catalogue is a small JSON document replaced atomically (temporary file + rename) under a
file lock, so a crash mid-import leaves the previous catalogue intact. It is strict JSON (no
NaN/Infinity, which Python writes by default and strict parsers refuse): a raster's non-finite
nodata is the string "nan"/"inf"/"-inf" as in STAC's raster extension; any other non-finite
number is written as null. Catalogues written before, with bare NaN, still load.
"""

from __future__ import annotations

import fcntl
import json
import math
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


class LiveDataset(ValueError):
    """The dataset is written as data arrive; it cannot be replaced or removed."""

    def __init__(self, dataset_id: str) -> None:
        super().__init__(f"{dataset_id!r} is written by the HJ 212 receiver as data arrive: "
                         "it cannot be replaced or removed (its rows are the monitoring record)")


class Entry(BaseModel):
    """One catalogued dataset."""

    id: str
    kind: Kind
    family: str
    title: str
    title_en: str = ""
    description: str = ""
    access: Access = "public"
    #: Adcode of the office that produces and answers for the dataset (谁生产、谁负责); "" =
    #: the whole territory. A region-bound data manager may replace or remove only entries
    #: owned within their region.
    region: str = ""
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
    #: Whether features may be created, replaced, changed and deleted one by one (OGC API
    #: Features Part 4); None: as the family says (:attr:`onemap.layers.families.Family.editable`).
    editable: bool | None = None
    #: Kind-specific extras, e.g. a raster's date, bands, default colormap and rescale.
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def live(self) -> bool:
        """Written as data arrive (the HJ 212 receiver's tables): never replaced or removed
        by an import, and sharing one file with the other live tables."""
        return bool(self.extra.get("live"))

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


def nodata_value(value: float | str | None) -> float | str | None:
    """A nodata value as JSON can hold it: a finite number, or "nan"/"inf"/"-inf" (the STAC
    raster extension's spelling) for the non-finite ones; None stays None."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±Infinity) replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def strict_json(value: Any, **kwargs: Any) -> str:
    """JSON that every parser accepts (RFC 8259): non-finite numbers become null. For every
    JSON file the server writes, so a strict reader (a browser's JSON.parse, jq, Go, PostgreSQL
    jsonb) never chokes on Python's NaN."""
    return json.dumps(finite(value), allow_nan=False, **kwargs)


def _upgrade(entry: Entry) -> Entry:
    """An entry as strict JSON holds it (also one read from an older catalogue): a NaN nodata
    becomes "nan", a bbox with a non-finite corner is unknown (None) rather than [null, …]."""
    if "nodata" in entry.extra:
        entry.extra["nodata"] = nodata_value(entry.extra["nodata"])
    if entry.bbox is not None and not all(math.isfinite(v) for v in entry.bbox):
        entry.bbox = None
    return entry


def _read(settings: Settings) -> dict[str, Entry]:
    if not settings.catalog_path.exists():
        return {}
    raw = json.loads(settings.catalog_path.read_text(encoding="utf-8"))  # old files: NaN too
    return {item["id"]: _upgrade(Entry.model_validate(item)) for item in raw.get("datasets", [])}


def _write(settings: Settings, entries: dict[str, Entry]) -> None:
    doc = {"datasets": [_upgrade(e).model_dump()
                        for e in sorted(entries.values(), key=lambda e: e.id)]}
    text = strict_json(doc, ensure_ascii=False, indent=1)
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


def update(dataset_id: str, settings: Settings | None = None, **changes: Any
           ) -> tuple[Entry, Entry]:
    """Change some fields of an entry (read, changed and written under the lock, so two
    writers never lose each other's change); ``updated`` is set to now. Returns (previous,
    new): a caller whose data write then fails puts the previous one back with :func:`put`.
    """
    settings = settings or get_settings()
    with _locked(settings):
        entries = _read(settings)
        if dataset_id not in entries:
            raise UnknownDataset(dataset_id)
        previous = entries[dataset_id]
        changes.setdefault("updated", datetime.now(UTC).isoformat(timespec="seconds"))
        entries[dataset_id] = Entry.model_validate({**previous.model_dump(), **changes})
        _write(settings, entries)
    return previous, entries[dataset_id]


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


def discard(dataset_id: str, settings: Settings | None = None) -> Entry:
    """Drop an entry, then its file or folder (only inside the data directory: an entry never
    makes the server delete anything else). A running server stops serving it at its next
    request; a reader that has the file open keeps its copy until it closes it."""
    import shutil

    settings = settings or get_settings()
    if get(dataset_id, settings).live:
        raise LiveDataset(dataset_id)
    entry = remove(dataset_id, settings)
    path = entry.file(settings)
    if settings.data_dir.resolve() in path.resolve().parents:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return entry
