"""``/wms`` (WMS 1.3.0) and ``/wfs`` (WFS 2.0): MapServer over the catalogue, per caller.

The query goes to a MapServer worker (:mod:`onemap.mapserver.wms_pool`) with what the caller
may see, decided here through :mod:`onemap.access.policy` like every other route: layers of
datasets the caller may not see are removed from the map before MapServer reads the request
(absent from the capabilities; ``LAYERS=hidden`` is MapServer's own LayerNotDefined, the answer
to an unknown name), and internal layers of a region-bound caller are cut to its region by a
filter. Parameters that would make MapServer read a file or URL the request names (``map``,
``sld``, ``sld_body``, ``context``) are refused before. MapServer's exception reports are
answered 400 (they are the client's mistakes: unknown layer, bad CRS, bad BBOX…), not 200.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from onemap.access import policy
from onemap.access.principal import Principal
from onemap.catalog import Entry
from onemap.config import Settings
from onemap.mapserver import wms_mapfile, wms_time
from onemap.mapserver.auth import principal_of
from onemap.mapserver.rasters import Catalogue
from onemap.mapserver.wms_pool import Pool, Unavailable

LOGGER = logging.getLogger(__name__)
#: Parameters refused: MapServer would read the file or URL they name.
REFUSED = ("map", "sld", "sld_body", "context", "mode")
LAYER_PARAMS = ("layers", "query_layers", "layer", "typenames", "typename")
#: Longest query string passed on (a GetMap is a few hundred characters).
MAX_QUERY = 16 * 1024


def ows_error(service: str, code: str, text: str, status: int = 400) -> Response:
    """An OWS exception report (what WMS/WFS clients parse), with an HTTP error status."""
    if service == "wfs":
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<ows:ExceptionReport '
                'xmlns:ows="http://www.opengis.net/ows/1.1" version="2.0.0">'
                f'<ows:Exception exceptionCode="{code}"><ows:ExceptionText>{escape(text)}'
                '</ows:ExceptionText></ows:Exception></ows:ExceptionReport>\n')
    else:
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<ServiceExceptionReport '
                'version="1.3.0" xmlns="http://www.opengis.net/ogc">'
                f'<ServiceException code="{code}">{escape(text)}</ServiceException>'
                '</ServiceExceptionReport>\n')
    return Response(body, status_code=status, media_type="text/xml; charset=UTF-8")


def region_filter(limits: policy.Limits) -> str:
    """A MapServer expression keeping the features within ``limits``' area (MapServer hands
    it to OGR as ST_Intersects where it can); nothing when the region has no known area."""
    if limits.area is None:
        return "(1 = 0)"
    return f"(intersects([shape], fromText('{limits.area.wkt}')))"


@dataclass
class Scope:
    """What of the map a caller may see: its layers, a filter per cut layer (a region, or
    the visible members of a series), the capabilities' TIME values of series it sees only
    in part, and the TIME values of every time layer (checked before MapServer)."""

    layers: list[str] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    times: dict[str, list[str]] = field(default_factory=dict)


def _series_part(scoped: Scope, name: str, members: list[Entry], settings: Settings) -> None:
    """A raster series of which the caller sees only ``members``: MapServer's filter on its
    tile index keeps their rasters, and its TIME dimension lists only their dates."""
    members = sorted(members, key=lambda e: str(e.extra["date"]))
    dates = [str(e.extra["date"]) for e in members]
    scoped.filters[name] = "(" + " OR ".join(
        f"('[location]' eq '{e.file(settings)}' AND '[time]' eq '{e.extra['date']}')"
        for e in members) + ")"
    scoped.metadata[name] = {"wms_timeextent": ",".join(dates), "wms_timedefault": dates[-1]}
    scoped.times[name] = dates


def scope(principal: Principal, entries: dict[str, Entry], settings: Settings) -> Scope:
    """The part of the map ``principal`` may see (hidden means absent)."""
    seen: dict[str, policy.Limits | None] = {}
    scoped = Scope(times=wms_time.time_steps(entries))
    for name, ids in wms_time.series_members(entries).items():
        found = {i: seen.setdefault(i, policy.limits(principal, entries[i], settings))
                 for i in ids}
        visible = [entries[i] for i, f in found.items() if f is not None]
        if not visible:
            continue
        if len(visible) < len(ids):
            if name in entries:  # a layer of one dataset is all or nothing
                continue
            _series_part(scoped, name, visible, settings)
        scoped.layers.append(name)
        cut = [f for f in found.values() if f is not None and not f.whole]
        if cut:
            scoped.filters[name] = region_filter(cut[0])
    return scoped


def note_reads(principal: Principal, query: list[tuple[str, str]],
               entries: dict[str, Entry], settings: Settings) -> None:
    """The audit's ``read_internal`` for the internal layers a request names and may read."""
    members = wms_time.series_members(entries)
    for key, value in query:
        if key.lower() not in LAYER_PARAMS:
            continue
        for name in value.split(","):
            for dataset_id in members.get(name.strip(), []):
                entry = entries[dataset_id]
                if policy.limits(principal, entry, settings) is not None:
                    policy.read(principal, entry, settings)


