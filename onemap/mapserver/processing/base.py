"""The common part of OneMap's OGC API processes: declared inputs, strict parsing, error mapping,
progress and cancellation.

Why a declarative :class:`Param` list: the same declaration produces the process description
(JSON schema with types, enums, bounds and defaults, bilingual titles) and the parser, so what a
client reads is exactly what the server enforces. Inputs are JSON values only — no input names a
file path or a URL (``href`` references are refused), datasets are named by catalogue id.

Bad input becomes :class:`ProcessInputError` (a pygeoapi ``ProcessorExecuteError`` with HTTP 400
and an OGC exception code: ``MissingParameterValue``, ``InvalidParameterValue`` or the analysis
error's own code, ``OutOfRegion`` / ``NoData``) whose message starts with the parameter's name.
:class:`~onemap.mapserver.processing.manager.OneMapManager` calls :meth:`OneMapProcessor.prepare`
before it creates a job, so sync and async requests alike get that 400 and no job is left behind.

Cancellation: pygeoapi's ``DELETE /jobs/{id}`` removes the job's record. A long processor calls
:meth:`OneMapProcessor.progress` between steps; when the record is gone it raises
:class:`JobCancelled`, and datasets the run registered are removed again (:meth:`discard`).
"""

from __future__ import annotations

import copy
import math
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pygeoapi.process.base import BaseProcessor, JobNotFoundError, ProcessorExecuteError

from onemap import catalog
from onemap.access import context
from onemap.access.principal import ANONYMOUS, Principal
from onemap.analysis.errors import InvalidInput
from onemap.config import Settings
from onemap.mapserver.jobs import STOPPING

TIMEZONE = "Asia/Shanghai"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
GEOJSON = {"type": "object", "contentMediaType": "application/geo+json"}
JSON = {"type": "object", "contentMediaType": "application/json"}


def i18n(zh: str, en: str) -> dict[str, str]:
    """A language struct pygeoapi translates per request (``?lang=`` / Accept-Language)."""
    return {"zh": zh, "en": en}


class ProcessInputError(ProcessorExecuteError):
    """HTTP 400 with an OGC exception code and a message naming the parameter."""

    http_status_code = 400

    def __init__(self, parameter: str, message: str, code: str = "InvalidParameterValue"
                 ) -> None:
        text = f"{parameter}: {message}"
        super().__init__(text, user_msg=text)
        self.parameter = parameter
        self.ogc_exception_code = code


class JobCancelled(Exception):
    """The client deleted the job while it ran; the processor stops and leaves nothing."""


class ProcessTimeout(Exception):
    """A synchronous run went past ``ONEMAP_PROCESS_TIMEOUT``; it stops and leaves nothing."""


def from_analysis(err: InvalidInput) -> ProcessInputError:
    return ProcessInputError(err.parameter, err.message, err.code)


@dataclass(frozen=True)
class Param:
    """One process input: its JSON schema, bilingual title/description, required or default."""

    name: str
    schema: dict[str, Any]
    zh: str
    en: str
    required: bool = False
    description_zh: str = ""
    description_en: str = ""
    keywords: tuple[str, ...] = field(default_factory=tuple)

    @property
    def default(self) -> Any:
        return self.schema.get("default")

    def describe(self) -> dict[str, Any]:
        return {"title": i18n(self.zh, self.en),
                "description": i18n(self.description_zh or self.zh,
                                    self.description_en or self.en),
                "schema": copy.deepcopy(self.schema), "minOccurs": 1 if self.required else 0,
                "maxOccurs": 1, "keywords": list(self.keywords)}


def _number(name: str, value: Any, schema: dict[str, Any]) -> float | int:
    integer = schema["type"] == "integer"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProcessInputError(name, f"must be {'an integer' if integer else 'a number'}, "
                                f"got {value!r}")
    try:
        as_float = float(value)
    except OverflowError:  # an integer beyond any float: beyond every bound we declare
        raise ProcessInputError(name, f"is too large: {str(value)[:20]}…") from None
    if integer and as_float != int(value):
        raise ProcessInputError(name, f"must be an integer, got {value!r}")
    if not math.isfinite(as_float):
        raise ProcessInputError(name, f"must be finite, got {value!r}")
    lo, hi = schema.get("minimum"), schema.get("maximum")
    xlo, xhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if (lo is not None and value < lo) or (hi is not None and value > hi) \
            or (xlo is not None and value <= xlo) or (xhi is not None and value >= xhi):
        low = f"≥ {lo}" if lo is not None else (f"> {xlo}" if xlo is not None else "")
        high = f"≤ {hi}" if hi is not None else (f"< {xhi}" if xhi is not None else "")
        raise ProcessInputError(name, f"must be {' and '.join(p for p in (low, high) if p)}, "
                                f"got {value!r}")
    return int(value) if integer else float(value)


