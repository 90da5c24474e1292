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
import math
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import pyogrio
import yaml

from onemap import catalog
from onemap.catalog import Entry
from onemap.config import Settings
from onemap.layers.edits import editable
from onemap.layers.families import FAMILIES
from onemap.mapserver import ogc_access, ogc_edits
from onemap.mapserver.errors import internal_error
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


def _i18n(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en or zh}


def collection(entry: Entry, settings: Settings, data: Path | None = None) -> dict[str, Any]:
    """One pygeoapi ``collection`` resource for a vector layer or attribute table.

    ``data`` replaces the layer's own file with a materialised view of it (see views.py).
    """
    family = FAMILIES.get(entry.family)
    extra = entry.extra or {}
    # A dataset of no family (the live tables) names its key and time in its entry.
    key = family.key if family else extra.get("key")
    # A time series repeats its family key (one row per station and hour): use the row id.
    id_field = key if entry.kind == "vector" and key else "fid"
    time_field = family.time_field if family else extra.get("time_field")
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
            "id_field": id_field,
            # Part 4 writes (ogc_edits.py) go to the layer's own file, never to a view of it
            "editable": data is None and editable(entry),
            # the provider asks the access policy, which reads the catalogue and the rules
            "options": {"table": entry.id, "data_dir": str(settings.data_dir),
                        "system_db": settings.system_db},
        }],
        # Carried for the role-based access issue: it filters on this without a migration.
        "onemap": {"access": entry.access, "kind": entry.kind, "family": entry.family},
    }
    if entry.kind == "vector":  # vector tiles (onemap.mapserver.vtiles)
        tiles = f"{settings.public_url}{OGC_PREFIX}/collections/{entry.id}/tiles"
        res["links"] += [
            {"type": "application/json", "title": "Vector tilesets (Mapbox Vector Tiles)",
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", "href": tiles},
            {"type": "application/json", "rel": "describedby", "title": "TileJSON",
             "href": f"{tiles}/WebMercatorQuad/tilejson.json"},
            {"type": "application/vnd.mapbox.style+json", "rel": "stylesheet",
             "title": "MapLibre / Mapbox GL style", "href": f"{tiles}/WebMercatorQuad/style.json"},
        ]
    if time_field:
        res["providers"][0]["time_field"] = time_field
        if entry.time_extent:
            begin, end = (ogc_access.when(t) for t in (entry.time_extent + [None, None])[:2])
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


def editable_collections(config: dict[str, Any]) -> dict[str, str]:
    """The collections of ``config`` that take Part 4 edits: id → family."""
    return {cid: res["onemap"]["family"] for cid, res in config["resources"].items()
            if res.get("type") == "collection" and res["providers"][0].get("editable")}


def write_runtime_files(settings: Settings) -> tuple[str, str]:
    """Write the config and its OpenAPI document; return their paths."""
    from pygeoapi.openapi import generate_openapi_document

    runtime = settings.runtime_dir
    (runtime / "jobs").mkdir(parents=True, exist_ok=True)  # pygeoapi does not create it
    write_templates(settings)
    config_path = runtime / "pygeoapi-config.yml"
    openapi_path = runtime / "pygeoapi-openapi.yml"
    config = build_config(settings)
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    catalog.atomic_write_bytes(config_path, text.encode("utf-8"))
    doc = generate_openapi_document(config_path, "yaml", fail_on_invalid_collection=False)
    doc = yaml.safe_dump(ogc_edits.document(yaml.safe_load(doc), editable_collections(config)),
                         allow_unicode=True, sort_keys=False)
    catalog.atomic_write_bytes(openapi_path, doc.encode("utf-8"))
    return str(config_path), str(openapi_path)


#: Query parameters pygeoapi's items endpoint understands besides property names.
ITEMS_PARAMS = {"f", "lang", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime",
                "resulttype", "sortby", "properties", "skipGeometry", "q", "filter",
                "filter-lang", "filter-crs"}


def best_language(value: str, languages: list[str]) -> str | None:
    """The first of ``languages`` that a ``lang`` value or ``Accept-Language`` header names by
    its primary subtag (``zh``, ``zh-TW``, ``zh_Hant`` → ``zh-CN``; ``en-GB;q=0.8`` → ``en-US``),
    or None: babel (through pygeoapi) raises on tags it cannot build, such as ``zh`` with a
    territory it has no data for, ``de``, ``*`` or ``null``, and that was a 500."""
    primaries = {lang.split("-")[0].lower(): lang for lang in reversed(languages)}
    for part in value.split(","):
        primary = part.split(";")[0].strip().replace("_", "-").split("-")[0].lower()
        if primary in primaries:
            return primaries[primary]
    return None


def _with_language(scope: dict, languages: list[str]) -> dict:
    """``scope`` with its ``lang`` parameter and ``Accept-Language`` header replaced by a
    language pygeoapi serves, or dropped (pygeoapi then answers in its default language)."""
    raw = scope.get("query_string", b"").decode("latin-1")
    parts = raw.split("&") if raw else []
    langs = [p for p in parts if p.split("=", 1)[0] == "lang"]
    headers = scope.get("headers", [])
    accept = [v for k, v in headers if k == b"accept-language"]
    if not langs and not accept:
        return scope
    scope = dict(scope)
    if langs:
        wanted = unquote_plus(langs[0].partition("=")[2])
        match = best_language(wanted, languages)
        kept = [p for p in parts if p.split("=", 1)[0] != "lang"]
        kept += [f"lang={match}"] if match else []
        scope["query_string"] = "&".join(kept).encode("latin-1")
    if accept:
        match = best_language(b",".join(accept).decode("latin-1"), languages)
        scope["headers"] = [(k, v) for k, v in headers if k != b"accept-language"] + (
            [(b"accept-language", match.encode())] if match else [])
    return scope


def items_problem(pairs: list[tuple[str, str]], queryables: set[str]) -> str | None:
    """What is wrong with an items query pygeoapi would answer with a 500 (or ignore), else
    None: unknown parameters (OGC /rec/core/query-param-unknown), ``sortby`` terms that are
    empty or name no property, a ``bbox`` that is not finite numbers, an offset or limit that
    is not a non-negative integer of sane size."""
    unknown = sorted({k for k, _ in pairs} - ITEMS_PARAMS - queryables)
    if unknown:
        return f"unknown query parameter(s): {', '.join(unknown)}"
    for name, value in pairs:
        if name == "sortby":
            for term in value.split(","):
                prop = term.strip().lstrip("+-").strip()
                if not prop:
                    return f"sortby: {value!r} has an empty term; give [+|-]property,…"
                if prop not in queryables:
                    return f"sortby: unknown property {prop!r}"
        elif name == "bbox":
            try:
                numbers = [float(v) for v in value.split(",")]
            except ValueError:
                continue  # pygeoapi's own 400 names it
            if not all(math.isfinite(v) for v in numbers):
                return f"bbox: {value!r} — the numbers must be finite"
        elif name in ("offset", "limit") and value.strip().lstrip("-").isdigit() \
                and abs(int(value)) >= 2**53:
            return f"{name}: {value} is too large"
    return None


def execution_problem(body: bytes) -> str | None:
    """What is wrong with an OGC API Processes execute request pygeoapi would fail on with a
    500 (it calls ``.get`` on whatever JSON it parsed), else None; the inputs themselves are
    checked by the processes (processing/base.py)."""
    if not body.strip():
        return None  # pygeoapi's own 400 ("missing request data")
    try:
        data = json.loads(body.decode("utf-8"))
    except ValueError:  # pygeoapi catches JSON errors, not a UnicodeDecodeError (a 500)
        return "the body must be JSON in UTF-8, e.g. {\"inputs\": {…}}"
    if not isinstance(data, dict):
        return "the body must be a JSON object such as {\"inputs\": {…}}"
    for key in ("inputs", "outputs", "subscriber"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            return f"{key} must be a JSON object"
    if data.get("response", "raw") not in ("raw", "document"):
        return "response must be raw or document"
    return None


async def _read_body(receive: Any) -> tuple[bytes, Any]:
    """The whole request body, and a ``receive`` that hands it over again."""
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body, sent = b"".join(chunks), False

    async def replay() -> dict:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


async def _refuse(send: Any, problem: str) -> None:
    """400 in pygeoapi's exception form, with our ``detail`` too."""
    body = json.dumps({"code": "InvalidParameterValue", "type": "InvalidParameterValue",
                       "description": problem, "detail": problem})
    await send({"type": "http.response.start", "status": 400, "headers": [
        (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body.encode()})


class RejectUnknownParams:
    """The gate in front of pygeoapi: languages it can serve (never a babel error), 400 for
    items queries it would ignore or fail on (see :func:`items_problem`), and access: the
    request's principal carried into pygeoapi's threads, 404 for a collection it may not see
    (as for an unknown one), hidden collections' paths left out of the OpenAPI document (see
    :mod:`onemap.mapserver.ogc_access`); and the writes of single features (Part 4), answered
    by :mod:`onemap.mapserver.ogc_edits` (405 for a read-only collection)."""

    def __init__(self, app: Any, queryables: dict[str, set[str]], languages: list[str],
                 settings: Settings, providers: dict[str, dict] | None = None) -> None:
        self.app = app
        self.queryables = queryables
        self.languages = languages
        self.settings = settings
        self.collections = set(queryables)
        self.providers = providers or {}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        scope = _with_language(scope, self.languages)
        path, root = scope["path"], scope.get("root_path", "")
        # Starlette keeps the full path in a Mount and puts the mount point in root_path.
        path = path[len(root):] if root and path.startswith(root) else path
        parts = path.strip("/").split("/")
        ogc_access.carry_principal()
        if ogc_access.collection_problem(parts, self.collections, self.settings):
            return await ogc_access.not_found(send)
        if parts == ["openapi"] and scope["method"] == "GET":
            hidden = ogc_access.hidden_collections(self.settings, list(self.collections))
            return await ogc_access.send_filtered_openapi(self.app, scope, receive, send,
                                                          hidden)
        edit = ogc_edits.edit_of(scope["method"], parts, scope.get("headers", []))
        if edit and parts[1] in self.providers:
            return await ogc_edits.handle(edit, parts, scope, receive, send,
                                          self.providers[parts[1]],
                                          self.settings.public_url + OGC_PREFIX)
        problem = None
        if scope["method"] in ("GET", "POST") and len(parts) == 3 \
                and parts[0] == "collections" and parts[2] == "items" \
                and parts[1] in self.queryables:
            problem = items_problem(parse_qsl(scope.get("query_string", b"").decode(
                "latin-1"), keep_blank_values=True), self.queryables[parts[1]])
            if scope["method"] == "POST" and not any(k == b"content-type"
                                                     for k, _ in scope.get("headers", [])):
                # pygeoapi answers nothing at all (a 500) to a POST it cannot dispatch
                problem = "a POST to items is a CQL2 JSON filter (Content-Type: " \
                          "application/json) or a new feature (application/geo+json)"
        elif scope["method"] == "POST" and len(parts) == 3 and parts[0] == "processes" \
                and parts[2] == "execution":
            body, receive = await _read_body(receive)
            problem = execution_problem(body)
        if problem:
            return await _refuse(send, problem)
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
    module.APP.add_exception_handler(Exception, internal_error)  # JSON 500, not text
    queryables = _queryables(module.CONFIG)  # every collection, before access filters them
    providers = {cid: res["providers"][0] for cid, res in module.CONFIG["resources"].items()
                 if res.get("type") == "collection"}
    ogc_edits.declare_conformance(bool(editable_collections(module.CONFIG)))
    ogc_access.install(module, settings)
    return RejectUnknownParams(module.APP, queryables, module.CONFIG["server"]["languages"],
                               settings, providers)
