"""The gate in front of pygeoapi: what it would answer badly, answered here first.

pygeoapi ignores query parameters it does not know, answers some client mistakes with a 500
and has no notion of who asks. Every request to ``/ogc`` passes :class:`RejectUnknownParams`
first: it hides the collections the caller may not see (:mod:`onemap.mapserver.ogc_access`),
refuses unknown or malformed parameters with a 400 ``{code, detail}`` naming them, checks
``crs``/``bbox-crs`` (:mod:`onemap.mapserver.ogc_crs`), hands EDR queries, Part 4 edits and
keyset pages to their modules, and rewrites the descriptions pygeoapi gets wrong.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from onemap.config import Settings
from onemap.mapserver import edr_gate, ogc_access, ogc_describe, ogc_edits, ogc_paging, records
from onemap.mapserver.ogc_crs import crs_problem

#: Mount path of pygeoapi inside the OneMap app; part of every pygeoapi link.
OGC_PREFIX = "/ogc"

#: Query parameters pygeoapi's items endpoint understands besides property names.
ITEMS_PARAMS = {"f", "lang", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime",
                "resulttype", "sortby", "properties", "skipGeometry", "q", "filter",
                "filter-lang", "filter-crs", ogc_paging.AFTER}


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


async def _send_json(send: Any, doc: dict[str, Any], status: int = 200,
                     ctype: bytes = b"application/schema+json",
                     headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", ctype), (b"content-length", str(len(body)).encode()),
        *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


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
    by :mod:`onemap.mapserver.ogc_edits` (405 for a read-only collection). Also ``crs`` and
    ``bbox-crs`` checked (:mod:`onemap.mapserver.ogc_crs`), the items request handed to the
    provider for keyset paging (:mod:`onemap.mapserver.ogc_paging`), and collections described
    as what they are (:mod:`onemap.mapserver.ogc_describe`; ``shapes``: id → geometry format,
    None for an attribute table)."""

    def __init__(self, app: Any, queryables: dict[str, set[str]], languages: list[str],
                 settings: Settings, providers: dict[str, dict] | None = None,
                 edr_families: dict[str, str] | None = None,
                 shapes: dict[str, str | None] | None = None) -> None:
        self.app = app
        self.edr = edr_families or {}
        self.queryables = queryables
        self.languages = languages
        self.settings = settings
        self.collections = set(queryables)
        self.providers = providers or {}
        self.shapes = shapes or {}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        scope = _with_language(scope, self.languages)
        path, root = scope["path"], scope.get("root_path", "")
        # Starlette keeps the full path in a Mount and puts the mount point in root_path.
        path = path[len(root):] if root and path.startswith(root) else path
        parts = path.strip("/").split("/")
        ogc_access.carry_principal()
        records.LANGUAGE.set(records.language_of(scope))
        if ogc_access.collection_problem(parts, self.collections, self.settings):
            return await ogc_access.not_found(send)
        if parts == ["openapi"] and scope["method"] == "GET":
            hidden = ogc_access.hidden_collections(self.settings, list(self.collections))
            return await ogc_access.send_filtered_openapi(self.app, scope, receive, send,
                                                          hidden)
        if parts == ["collections", records.RECORDS_ID, "sortables"] \
                and scope["method"] in ("GET", "HEAD"):
            return await _send_json(send, records.sortables(self.settings.public_url
                                                             + OGC_PREFIX))
        query = edr_gate.query_of(parts)
        if query and scope["method"] == "GET" and parts[1] in self.queryables:
            problem = f"{parts[1]} has no EDR queries (station layers with time series do)"
            if parts[1] in self.edr:
                problem = await edr_gate.handle(self.app, scope, receive, send, query,
                                                self.edr[parts[1]])
            return await _refuse(send, problem) if problem else None
        edit = ogc_edits.edit_of(scope["method"], parts, scope.get("headers", []))
        if edit and parts[1] == records.RECORDS_ID:  # pygeoapi: 400 "not editable"
            return await _send_json(send, {
                "code": "MethodNotAllowed", "detail": "the catalogue's records are made from "
                "the datasets; import, replace or remove the dataset instead"}, 405,
                b"application/json", [(b"allow", b"GET, HEAD")])
        if edit and parts[1] in self.providers:
            return await ogc_edits.handle(edit, parts, scope, receive, send,
                                          self.providers[parts[1]],
                                          self.settings.public_url + OGC_PREFIX)
        problem = None
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                          keep_blank_values=True)
        items = scope["method"] in ("GET", "POST") and len(parts) in (3, 4) \
            and parts[0] == "collections" and parts[2] == "items" \
            and parts[1] in self.queryables
        if items:
            problem = crs_problem(pairs, self.providers.get(parts[1], {}).get("crs") or [])
        if items and len(parts) == 3:
            problem = items_problem(pairs, self.queryables[parts[1]]) or problem \
                or ogc_paging.after_problem(pairs)
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
        if items and len(parts) == 3:
            url = f"{self.settings.public_url}{OGC_PREFIX}/collections/{parts[1]}/items"
            with ogc_paging.requested(parts[1], pairs, url):
                return await self.app(scope, receive, send)
        if scope["method"] == "GET" and ogc_describe.describes(parts):
            return await ogc_describe.rewrite_json(
                self.app, scope, receive, send,
                lambda doc: self._describe(parts, doc))
        await self.app(scope, receive, send)

    def _describe(self, parts: list[str], doc: Any) -> Any:
        """A collection described as what it is (a table has no extent or CRS), with its EDR
        parameters' labels and meanings."""
        doc = ogc_describe.describe(parts, doc, self.shapes)
        return edr_gate.describe(doc, self.edr) if len(parts) <= 2 else doc
