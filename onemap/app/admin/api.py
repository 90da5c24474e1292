"""The admin page's HTTP client of ``/api/admin`` (and the public region names it shows).

Every call goes through :mod:`onemap.app.serverhttp`, so it carries the browser's session
cookie and, for writes, the CSRF token the Dash request brought: the server decides with the
rights of the person at the browser, and a non-admin gets the server's 401/403, which the page
words (it never decides access itself). A refusal is kept whole (:class:`Answer`: status,
``code``, ``detail``) so the page can show the server's own reason next to the form.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from onemap.app import ogcclient, serverhttp
from onemap.app.sources import internal_url
from onemap.config import Settings

TIMEOUT_S = 15.0
#: How long region names are reused (the boundaries layer changes on a re-import, rarely).
REGIONS_TTL_S = 300.0
REGION_LAYER = "admin_boundaries"

_REGIONS: dict[str, Any] = {"at": 0.0, "names": {}}
_REGIONS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Answer:
    """The server's answer: ``status`` 0 when it could not be reached."""

    status: int
    doc: Any = field(default=None)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def detail(self) -> str:
        """The server's reason (``detail``, else ``code``), or what went wrong on the way."""
        doc = self.doc if isinstance(self.doc, dict) else {}
        detail = doc.get("detail")
        if isinstance(detail, list):  # FastAPI's validation errors: one line each
            detail = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: "
                               f"{d.get('msg', '')}" for d in detail if isinstance(d, dict))
        return str(detail or doc.get("code") or "")


def path(*parts: str) -> str:
    """``/api/admin/<parts…>`` with each part quoted (user names, key ids are path segments)."""
    return "/api/admin/" + "/".join(quote(str(p), safe="") for p in parts)


def call(settings: Settings, method: str, where: str, *, body: Any = None,
         params: dict[str, Any] | None = None) -> Answer:
    """``method where`` on the server as the browser's user."""
    try:
        resp = serverhttp.call(method, internal_url(settings) + where, timeout=TIMEOUT_S,
                               headers={"Accept": "application/json"}, json=body,
                               params={k: v for k, v in (params or {}).items()
                                       if v not in (None, "")})
    except requests.RequestException as exc:
        return Answer(0, {"detail": type(exc).__name__})
    try:
        doc = resp.json()
    except ValueError:
        doc = {"detail": f"HTTP {resp.status_code}"}
    return Answer(resp.status_code, doc)


def listed(answer: Answer, key: str) -> list[dict]:
    """The list ``key`` of a successful answer (empty otherwise)."""
    items = answer.doc.get(key) if answer.ok and isinstance(answer.doc, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def region_names(settings: Settings) -> dict[str, str]:
    """Region code → name from the public ``admin_boundaries`` collection (empty when it
    cannot be read: the page then shows codes). Reused for :data:`REGIONS_TTL_S`."""
    with _REGIONS_LOCK:
        if time.monotonic() - _REGIONS["at"] < REGIONS_TTL_S and _REGIONS["names"]:
            return dict(_REGIONS["names"])
    try:
        doc = ogcclient.items(settings, REGION_LAYER, limit=1000, skipGeometry="true",
                              properties="adcode,name")
    except ogcclient.OgcError:
        return {}
    names = {}
    for feature in doc.get("features") or []:
        props = feature.get("properties") or {}
        if props.get("adcode"):
            names[str(props["adcode"])] = str(props.get("name") or "")
    with _REGIONS_LOCK:
        _REGIONS.update(at=time.monotonic(), names=names)
    return dict(names)
