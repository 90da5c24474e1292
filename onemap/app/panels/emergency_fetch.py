"""What the Emergency panel reads from the server besides running the process: the reported
incidents, the process's pollutant enum, the last hour of air data, a station's name.

Each read fails softly: the form still works without them (no incident list, the app's own
pollutant table, an empty time field), and the panel says so where it matters.
"""

from __future__ import annotations

from typing import Any

import requests

from onemap.app import serverhttp
from onemap.app.ogcclient import OgcError, explain, items
from onemap.app.panels.emergency_form import PROCESS, beijing
from onemap.app.sources import internal_url
from onemap.config import Settings

TIMEOUT_S = 15.0


def _get_json(settings: Settings, path: str, **params: Any) -> Any:
    return serverhttp.get_json(f"{internal_url(settings)}{path}",
                               params={"f": "json", **params}, timeout=TIMEOUT_S)


def load_meta(settings: Settings) -> dict:
    """What the form needs from the server once per page: the reported incidents, the
    process's pollutant enum and the last hour of air data (the default incident time)."""
    meta: dict[str, Any] = {"incidents": [], "enum": None, "end": None, "error": None}
    try:
        doc = items(settings, "incidents", limit=1000)
        meta["incidents"] = list(doc.get("features") or [])
    except OgcError as err:
        meta["error"] = {"zh": explain(err, "zh"), "en": explain(err, "en")}
    try:
        desc = _get_json(settings, f"/ogc/processes/{PROCESS}")
        meta["enum"] = list(desc["inputs"]["pollutant"]["schema"]["enum"])
    except (requests.RequestException, ValueError, KeyError, TypeError):
        pass  # the app's own table stands in; the server still checks every request
    try:
        ext = _get_json(settings, "/ogc/collections/air_hourly")
        meta["end"] = beijing(ext["extent"]["temporal"]["interval"][0][1])
    except (requests.RequestException, ValueError, KeyError, TypeError, IndexError):
        pass  # no default time: the field stays empty and says how to fill it
    return meta


def station_name(settings: Settings, result: dict) -> str | None:
    """The name of the station whose wind the plume used (the result gives only its code)."""
    source = str(((result.get("summary") or {}).get("wind") or {}).get("source") or "")
    if not source or source == "given":
        return None
    try:
        feats = items(settings, "air_stations", station_id=source, skipGeometry="true",
                      limit=1).get("features") or []
    except OgcError:
        return None
    return str((feats[0].get("properties") or {}).get("name") or "") or None if feats else None
