"""pygeoapi configuration generated from the catalogue, and the mounted pygeoapi app.

The config is derived, never hand-written: every vector layer and attribute table in the
catalogue becomes one OGC API Features collection backed by :class:`OneMapProvider`, so an
imported layer appears on the next start without anyone editing YAML.

pygeoapi reads ``PYGEOAPI_CONFIG`` and ``PYGEOAPI_OPENAPI`` when ``pygeoapi.starlette_app`` is
imported, so :func:`load_pygeoapi` writes both files into ``settings.runtime_dir`` first, then
imports (or, for a second app in the same process, reloads) that module.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pyogrio
import yaml

from onemap import catalog
from onemap.catalog import Entry
from onemap.config import Settings
from onemap.layers.families import FAMILIES
from onemap.mapserver.offline import write_templates
from onemap.mapserver.processing import MANAGER, process_resources
from onemap.mapserver.processing.manager import manager_settings
from onemap.mapserver.views import materialise

#: Mount path of pygeoapi inside the OneMap app; part of every pygeoapi link.
OGC_PREFIX = "/ogc"
PROVIDER = "onemap.mapserver.provider.OneMapProvider"
#: A 1×1 transparent PNG: pygeoapi's HTML map needs a tile URL, and an offline intranet has no
#: public tile server, so the default basemap draws nothing instead of failing requests.
BLANK_TILE = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42"
              "mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


def _when(text: str | None) -> datetime | None:
    """An ISO time as an aware datetime (pygeoapi compares extents with aware times)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _i18n(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en or zh}


def collection(entry: Entry, settings: Settings, data: Path | None = None) -> dict[str, Any]:
    """One pygeoapi ``collection`` resource for a vector layer or attribute table.

    ``data`` replaces the layer's own file with a materialised view of it (see views.py).
    """
    family = FAMILIES.get(entry.family)
    key = family.key if family else None
    # A time series repeats its family key (one row per station and hour): use the row id.
    id_field = key if entry.kind == "vector" and key else "fid"
    time_field = family.time_field if family else None
    fields = entry.fields or {}
    if time_field and fields and time_field not in fields:
        time_field = None
    title_field = "name" if "name" in fields else ("title" if "title" in fields else None)
    description = entry.description or (family.title if family else entry.title)
    res: dict[str, Any] = {
        "type": "collection",
        "title": _i18n(entry.title, entry.title_en),
        "description": _i18n(f"{description}（访问级别：{entry.access}）",
                             f"{entry.title_en or entry.title} (access: {entry.access})"),
        "keywords": [k for k in (entry.family, entry.kind, f"access:{entry.access}") if k],
        "links": [{
            "type": "application/json", "rel": "describedby", "title": "OneMap catalogue",
            "href": f"{settings.public_url}/api/catalog#{entry.id}", "hreflang": "zh-CN",
        }],
        "extents": {"spatial": {
            "bbox": entry.bbox or [-180.0, -90.0, 180.0, 90.0],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        }},
        "providers": [{
            "type": "feature", "name": PROVIDER, "data": str(data or entry.file(settings)),
            "id_field": id_field, "options": {"table": entry.id},
        }],
        # Carried for the role-based access issue: it filters on this without a migration.
        "onemap": {"access": entry.access, "kind": entry.kind, "family": entry.family},
    }
    if time_field:
        res["providers"][0]["time_field"] = time_field
        if entry.time_extent:
            begin, end = (_when(t) for t in (entry.time_extent + [None, None])[:2])
            res["extents"]["temporal"] = {"begin": begin, "end": end}
    if title_field:
        res["providers"][0]["title_field"] = title_field
    return res


