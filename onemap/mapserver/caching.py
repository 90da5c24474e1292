"""HTTP caching of everything drawn from one dataset, and a server-side tile cache.

A tile, a TileJSON, an items page or a legend changes only when its dataset (or the server's
code and settings) does. So each answer gets an ETag derived *before* rendering from what it
depends on — the dataset's version (catalogue entry time, file and write-log stamps: the tag
``/api/versions`` gives), the path, the query, the negotiated headers and what the caller is
allowed to see — and a client that sends that tag back (``If-None-Match``) gets ``304 Not
Modified`` without anything being read or drawn. Rendered tiles are also kept on disk, under the
same key, so the next client (any worker process) gets the stored bytes.

Access is decided first, by the one policy point, every time: a tile stored for one caller is
never handed to another who may not see the dataset (GeoServer GEOS-7632), and the part of the
dataset a region-bound caller sees is in the key. Answers about data only some may see are
``private``; errors are never stored (``no-store``). A URL that names the current version
(``?v=<tag>``, as ``/api/versions`` and the listings give) never changes content, so it is
``immutable`` for a year; without it the client revalidates (``no-cache``) and an edit shows at
once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import onemap
from onemap.access import context, policy
from onemap.access.principal import ANONYMOUS, Principal
from onemap.catalog import Entry
from onemap.config import Settings
from onemap.layers.store import file_version
from onemap.mapserver.listing import data_version
from onemap.mapserver.rasters import Catalogue

LOGGER = logging.getLogger(__name__)

_ID = r"(?P<id>[a-z][a-z0-9_]{0,62})"
#: What each cacheable path is: "tile" (revalidated and stored server-side), "doc" (a document
#: drawn from the dataset: revalidated), "file" (the dataset's own file: the file response's tag
#: is revalidated), "code" (depends on the server's code and settings only: legends).
ROUTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"^/raster/{_ID}/tiles/[^/]+/\d+/\d+/\d+(?:@\dx)?(?:\.\w+)?$"), "tile"),
    (re.compile(rf"^/cube/{_ID}/tiles/[^/]+/\d+/\d+/\d+(?:@\dx)?(?:\.\w+)?$"), "tile"),
    (re.compile(rf"^/ogc/collections/{_ID}/tiles/[^/]+/\d+/\d+/\d+$"), "tile"),
    (re.compile(rf"^/(?:raster|cube)/{_ID}/[^/]+/tilejson\.json$"), "doc"),
    (re.compile(rf"^/ogc/collections/{_ID}/tiles(?:/[^/]+(?:/(?:tilejson|style)\.json)?)?$"),
     "doc"),
    (re.compile(rf"^/ogc/collections/{_ID}/items(?:/[^/]+)?$"), "doc"),
    (re.compile(rf"^/raster/{_ID}/cog\.tif$"), "file"),
    (re.compile(r"^/api/legends(?:/[^/]+)?$"), "code"),
)
#: Request headers that choose between representations of the same URL.
NEGOTIATED = (b"accept", b"accept-language", b"host")
#: Largest rendered tile kept on disk.
MAX_STORED = 4 * 1024 * 1024
YEAR = 365 * 24 * 3600
#: Response headers kept with a stored tile (the rest are added on the way out by the edge).
KEPT = {"content-type", "content-encoding", "content-crs", "link", "content-language",
        "content-disposition"}


def _code_version(settings: Settings) -> str:
    """What every answer also depends on: the package's files and the settings. The same in
    every worker of a deployment, so their tags agree; new after an upgrade or a new setting."""
    digest = hashlib.sha256(repr(settings).encode())
    digest.update(getattr(onemap, "__version__", "").encode())
    root = Path(onemap.__file__).parent
    for path in sorted(root.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}:{stat.st_mtime_ns}:{stat.st_size}".encode())
    return digest.hexdigest()[:16]


def route(path: str) -> tuple[str, str | None] | None:
    """(kind, dataset id or None) of a cacheable path; None for any other."""
    for pattern, kind in ROUTES:
        found = pattern.match(path)
        if found:
            return kind, found.groupdict().get("id")
    return None


def etag_matches(header: str | None, etag: str) -> bool:
    """``If-None-Match`` against ``etag`` by the weak comparison (RFC 9110 13.1.2)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


@dataclass(frozen=True)
class Decision:
    """What the cache knows of one request before it is answered."""

    kind: str
    etag: str
    key: str
    dataset: str | None
    version: str | None
    control: str
    private: bool
    modified: float | None
    #: The query the route sees: the request's without our version parameter ``v``.
    query: bytes = b""


