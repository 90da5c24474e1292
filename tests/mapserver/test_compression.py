"""gzip by size: level 6 for ordinary answers, level 1 for a body of megabytes (its time
matters more than its last quarter of bytes); never for a client that did not ask."""

from __future__ import annotations

import gzip
import json
import zlib

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from onemap.mapserver.compression import BIG, GZip


def _gzip(body: bytes, level: int) -> bytes:
    z = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return z.compress(body) + z.flush()


def _series(n: int) -> bytes:  # a station's hours, as CoverageJSON writes them
    return json.dumps({"t": [f"2013-01-01T{i % 24:02d}:00:00Z" for i in range(n)],
                       "values": [round((i * 7919) % 997 / 7, 1) for i in range(n)]}).encode()


BODIES = {"/big": _series(120_000), "/page": _series(5_000)}


def _app() -> Starlette:
    async def answer(request):  # noqa: ANN001, ANN202
        return Response(BODIES[request.url.path], media_type="application/json")

    return Starlette(routes=[Route(p, answer) for p in BODIES])


def test_the_level_follows_the_size() -> None:
    assert len(BODIES["/big"]) >= BIG > len(BODIES["/page"]) > 64 * 1024
    client = TestClient(GZip(_app()))
    for path, level in (("/big", 1), ("/page", 6)):
        r = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert r.headers["Content-Encoding"] == "gzip" and r.content == BODIES[path]
        with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as s:
            wire = b"".join(s.iter_raw())  # as sent
        assert gzip.decompress(wire) == BODIES[path]
        assert wire == _gzip(BODIES[path], level), path  # (levels 1 and 6 differ in bytes)
    plain = client.get("/big", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.content == BODIES["/big"]