def build_config(settings: Settings) -> dict[str, Any]:
    """The whole pygeoapi config for ``settings``' catalogue."""
    entries = catalog.load(settings)
    views = materialise(entries, settings)
    resources = {e.id: collection(e, settings, views.get(e.id)) for e in entries.values()
                 if e.kind in ("vector", "table") and e.file(settings).exists()}
    resources.update(process_resources(settings))  # OGC API Processes (ids have a hyphen)
    return {
        "server": {
            "bind": {"host": settings.host, "port": settings.port},
            "url": settings.public_url + OGC_PREFIX,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "gzip": False,
            "languages": ["zh-CN", "en-US"],
            "pretty_print": False,
            "limits": {"default_items": 10, "max_items": settings.max_items},
            # Our copies of the templates that load CDN assets, rewritten to local ones.
            "templates": {"path": str(settings.runtime_dir / "templates")},
            "map": {"url": settings.basemap_url or BLANK_TILE,
                    "attribution": settings.basemap_attribution or "OneMap"},
            "manager": {"name": MANAGER, **manager_settings(settings)},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": _i18n("OneMap 生态环境一张图", "OneMap ecological-environment one map"),
                "description": _i18n("生态环境数据的 OGC API 服务",
                                     "OGC API of OneMap's ecological-environment data"),
                "keywords": ["生态环境", "environment", "OGC API"],
                "keywords_type": "theme",
                "terms_of_service": "https://www.apache.org/licenses/LICENSE-2.0",
                "url": settings.public_url,
            },
            "license": {"name": "Apache-2.0",
                        "url": "https://www.apache.org/licenses/LICENSE-2.0"},
            "provider": {"name": "OneMap", "url": settings.public_url},
            "contact": {"name": "OneMap", "position": "", "address": "", "city": "",
                        "stateorprovince": "", "postalcode": "", "country": "China",
                        "email": "", "url": settings.public_url, "role": "pointOfContact"},
        },
        "resources": resources,
    }


def write_runtime_files(settings: Settings) -> tuple[str, str]:
    """Write the config and its OpenAPI document; return their paths."""
    from pygeoapi.openapi import generate_openapi_document

    runtime = settings.runtime_dir
    (runtime / "jobs").mkdir(parents=True, exist_ok=True)  # pygeoapi does not create it
    write_templates(settings)
    config_path = runtime / "pygeoapi-config.yml"
    openapi_path = runtime / "pygeoapi-openapi.yml"
    text = yaml.safe_dump(build_config(settings), allow_unicode=True, sort_keys=False)
    catalog.atomic_write_bytes(config_path, text.encode("utf-8"))
    doc = generate_openapi_document(config_path, "yaml", fail_on_invalid_collection=False)
    catalog.atomic_write_bytes(openapi_path, doc.encode("utf-8"))
    return str(config_path), str(openapi_path)


#: Query parameters pygeoapi's items endpoint understands besides property names.
ITEMS_PARAMS = {"f", "lang", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime",
                "resulttype", "sortby", "properties", "skipGeometry", "q", "filter",
                "filter-lang", "filter-crs"}


class RejectUnknownParams:
    """400 for unknown query parameters on ``/collections/{id}/items`` (OGC API Features
    /rec/core/query-param-unknown); pygeoapi silently ignores them, so a misspelt filter
    would return the whole layer instead of an error."""

    def __init__(self, app: Any, queryables: dict[str, set[str]]) -> None:
        self.app = app
        self.queryables = queryables

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path, root = scope["path"], scope.get("root_path", "")
            # Starlette keeps the full path in a Mount and puts the mount point in root_path.
            path = path[len(root):] if root and path.startswith(root) else path
            parts = path.strip("/").split("/")
            if len(parts) == 3 and parts[0] == "collections" and parts[2] == "items" \
                    and parts[1] in self.queryables:
                names = {k for k, _ in parse_qsl(scope.get("query_string", b"").decode(
                    "latin-1"), keep_blank_values=True)}
                unknown = sorted(names - ITEMS_PARAMS - self.queryables[parts[1]])
                if unknown:
                    body = json.dumps({"code": "InvalidParameterValue", "type":
                                       "InvalidParameterValue", "description":
                                       f"unknown query parameter(s): {', '.join(unknown)}"})
                    await send({"type": "http.response.start", "status": 400, "headers": [
                        (b"content-type", b"application/json")]})
                    await send({"type": "http.response.body", "body": body.encode()})
                    return
        await self.app(scope, receive, send)


def _queryables(config: dict[str, Any]) -> dict[str, set[str]]:
    out = {}
    for cid, res in config["resources"].items():
        if res.get("type") != "collection":
            continue
        prov = res["providers"][0]
        names = set(pyogrio.read_info(prov["data"], layer=prov["options"]["table"])["fields"])
        out[cid] = {str(n) for n in names} | {prov["id_field"]}
    return out


def load_pygeoapi(settings: Settings) -> Any:
    """The pygeoapi Starlette app configured for ``settings`` (import after the files exist)."""
    config_path, openapi_path = write_runtime_files(settings)
    os.environ["PYGEOAPI_CONFIG"] = config_path
    os.environ["PYGEOAPI_OPENAPI"] = openapi_path
    name = "pygeoapi.starlette_app"
    module = importlib.reload(sys.modules[name]) if name in sys.modules else \
        importlib.import_module(name)
    return RejectUnknownParams(module.APP, _queryables(module.CONFIG))