def _string(name: str, value: Any, schema: dict[str, Any]) -> Any:
    if not isinstance(value, str):
        raise ProcessInputError(name, f"must be a string, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise ProcessInputError(name, f"unknown value {value!r}; one of "
                                f"{', '.join(map(str, schema['enum']))}")
    if "pattern" in schema and not re.fullmatch(schema["pattern"], value):
        raise ProcessInputError(name, f"{value!r} does not match {schema['pattern']}")
    fmt = schema.get("format")
    if fmt == "date":
        if not DATE.match(value):
            raise ProcessInputError(name, f"must be a date YYYY-MM-DD, got {value!r}")
        return _timestamp(name, value)
    if fmt == "date-time":
        if not DATETIME.match(value):
            raise ProcessInputError(name, "must be an ISO 8601 date-time such as "
                                    f"2025-01-24T20:00:00+08:00, got {value!r}")
        return _timestamp(name, value)
    return value


def _timestamp(name: str, value: str) -> pd.Timestamp:
    """A tz-aware Beijing timestamp; naive input is Beijing time (the data's zone)."""
    try:
        t = pd.Timestamp(value)
        if not pd.Timestamp.min < t.replace(tzinfo=None) < pd.Timestamp.max:
            raise ValueError(value)
        return t.tz_localize(TIMEZONE) if t.tzinfo is None else t.tz_convert(TIMEZONE)
    except (TypeError, ValueError, OverflowError, NotImplementedError):
        # year 0000, or beyond pandas' nanosecond range (1677–2262): no data is there
        raise ProcessInputError(name, f"is not a valid date or time between "
                                f"{pd.Timestamp.min.year + 1} and {pd.Timestamp.max.year - 1}: "
                                f"{value!r}") from None


def check_value(name: str, value: Any, schema: dict[str, Any]) -> Any:
    """``value`` checked against the small JSON-schema subset we declare, converted (numbers
    to int/float, dates and date-times to Beijing Timestamps, arrays to tuples)."""
    kind = schema["type"]
    if kind in ("number", "integer"):
        return _number(name, value, schema)
    if kind == "string":
        return _string(name, value, schema)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ProcessInputError(name, f"must be true or false, got {value!r}")
        return value
    if kind == "array":
        if not isinstance(value, list):
            raise ProcessInputError(name, f"must be an array, got {value!r}")
        lo, hi = schema.get("minItems", 0), schema.get("maxItems")
        if len(value) < lo or (hi is not None and len(value) > hi):
            raise ProcessInputError(name, f"must have {lo} to {hi} items, got {len(value)}")
        items = [check_value(f"{name}[{i}]", v, schema["items"]) for i, v in enumerate(value)]
        if schema.get("uniqueItems") and len(set(items)) != len(items):
            raise ProcessInputError(name, f"items must be distinct, got {value!r}")
        return tuple(items)
    raise AssertionError(f"unsupported schema type {kind!r}")


