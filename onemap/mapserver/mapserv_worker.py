"""One MapServer worker: answers OWS requests with mapscript, one at a time.

Run by :mod:`onemap.mapserver.wms_pool` as Debian's ``/usr/bin/python3`` (python3-mapscript
links Debian's GDAL 3.6 and PROJ 9.1; the server's own interpreter has rasterio's GDAL and PROJ,
and two GDALs in one process is asking for trouble), so this file imports nothing but the
standard library and mapscript.

Protocol, on its stdin and stdout (its real stdout: MapServer and GDAL print to fd 1 at times,
so fd 1 is pointed at stderr and the protocol uses a copy):

- request: one JSON line ``{"mapfile", "query": [[k, v], …], "layers": [names],
  "filters": {name: expression}, "metadata": {name: {key: value}}, "online": url}`` — the
  mapfile and every layer's data come from the server (the catalogue), never from the
  query; layers not in ``layers`` are removed from this request's copy of the map (hidden
  means absent: MapServer itself then answers LayerNotDefined, as for an unknown name);
  ``filters`` (MapServer expressions) cut a layer
  to a region or a series to the rasters the caller may see, ``metadata`` (the TIME values
  of such a series) replaces the layer's;
- answer: one JSON line ``{"status", "content_type", "length"}`` then ``length`` bytes.

The map is parsed once per mapfile and cloned per request: OWSDispatch changes the map it is
given, so one request never sees another's changes, and a worker runs one request at a time.
"""

import json
import os
import sys

import mapscript

#: Query parameters never passed to MapServer: they would make it read a file or URL the
#: request names (a mapfile, an SLD, a map context). The server refuses them before; this is
#: the second lock.
REFUSED = {"map", "sld", "sld_body", "context", "map.layer", "mode"}


def load(cache: dict, path: str) -> "mapscript.mapObj":
    """The parsed map of ``path`` (re-read when the file changed)."""
    stamp = os.stat(path).st_mtime_ns
    hit = cache.get(path)
    if hit is None or hit[0] != stamp:
        cache.clear()  # one mapfile is current at a time
        cache[path] = hit = (stamp, mapscript.mapObj(path))
    return hit[1]


def split_headers(raw: bytes) -> tuple[str, bytes]:
    """MapServer's CGI-style headers (Content-Type, and Content-Disposition for OGR output
    formats) off the front of its answer: (content type, body)."""
    ctype, rest = "application/octet-stream", raw
    while True:
        line, sep, after = rest.partition(b"\n")
        text = line.rstrip(b"\r")
        if not sep or b":" not in text or text[:1] in (b"<", b"{", b" ") or len(text) > 300:
            return ctype, rest
        name, _, value = text.decode("latin-1").partition(":")
        if not name.replace("-", "").isalpha():
            return ctype, rest
        if name.lower() == "content-type":
            ctype = value.strip()
        rest = after
        if rest[:1] == b"\n" or rest[:2] == b"\r\n":  # the blank line closing the headers
            return ctype, rest[1:] if rest[:1] == b"\n" else rest[2:]


def answer(cache: dict, req: dict) -> tuple[int, str, bytes]:
    m = load(cache, req["mapfile"]).clone()
    allowed = set(req.get("layers") or [])
    for i in reversed(range(m.numlayers)):
        if m.getLayer(i).name not in allowed:
            m.removeLayer(i)
    for name, expression in (req.get("filters") or {}).items():
        layer = m.getLayerByName(name)
        if layer is not None:
            layer.setFilter(expression)
    for name, pairs in (req.get("metadata") or {}).items():
        layer = m.getLayerByName(name)
        for key, value in pairs.items() if layer is not None else ():
            layer.metadata.set(key, value)
    m.web.metadata.set("ows_onlineresource", req["online"])
    ows = mapscript.OWSRequest()
    for key, value in req["query"]:
        if key.lower() not in REFUSED and not key.lower().startswith("map."):
            ows.setParameter(key, value)
    mapscript.msIO_installStdoutToBuffer()
    try:
        try:
            status = m.OWSDispatch(ows)
        except mapscript.MapServerError:  # the exception report is in the buffer already
            status = 1
        ctype, body = split_headers(mapscript.msIO_getStdoutBufferBytes())
    finally:
        mapscript.msIO_resetHandlers()
        mapscript.msResetErrorList()
    return status, ctype, body


def main() -> None:
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    cache: dict = {}
    out.write(b'{"ready": true}\n')
    out.flush()
    for line in sys.stdin.buffer:
        try:
            status, ctype, body = answer(cache, json.loads(line))
        except Exception as exc:  # noqa: BLE001 - the server must get an answer whatever
            status, ctype, body = 1, "text/plain; charset=UTF-8", str(exc).encode("utf-8")
        head = {"status": status, "content_type": ctype, "length": len(body)}
        out.write(json.dumps(head).encode("utf-8") + b"\n")
        out.write(body)
        out.flush()


if __name__ == "__main__":
    main()