class TileStore:
    """Rendered tiles on disk: ``<dir>/<dataset>/<version>/<key[:2]>/<key>``, each one file
    (a JSON header line, then the body), written atomically and shared by every worker.

    A new version of a dataset drops the directories of its older versions when its first tile
    is stored; past ``limit`` bytes the oldest files go first (by modification time)."""

    def __init__(self, root: Path, limit: int) -> None:
        self.root, self.limit = root, limit
        self._written = 0
        self._lock = threading.Lock()
        self._known: dict[str, str] = {}  # dataset -> version seen last by this process

    def _path(self, dataset: str, version: str, key: str) -> Path:
        return self.root / dataset / version / key[:2] / key

    def get(self, dataset: str, version: str, key: str) -> tuple[int, list, bytes] | None:
        try:
            raw = self._path(dataset, version, key).read_bytes()
        except OSError:
            return None
        head, _, body = raw.partition(b"\n")
        try:
            meta = json.loads(head)
        except ValueError:
            return None
        if meta.get("length") != len(body):  # cut short (written without fsync, then a crash)
            return None
        return meta["status"], [(k.encode(), v.encode()) for k, v in meta["headers"]], body

    def put(self, dataset: str, version: str, key: str, status: int,
            headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        if self._known.get(dataset) != version:
            self._drop_other_versions(dataset, version)
            self._known[dataset] = version
        kept = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers
                if k.decode("latin-1").lower() in KEPT]
        head = json.dumps({"status": status, "headers": kept, "length": len(body)}).encode()
        path = self._path(dataset, version, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # a cache: renamed into place whole, but not synced (a file cut short by a crash is
        # refused by get() for its length)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(head + b"\n" + body)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        with self._lock:
            self._written += len(body) + len(head)
            over = self._written > self.limit // 10
            if over:
                self._written = 0
        if over:  # look at the whole size now and then, not at every write
            self.trim()

    def _drop_other_versions(self, dataset: str, version: str) -> None:
        try:
            olds = [p for p in (self.root / dataset).iterdir() if p.name != version]
        except OSError:
            return
        for old in olds:
            shutil.rmtree(old, ignore_errors=True)

    def files(self) -> list[tuple[float, int, Path]]:
        out = []
        for dirpath, _dirs, names in os.walk(self.root):
            for name in names:
                path = Path(dirpath) / name
                try:
                    stat = path.stat()
                except OSError:
                    continue
                out.append((stat.st_mtime, stat.st_size, path))
        return out

    def trim(self) -> None:
        """Remove the oldest tiles until the cache is at most 80 % of its limit."""
        files = sorted(self.files())
        total = sum(size for _t, size, _p in files)
        for _mtime, size, path in files:
            if total <= self.limit * 0.8:
                break
            path.unlink(missing_ok=True)
            total -= size


class HttpCache:
    """ASGI middleware: ETags, ``304 Not Modified``, ``Cache-Control`` and the tile store for
    the paths of :data:`ROUTES`; every other request passes through untouched. It runs inside
    the authentication (the caller is known) and outside the gzip encoding (tags and stored
    tiles are of the plain body)."""

    def __init__(self, app: ASGIApp, cat: Catalogue) -> None:
        self.app, self.cat, self.settings = app, cat, cat.settings
        self.code = _code_version(cat.settings)
        limit = cat.settings.tile_cache_mb * 1024 * 1024
        self.tiles = TileStore(cat.settings.runtime_dir / "tiles", limit) if limit else None

    def decide(self, scope: Scope, kind: str, dataset: str | None,
               principal: Principal) -> Decision | None:
        """The tag and headers of this request's answer, or None to leave it alone (unknown or
        hidden dataset: the route answers its 404)."""
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                          keep_blank_values=True)
        query = [(k, v) for k, v in pairs if k != "v"]
        asked = dict(pairs).get("v")
        headers = Headers(scope=scope)
        # a route may encode its own answer (vector tiles come gzipped to who accepts it)
        gzip = "gzip" if "gzip" in headers.get("accept-encoding", "") else ""
        parts = [self.code, scope["path"], urlencode(sorted(query)), gzip,
                 *(headers.get(h.decode(), "") for h in NEGOTIATED)]
        version = None
        private = False
        modified = None
        if dataset is not None:
            entry: Entry | None = self.cat.entries().get(dataset)
            if entry is None:
                return None
            try:
                limits = policy.read(principal, entry, self.settings)
            except policy.Hidden:
                return None
            version = data_version(entry, self.settings)
            # public: what anyone gets, the same for everyone (a shared cache may keep it)
            private = policy.limits(ANONYMOUS, entry, self.settings) != policy.WHOLE
            parts += [dataset, version, limits.region or "*"]
            if private:
                parts.append(",".join(sorted(principal.roles)))
            stamp = file_version(entry.file(self.settings))
            modified = max(stamp[0], stamp[2]) / 1e9 or None
        key = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
        fresh = asked is not None and version is not None and asked == version
        control = ("private" if private else "public") + (
            f", max-age={YEAR}, immutable" if fresh else ", no-cache")
        return Decision(kind, f'W/"{key}"', key, dataset, version, control, private, modified,
                        urlencode(query).encode("latin-1"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        found = route(scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        kind, dataset = found
        decision = self.decide(scope, kind, dataset, context.current())
        if decision is None:  # unknown or hidden: the route's 404, never kept by anyone
            await self.app(scope, receive, _errors_unstored(send))
            return
        if kind != "file":
            await self._answer(scope, receive, send, decision)
        else:
            await self._answer_file(scope, receive, send, decision)

    def _headers(self, decision: Decision, raw: list[tuple[bytes, bytes]]) -> MutableHeaders:
        headers = MutableHeaders(raw=raw)
        if "cache-control" not in headers:  # a route's own word stands (legend images)
            headers["Cache-Control"] = decision.control
        if decision.kind != "file":
            headers["ETag"] = decision.etag
        if decision.modified is not None and "last-modified" not in headers:
            headers["Last-Modified"] = formatdate(decision.modified, usegmt=True)
        if decision.private:
            headers.add_vary_header("Authorization")
            headers.add_vary_header("Cookie")
        return headers

    async def _not_modified(self, send: Send, decision: Decision,
                            etag: str | None = None) -> None:
        headers = self._headers(decision, [])
        if etag:
            headers["ETag"] = etag
        await send({"type": "http.response.start", "status": 304, "headers": headers.raw})
        await send({"type": "http.response.body", "body": b""})

    async def _answer(self, scope: Scope, receive: Receive, send: Send,
                      decision: Decision) -> None:
        if etag_matches(Headers(scope=scope).get("if-none-match"), decision.etag):
            await self._not_modified(send, decision)
            return
        store = self.tiles if decision.kind == "tile" and decision.dataset else None
        if store is not None:
            hit = store.get(decision.dataset, decision.version, decision.key)  # type: ignore[arg-type]
            if hit is not None:
                status, raw, body = hit
                headers = self._headers(decision, raw)
                headers["Content-Length"] = str(len(body))
                headers["X-Tile-Cache"] = "hit"
                await send({"type": "http.response.start", "status": status,
                            "headers": headers.raw})
                await send({"type": "http.response.body",
                            "body": b"" if scope["method"] == "HEAD" else body})
                return
        # the route sees the query without our version parameter
        inner = dict(scope, query_string=decision.query)
        start: Message = {}
        chunks: list[bytes] = []
        storing = store is not None and scope["method"] == "GET"

        async def send_wrapper(message: Message) -> None:
            nonlocal start, storing
            if message["type"] == "http.response.start":
                start = message
                if message["status"] != 200:
                    storing = False
                    headers = MutableHeaders(raw=message.setdefault("headers", []))
                    headers["Cache-Control"] = "no-store"
                else:
                    message["headers"] = self._headers(
                        decision, message.setdefault("headers", [])).raw
                    if store is not None:
                        MutableHeaders(raw=message["headers"])["X-Tile-Cache"] = "miss"
            elif message["type"] == "http.response.body" and storing:
                chunks.append(message.get("body", b""))
                if sum(map(len, chunks)) > MAX_STORED:
                    storing = False
                    chunks.clear()
                elif not message.get("more_body", False):
                    try:  # off the event loop; stored before the answer ends, so the next
                        await run_in_threadpool(  # request finds it
                            store.put, decision.dataset, decision.version,  # type: ignore[union-attr,arg-type]
                            decision.key, start["status"], start["headers"], b"".join(chunks))
                    except OSError as exc:  # a full disk must not fail the answer
                        LOGGER.warning("tile cache: %s", exc)
            await send(message)

        await self.app(inner, receive, send_wrapper)

    async def _answer_file(self, scope: Scope, receive: Receive, send: Send,
                           decision: Decision) -> None:
        """The file's own tag (mtime and size, as the file response makes it): the response
        is started and, when the client has it, ended as a 304 before any byte is read."""
        asked = Headers(scope=scope).get("if-none-match")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                etag = Headers(raw=message.get("headers", [])).get("etag")
                if message["status"] == 200 and etag and etag_matches(asked, etag):
                    await self._not_modified(send, decision, etag)
                    raise _Done  # before the file response reads a byte
                if message["status"] in (200, 206):
                    message["headers"] = self._headers(decision,
                                                       message.setdefault("headers", [])).raw
                else:
                    MutableHeaders(raw=message.setdefault("headers", []))["Cache-Control"] = \
                        "no-store"
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except _Done:
            pass


def _errors_unstored(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] >= 400:
            MutableHeaders(raw=message.setdefault("headers", []))["Cache-Control"] = "no-store"
        await send(message)
    return wrapped


class _Done(Exception):
    """The file response's body is not wanted (a 304 was sent instead)."""
