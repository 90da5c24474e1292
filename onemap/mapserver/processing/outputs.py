"""JSON-safe process outputs: table records and GeoJSON FeatureCollections the map can draw."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from shapely.geometry import mapping

from onemap.analysis.report import jsonable


def value(v: Any) -> Any:
    """One cell as JSON: NaN/NA → None, times and dates → ISO strings, numpy → Python."""
    if isinstance(v, dt.date | dt.datetime) and not isinstance(v, pd.Timestamp):
        return v.isoformat()
    try:
        if v is not None and not isinstance(v, list | tuple | dict) and pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return jsonable(v)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` (geometry dropped) as JSON-safe dicts."""
    cols = [c for c in frame.columns if c != "geometry"]
    return [{c: value(v) for c, v in zip(cols, row, strict=True)}
            for row in frame[cols].itertuples(index=False, name=None)]


def feature(geometry: Any, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": mapping(geometry) if geometry is not None else None,
            "properties": {k: value(v) for k, v in properties.items()}}


def collection(features: list[dict[str, Any]], **members: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features,
            **{k: jsonable(v) for k, v in members.items()}}
