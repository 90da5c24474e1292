"""Just enough of a Mapbox Vector Tile reader for the benches: each layer's feature ids and
properties, as a browser's MVT reader sees them.

Why not GDAL's MVT driver (as the tests use): it needs the tile written to a ``z/x/y.pbf`` file
per tile, and it hides the protobuf feature ids the map keys its popups on; a bench counts
tens of thousands of tiles' features. The format is a few nested protobuf messages of varints
(https://github.com/mapbox/vector-tile-spec/tree/master/2.1): Tile.layers = 3; Layer.name = 1,
features = 2, keys = 3, values = 4, extent = 5; Feature.id = 1, tags = 2 (packed key/value
indices). Geometries are skipped: the benches count features, they do not draw them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Layer:
    """One decoded layer: ``ids`` and ``properties`` per feature, in tile order."""

    name: str = ""
    extent: int = 4096
    ids: list[int] = field(default_factory=list)
    properties: list[dict[str, Any]] = field(default_factory=list)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value: int or bytes) of every field of one message."""
    out, pos = [], 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, wire, value))
    return out


def _packed(buf: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(buf):
        value, pos = _varint(buf, pos)
        out.append(value)
    return out


def _value(buf: bytes) -> Any:
    """A Layer.values entry: string 1, float 2, double 3, int 4, uint 5, sint 6, bool 7."""
    for number, _, raw in _fields(buf):
        if number == 1:
            return raw.decode("utf-8")
        if number == 2:
            return struct.unpack("<f", raw)[0]
        if number == 3:
            return struct.unpack("<d", raw)[0]
        if number == 4:
            return raw - (1 << 64) if raw >= 1 << 63 else raw
        if number == 5:
            return raw
        if number == 6:
            return (raw >> 1) ^ -(raw & 1)
        if number == 7:
            return bool(raw)
    return None


def read_tile(data: bytes) -> dict[str, Layer]:
    """The tile's layers by name (an empty tile has none); ValueError if the protobuf is
    broken or two layers share a name (the spec forbids it; readers would pick one)."""
    layers = {}
    for number, _, raw in _fields(data):
        if number != 3:
            continue
        layer, keys, values, features = Layer(), [], [], []
        for n, _, v in _fields(raw):
            if n == 1:
                layer.name = v.decode("utf-8")
            elif n == 2:
                features.append(v)
            elif n == 3:
                keys.append(v.decode("utf-8"))
            elif n == 4:
                values.append(_value(v))
            elif n == 5:
                layer.extent = v
        for feature in features:
            fid, tags = 0, []
            for n, _, v in _fields(feature):
                if n == 1:
                    fid = v
                elif n == 2:
                    tags = _packed(v)
            layer.ids.append(fid)
            layer.properties.append({keys[k]: values[i]
                                     for k, i in zip(tags[::2], tags[1::2], strict=True)})
        if layer.name in layers:
            raise ValueError(f"two layers named {layer.name!r}")
        layers[layer.name] = layer
    return layers
