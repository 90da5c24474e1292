"""Process input parsing and descriptions without a server: the declared JSON schema is what is
enforced, and every refusal is a 400 naming the input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from onemap.mapserver.processing import PROCESSES, base
from onemap.mapserver.processing.air import AqiDailyProcessor, period
from onemap.mapserver.processing.base import Param, ProcessInputError, parse_inputs
from onemap.mapserver.processing.data import hourly_where
from onemap.mapserver.processing.emergency import IncidentAssessmentProcessor
from onemap.mapserver.processing.surfaces import Pm25SurfaceProcessor

PARAMS = (
    Param("n", {"type": "integer", "minimum": 1, "maximum": 5, "default": 2}, "n", "n"),
    Param("x", {"type": "number", "exclusiveMinimum": 0}, "x", "x", required=True),
    Param("kind", {"type": "string", "enum": ["a", "b"], "default": "a"}, "k", "k"),
    Param("day", {"type": "string", "format": "date"}, "d", "d"),
    Param("at", {"type": "string", "format": "date-time"}, "t", "t"),
    Param("ids", {"type": "array", "items": {"type": "string"}, "maxItems": 2,
                  "uniqueItems": True}, "i", "i"),
)


def _error(data: dict) -> ProcessInputError:
    with pytest.raises(ProcessInputError) as info:
        parse_inputs(PARAMS, data)
    assert info.value.http_status_code == 400
    return info.value


def test_defaults_and_conversions() -> None:
    v = parse_inputs(PARAMS, {"x": 1, "day": "2025-01-24", "at": "2025-01-24T20:00:00Z",
                              "ids": ["p", "q"], "kind": {"value": "b"}})
    assert v["n"] == 2 and isinstance(v["x"], float) and v["kind"] == "b"
    assert v["day"] == pd.Timestamp("2025-01-24", tz="Asia/Shanghai")
    assert v["at"] == pd.Timestamp("2025-01-25T04:00:00+08:00")  # converted to Beijing time
    assert v["ids"] == ("p", "q")
    naive = parse_inputs(PARAMS, {"x": 1, "at": "2025-01-24T20:00"})["at"]
    assert naive.isoformat() == "2025-01-24T20:00:00+08:00"  # naive = Beijing, the data's zone


@pytest.mark.parametrize(("data", "parameter", "code", "words"), [
    ({}, "x", "MissingParameterValue", "required"),
    ({"x": "1"}, "x", "InvalidParameterValue", "must be a number"),
    ({"x": True}, "x", "InvalidParameterValue", "must be a number"),
    ({"x": 0}, "x", "InvalidParameterValue", "> 0"),
    ({"x": 1, "n": 2.5}, "n", "InvalidParameterValue", "integer"),
    ({"x": 1, "n": 9}, "n", "InvalidParameterValue", "≤ 5"),
    ({"x": 1, "kind": "c"}, "kind", "InvalidParameterValue", "one of a, b"),
    ({"x": 1, "day": "24/01/2025"}, "day", "InvalidParameterValue", "YYYY-MM-DD"),
    ({"x": 1, "day": "2025-02-30"}, "day", "InvalidParameterValue", "not a valid"),
    ({"x": 1, "at": "yesterday"}, "at", "InvalidParameterValue", "ISO 8601"),
    ({"x": 1, "ids": "p"}, "ids", "InvalidParameterValue", "array"),
    ({"x": 1, "ids": ["p", "p"]}, "ids", "InvalidParameterValue", "distinct"),
    ({"x": 1, "ids": ["p", "q", "r"]}, "ids", "InvalidParameterValue", "items"),
    ({"x": 1, "ids": ["p", 3]}, "ids[1]", "InvalidParameterValue", "string"),
    ({"x": {"href": "file:///etc/passwd"}}, "x", "InvalidParameterValue", "reference"),
    ({"x": 1, "file": "/etc/passwd"}, "file", "InvalidParameterValue", "unknown input"),
    # found by schemathesis: these were 500s (OverflowError, pandas' NotImplementedError)
    ({"x": 10 ** 400}, "x", "InvalidParameterValue", "too large"),
    ({"x": 1, "n": -(10 ** 400)}, "n", "InvalidParameterValue", "too large"),
    ({"x": 1, "day": "0000-01-01"}, "day", "InvalidParameterValue", "not a valid"),
    ({"x": 1, "at": "0000-01-01T00:00:00Z"}, "at", "InvalidParameterValue", "not a valid"),
    ({"x": 1, "day": "9999-12-31"}, "day", "InvalidParameterValue", "not a valid"),
])
def test_refusals_name_the_input(data: dict, parameter: str, code: str, words: str) -> None:
    err = _error(data)
    assert err.parameter == parameter and err.ogc_exception_code == code
    assert err.message.startswith(f"{parameter}: ") and words in err.message


def test_descriptions_are_bilingual_and_json() -> None:
    for dotted in PROCESSES.values():
        module, name = dotted.rsplit(".", 1)
        cls = getattr(__import__(module, fromlist=[name]), name)
        d = cls.describe()
        assert set(d["title"]) == {"zh", "en"} and set(d["description"]) == {"zh", "en"}
        assert d["jobControlOptions"] == ["sync-execute", "async-execute"]
        json.dumps(d)
        for spec in d["inputs"].values():
            assert set(spec["title"]) == {"zh", "en"}
        # the example is itself valid input
        parse_inputs(cls.PARAMS, d["example"]["inputs"])
        # no input can carry a path or URL: every string is an enum, a pattern, a date or short
        for p in cls.PARAMS:
            s = p.schema if p.schema["type"] != "array" else p.schema["items"]
            if s["type"] == "string":
                assert {"enum", "pattern", "format", "maxLength"} & set(s), (cls, p.name)


def test_schema_enums_follow_the_analyses() -> None:
    from onemap.analysis import surfaces
    from onemap.analysis.emergency import POLLUTANTS

    inputs = IncidentAssessmentProcessor.describe()["inputs"]
    assert inputs["pollutant"]["schema"]["enum"] == sorted(POLLUTANTS)
    assert Pm25SurfaceProcessor.describe()["inputs"]["pollutant"]["schema"]["enum"] == \
        list(surfaces.POLLUTANTS)
    assert AqiDailyProcessor.describe()["inputs"]["threshold"]["schema"]["default"] == 100


def test_period_reads_bare_dates_as_whole_days() -> None:
    t0, t1 = period("2025-01-21", "2025-01-25")
    assert t0.isoformat() == "2025-01-21T01:00:00+08:00"
    assert t1.isoformat() == "2025-01-26T00:00:00+08:00"
    t0, t1 = period("2025-01-21T05:00:00+08:00", "2025-01-21T06:00")
    assert (t0.hour, t1.hour) == (5, 6)
    with pytest.raises(base.InvalidInput, match="end"):
        period("2025-01-25", "2025-01-21")


def test_hourly_filter_includes_the_last_hour_and_quotes_ids() -> None:
    t = pd.Timestamp("2025-01-24T20:00:00+08:00")
    where = hourly_where(t, t, ["a'b"])
    assert "time >= '2025-01-24T12:00:00' AND time < '2025-01-24T12:00:01'" in where
    assert "station_id IN ('a''b')" in where