def parse_inputs(params: tuple[Param, ...], data: Any) -> dict[str, Any]:
    """Every declared input (given or default) parsed; unknown inputs are an error so a
    misspelt name never silently falls back to a default."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProcessInputError("inputs", "must be an object of input values")
    known = {p.name: p for p in params}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ProcessInputError(unknown[0], f"unknown input(s) {', '.join(unknown)}; this "
                                f"process takes {', '.join(known)}")
    out: dict[str, Any] = {}
    for p in params:
        value = data.get(p.name)
        if isinstance(value, dict):  # OGC qualified value {"value": …}; never a reference
            if "href" in value:
                raise ProcessInputError(p.name, "inputs by reference (href) are not accepted; "
                                        "give the value")
            if "value" not in value:
                raise ProcessInputError(p.name, f"must be a plain value, got {value!r}")
            value = value["value"]
        if value is None:
            if p.required:
                raise ProcessInputError(p.name, "is required", "MissingParameterValue")
            value = p.default
            out[p.name] = None if value is None else check_value(p.name, value, p.schema)
            continue
        out[p.name] = check_value(p.name, value, p.schema)
    return out


class OneMapProcessor(BaseProcessor):
    """Base of OneMap's processors.

    Subclasses declare ``PROCESS_ID``, ``TITLE``, ``DESCRIPTION`` (``i18n`` dicts), ``PARAMS``,
    ``OUTPUTS``, ``EXAMPLE`` and implement :meth:`check` (typed inputs + cheap data checks, run
    before a job exists) and :meth:`run` (the work, returning the outputs dict). ``data_dir``
    and ``public_url`` come from the processor definition in the pygeoapi config.
    """

    PROCESS_ID: str = ""
    TITLE: dict[str, str] = {}
    DESCRIPTION: dict[str, str] = {}
    KEYWORDS: tuple[str, ...] = ()
    PARAMS: tuple[Param, ...] = ()
    OUTPUTS: dict[str, dict[str, Any]] = {}
    EXAMPLE: dict[str, Any] = {}

    def __init__(self, processor_def: dict) -> None:
        super().__init__(processor_def, self.describe())
        self.settings = Settings(data_dir=Path(processor_def["data_dir"]),
                                 public_url=str(processor_def["public_url"]).rstrip("/"),
                                 system_db=str(processor_def.get("system_db", "")))
        #: Who asked (set by :meth:`prepare`, which runs in the request): the layers a run
        #: reads are limited to what this principal sees, also in an async job's thread.
        self.principal: Principal = ANONYMOUS
        self.manager: Any = None
        self.job_id: str | None = None
        #: time.monotonic() after which a synchronous run stops (set by the manager).
        self.deadline: float | None = None
        self.prepared: Any = None
        #: Catalogue ids and files this run created; removed if the job is cancelled.
        self.created_ids: list[str] = []
        self.created_files: list[Path] = []

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {
            "version": "1.0.0", "id": cls.PROCESS_ID, "title": dict(cls.TITLE),
            "description": dict(cls.DESCRIPTION), "keywords": list(cls.KEYWORDS),
            "jobControlOptions": ["sync-execute", "async-execute"],
            "links": [],
            "inputs": {p.name: p.describe() for p in cls.PARAMS},
            "outputs": copy.deepcopy(cls.OUTPUTS),
            "example": {"inputs": copy.deepcopy(cls.EXAMPLE)},
        }

    def set_job_id(self, job_id: str) -> None:
        self.job_id = job_id

    # -- validation -------------------------------------------------------------------------
    def check(self, values: dict[str, Any]) -> Any:
        """Typed inputs from parsed ``values``, checked against the data (raise InvalidInput)."""
        raise NotImplementedError

    def prepare(self, data: Any) -> Any:
        """Parse and check ``data``; the result is kept for :meth:`execute`."""
        self.principal = context.current()
        values = parse_inputs(self.PARAMS, data)
        try:
            self.prepared = self.check(values)
        except InvalidInput as err:
            raise from_analysis(err) from None
        return self.prepared

    # -- execution --------------------------------------------------------------------------
    def run(self, inputs: Any) -> dict[str, Any]:
        raise NotImplementedError

    def execute(self, data: dict, outputs: dict | None = None) -> tuple[str, Any]:
        inputs = self.prepared if self.prepared is not None else self.prepare(data)
        self.prepared = None
        try:
            result = self.run(inputs)
            self.progress(0.95, "result ready")
        except InvalidInput as err:
            self.discard()
            raise from_analysis(err) from None
        except BaseException:
            self.discard()
            raise
        return "application/json", result

    def job_exists(self) -> bool:
        if self.manager is None or self.job_id is None:
            return True
        try:
            self.manager.get_job(self.job_id)
        except JobNotFoundError:
            return False
        return True

    def progress(self, fraction: float, message: str) -> None:
        """Report progress (0–1) on the job; raise JobCancelled if the job was deleted."""
        if STOPPING.is_set():
            raise JobCancelled(f"the server is shutting down: stopped while {message}")
        if not self.job_exists():
            raise JobCancelled(f"job {self.job_id} was dismissed: {message}")
        if self.deadline is not None and time.monotonic() > self.deadline:
            limit = getattr(getattr(self.manager, "settings", None), "process_timeout", "")
            raise ProcessTimeout(f"stopped while {message}: a synchronous request may run at "
                                 f"most {limit} s (ONEMAP_PROCESS_TIMEOUT); run it as a job "
                                 "(Prefer: respond-async) or ask for less")
        if self.manager is not None and self.job_id is not None:
            self.manager.update_job(self.job_id, {
                "status": "running", "message": message,
                "progress": int(5 + 90 * max(0.0, min(1.0, fraction)))})

    def callback(self, lo: float, hi: float, message: str) -> Callable[[float], bool]:
        """A ``progress(fraction) -> bool`` for analyses, mapped onto [lo, hi] of this job;
        it returns False once the job has been deleted (the analysis then stops)."""
        def report(fraction: float) -> bool:
            try:
                self.progress(lo + (hi - lo) * fraction, f"{message} ({fraction:.0%})")
            except JobCancelled:
                return False
            return True
        return report

    def discard(self) -> None:
        """Remove what this run registered or wrote (the run failed or was cancelled)."""
        for dataset_id in self.created_ids:
            try:
                entry = catalog.remove(dataset_id, self.settings)
            except catalog.UnknownDataset:
                continue
            path = entry.file(self.settings)
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        for path in self.created_files:
            path.unlink(missing_ok=True)
        self.created_ids.clear()
        self.created_files.clear()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}> {self.PROCESS_ID}"