def _instant(text: str) -> datetime | str:
    """A TIME value as a comparable instant (UTC), or the text itself (``2025-07``)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return text.strip()
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def check_time(query: list[tuple[str, str]], steps: dict[str, list[str]]) -> str | None:
    """Why the request's TIME is not one of its layers' steps, or None. MapServer would
    quietly draw the default step for a time it does not have; a client asking for an hour
    the cube lacks must be told (InvalidDimensionValue: the dimension has no nearest value)."""
    params = {k.lower(): v for k, v in query}
    if "time" not in params:
        return None
    names = [n.strip() for n in params.get("layers", params.get("query_layers", "")).split(",")]
    for name in names:
        if name not in steps:
            continue
        known = {_instant(t) for t in steps[name]}
        for value in params["time"].split(","):
            ends = value.split("/")
            if len(ends) > 3 or not all(_instant(e) in known for e in ends[:2]):
                return (f"TIME {value!r} is not a time of layer {name!r} (see the Dimension "
                        "of its capabilities)")
    return None


def _is_exception(ctype: str, head: bytes) -> bool:
    return "xml" in ctype and (b"ServiceExceptionReport" in head or b"ExceptionReport" in head)


class Mapfiles:
    """The current mapfiles, rewritten when the catalogue changes (once, under a lock)."""

    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat
        self._seen: dict[str, Entry] | None = None
        self.folder = None
        self._lock = asyncio.Lock()

    async def current(self, entries: dict[str, Entry]) -> str:
        async with self._lock:
            if entries is not self._seen or self.folder is None:
                self.folder = await run_in_threadpool(wms_mapfile.write, self.cat.settings,
                                                      entries)
                self._seen = entries
        return str(self.folder)

    async def warm(self) -> None:
        """Write the mapfiles of the catalogue as it is (at server start: the first WMS
        request then finds them; a cube's hours take a few seconds to write)."""
        try:
            await self.current(self.cat.entries())
        except Exception:  # the first request will try again, and answer the error
            LOGGER.exception("could not write the WMS/WFS mapfiles")


def wms_router(cat: Catalogue, pool: Pool, mapfiles: Mapfiles | None = None) -> APIRouter:
    router = APIRouter(tags=["wms"])
    settings = cat.settings
    mapfiles = mapfiles or Mapfiles(cat)

    async def serve(service: str, request: Request) -> Response:
        if len(request.url.query) > MAX_QUERY:
            return ows_error(service, "InvalidParameterValue", "the query is too long")
        query = list(request.query_params.multi_items())
        for key, _ in query:
            if key.lower() in REFUSED or key.lower().startswith("map."):
                return ows_error(service, "InvalidParameterValue",
                                 f"parameter {key!r} is not accepted here: layers and styles "
                                 "come from the OneMap catalogue")
        if not any(k.lower() == "service" for k, _ in query):
            query.append(("SERVICE", service.upper()))
        principal = principal_of(request)
        entries = cat.entries()
        # the policy reads the system database (rules): not on the event loop
        scoped = await run_in_threadpool(scope, principal, entries, settings)
        note_reads(principal, query, entries, settings)
        wrong_time = check_time(query, scoped.times) if service == "wms" else None
        if wrong_time:
            return ows_error(service, "InvalidDimensionValue", wrong_time)
        try:
            folder = await mapfiles.current(entries)
            answer, body = await pool.request({
                "mapfile": f"{folder}/{service}.map", "query": query, "layers": scoped.layers,
                "filters": scoped.filters, "metadata": scoped.metadata,
                "online": f"{settings.public_url}/{service}?"})
        except Unavailable as exc:
            return ows_error(service, "ServiceUnavailable", str(exc), 503)
        first = b""
        async for chunk in body:  # the head tells an exception report from an answer
            first = chunk
            break
        status = 200
        image = answer.content_type.startswith("image/")  # a drawing (or EXCEPTIONS=INIMAGE)
        if (answer.status != 0 and not image) or _is_exception(answer.content_type,
                                                                 first[:2048]):
            status = 400
            LOGGER.info("%s exception: %s", service.upper(), first[:300])

        async def rest():
            yield first
            async for chunk in body:
                yield chunk

        return StreamingResponse(rest(), status_code=status, media_type=answer.content_type,
                                 headers={"Content-Length": str(answer.length)})

    @router.get("/wms", include_in_schema=False)
    async def wms(request: Request) -> Response:
        """WMS 1.3.0 (GetCapabilities, GetMap, GetFeatureInfo, GetLegendGraphic)."""
        return await serve("wms", request)

    @router.get("/wfs", include_in_schema=False)
    async def wfs(request: Request) -> Response:
        """WFS 2.0 (GetCapabilities, DescribeFeatureType, GetFeature)."""
        return await serve("wfs", request)

    return router
